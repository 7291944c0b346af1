"""Talking to Twelve Data (or the simulator): endpoints, REST calls, error classification, WS messages.

Used by the feed process and by the web tier's candles service (REST only). Never logs the key:
REST sends it in the `Authorization: apikey …` header; the WebSocket URL carries it and is only
ever logged redacted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests

from common.logs import redact
from config import Settings

MARKETSIM_KEY = "marketsim"
AUTH_TEXT = re.compile(r"api[\s_-]?key|unauthor|forbidden|invalid token", re.IGNORECASE)
HEARTBEAT = '{"action":"heartbeat"}'


@dataclass(frozen=True)
class Endpoints:
    """Where the provider is and with which key."""

    ws_url: str
    rest_url: str
    api_key: str
    source: str  # "twelvedata" or "marketsim"

    def ws_url_with_key(self) -> str:
        sep = "&" if "?" in self.ws_url else "?"
        return f"{self.ws_url}{sep}{urlencode({'apikey': self.api_key})}"

    def ws_url_for_logs(self) -> str:
        return redact(self.ws_url_with_key())


def endpoints(settings: Settings) -> Endpoints:
    """Twelve Data when TWELVEDATA_API_KEY is set, otherwise the local simulator on MARKETSIM_PORT."""
    if settings.twelvedata_api_key:
        return Endpoints(
            settings.twelvedata_ws_url,
            settings.twelvedata_rest_url.rstrip("/"),
            settings.twelvedata_api_key,
            "twelvedata",
        )
    base = f"127.0.0.1:{settings.marketsim_port}"
    return Endpoints(f"ws://{base}/v1/quotes/price", f"http://{base}", MARKETSIM_KEY, "marketsim")


# --- errors -----------------------------------------------------------------------------------


class TwelveDataError(Exception):
    """A provider error, classified.

    kind: auth | plan | not_found | bad_request | rate_minute | rate_day | server | unavailable
    """

    def __init__(self, kind: str, code: int, message: str) -> None:
        super().__init__(f"{kind} ({code}): {redact(message)[:300]}")
        self.kind = kind
        self.code = code
        self.message = redact(message)

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_minute", "rate_day", "server", "unavailable")


def classify(code: int, message: str) -> str:
    """The kind of an error from its code and text (the body's code wins over the HTTP status)."""
    text = message.lower()
    if code == 401:
        return "auth"
    if code == 429:
        return "rate_day" if "for the day" in text else "rate_minute"
    if code == 403 or (code == 404 and "not available with your plan" in text):
        return "plan"
    if code == 404:
        return "not_found"
    if code in (400, 414, 422):
        return "bad_request"
    if code >= 500 or code == 0:
        return "server"
    return "bad_request"


def error_from_body(body: dict[str, Any], http_status: int) -> TwelveDataError:
    code = body.get("code")
    code = int(code) if isinstance(code, (int, Decimal)) and not isinstance(code, bool) else http_status
    message = str(body.get("message") or "error")
    return TwelveDataError(classify(code, message), code, message)


def handshake_auth_failure(status: int, body: bytes | bytearray | str | None) -> str | None:
    """The reason when a refused WebSocket handshake means a bad key (fatal), else None.

    Seen live: HTTP 401/403, or HTTP 200 with {"code":401,"message":"**apikey** …","status":"error"}.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else (body or "")
    code, message = status, text
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        if isinstance(parsed.get("code"), int):
            code = parsed["code"]
        message = str(parsed.get("message") or text)
    if code in (401, 403) or (status not in (101, 429) and status < 500 and AUTH_TEXT.search(message)):
        return redact(message)[:300] or f"HTTP {status}"
    return None


# --- REST ---------------------------------------------------------------------------------------


class RestClient:
    """Synchronous REST calls (the feed runs them in a thread; the web tier under gevent)."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.session = requests.Session()

    @classmethod
    def from_endpoints(cls, ep: Endpoints, timeout: float = 10.0) -> RestClient:
        return cls(ep.rest_url, ep.api_key, timeout)

    def get(self, path: str, params: dict[str, Any]) -> Any:
        """GET an endpoint; raise TwelveDataError for every kind of failure (HTTP 4xx or 200 + error body)."""
        try:
            response = self.session.get(
                f"{self.base_url}{path}",
                params=params,
                headers={"Authorization": f"apikey {self.api_key}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TwelveDataError("unavailable", 0, type(exc).__name__) from None
        try:
            body = response.json(parse_float=Decimal)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise error_from_body(body, response.status_code)
        if response.status_code >= 400:
            raise TwelveDataError(
                classify(response.status_code, response.text[:200]), response.status_code, "HTTP error"
            )
        if body is None:
            raise TwelveDataError("server", response.status_code, "response is not JSON")
        return body

    def batch(self, path: str, symbols: list[str], params: dict[str, Any]) -> dict[str, Any]:
        """A comma batch: {symbol: body or TwelveDataError}; one call, one credit per symbol."""
        body = self.get(path, {"symbol": ",".join(symbols), **params})
        if len(symbols) == 1:
            return {symbols[0]: body}
        if not isinstance(body, dict):
            raise TwelveDataError("server", 200, "batch answer is not an object")
        folded = {str(k).upper(): v for k, v in body.items()}
        results: dict[str, Any] = {}
        for symbol in symbols:
            item = body.get(symbol, folded.get(symbol.upper()))
            if not isinstance(item, dict):
                results[symbol] = TwelveDataError("server", 200, f"{symbol} missing from the batch answer")
            elif item.get("status") == "error":
                results[symbol] = error_from_body(item, 200)
            else:
                results[symbol] = item
        return results

    def time_series(self, symbol: str, interval: str, outputsize: int) -> dict[str, Any]:
        body = self.get(
            "/time_series",
            {"symbol": symbol, "interval": interval, "outputsize": outputsize, "timezone": "UTC", "order": "asc"},
        )
        if not isinstance(body, dict) or not isinstance(body.get("values"), list):
            raise TwelveDataError("server", 200, "time_series answer without values")
        return body

    def api_usage(self) -> dict[str, Any]:
        body = self.get("/api_usage", {})
        if not isinstance(body, dict):
            raise TwelveDataError("server", 200, "api_usage answer is not an object")
        return body


# --- WebSocket messages -------------------------------------------------------------------------


def subscribe_message(symbols: list[str]) -> str:
    """One subscribe for the whole set (the provider counts messages, not symbols)."""
    return json.dumps({"action": "subscribe", "params": {"symbols": ",".join(symbols)}}, separators=(",", ":"))


def unsubscribe_message(symbols: list[str]) -> str:
    return json.dumps({"action": "unsubscribe", "params": {"symbols": ",".join(symbols)}}, separators=(",", ":"))


def parse_message(text: str | bytes) -> dict[str, Any]:
    """A provider frame as a dict with Decimal numbers; ValueError when it is not a JSON object."""
    message = json.loads(text, parse_float=Decimal)
    if not isinstance(message, dict):
        raise ValueError("frame is not a JSON object")
    return message


def status_symbols(items: Any) -> list[str]:
    """Symbols of a subscribe-status `success`/`fails` list: null, absent, objects or strings."""
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("symbol"), str):
            out.append(item["symbol"])
        elif isinstance(item, str):
            out.append(item)
    return out
