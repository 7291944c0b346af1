"""The simulator's REST API: Twelve Data's shapes, error envelopes, plans and credits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from feed.marketsim import bars as barlib
from feed.marketsim.catalogue import SYMBOLS, SimSymbol, lookup
from feed.marketsim.market import Bar, fmt
from feed.marketsim.plans import MSG_BAD_KEY, MSG_NO_DATA, MSG_NOT_FOUND, Plan, msg_not_on_plan
from feed.marketsim.state import SimState

MAX_BATCH = 120
ERROR_TEXT = {
    400: "Invalid request parameters.",
    401: MSG_BAD_KEY,
    403: "Access to this endpoint is not available with your plan.",
    404: MSG_NOT_FOUND,
    429: "You have run out of API credits for the current minute.",
    500: "Internal server error",
}
SYMBOL_COST = {"/time_series", "/quote", "/price", "/exchange_rate"}


class ApiFailure(Exception):
    """An error envelope to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def envelope(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": "error"}


class RestApi:
    """Request handling shared by every REST endpoint."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.symbol_handlers: dict[str, Callable[[SimSymbol, dict[str, str], float], dict[str, Any]]] = {
            "/time_series": self._time_series,
            "/quote": self._quote,
            "/price": self._price,
            "/exchange_rate": self._exchange_rate,
        }
        self.catalogue_handlers: dict[str, Callable[[dict[str, str], Plan], dict[str, Any]]] = {
            "/forex_pairs": self._forex_pairs,
            "/cryptocurrencies": self._cryptocurrencies,
            "/commodities": self._commodities,
            "/symbol_search": self._symbol_search,
            "/intervals": self._intervals,
        }

    def routes(self) -> list[web.RouteDef]:
        paths = [*self.symbol_handlers, *self.catalogue_handlers, "/api_usage"]
        return [web.get(path, self._endpoint(path)) for path in paths]

    def _endpoint(self, path: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return await self.handle(path, request)

        return handler

    # --- common -------------------------------------------------------------------------------

    def _error(self, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        status = code if self.state.faults.error_http_mode == "status" else 200
        self.state.stats["rest_errors"] += 1
        return web.json_response(envelope(code, message), status=status, headers=headers)

    @staticmethod
    def _api_key(request: web.Request, params: dict[str, str]) -> str:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("apikey "):
            return header[7:].strip()
        return params.get("apikey", "")

    async def handle(self, path: str, request: web.Request) -> web.Response:
        state = self.state
        state.stats[f"rest{path}"] += 1
        params = {k.lower(): v for k, v in request.query.items()}
        if state.faults.rest_delay_s > 0:
            await asyncio.sleep(state.faults.rest_delay_s)
        key = self._api_key(request, params)
        plan = state.keys.plan(key)
        if plan is None:
            return self._error(401, MSG_BAD_KEY)
        if state.faults.rest_error:
            code = state.faults.rest_error
            return self._error(code, ERROR_TEXT.get(code, "Error"))
        now = time.time()
        if path in SYMBOL_COST:
            return self._symbols_request(path, params, key, plan, now)
        refused = state.keys.charge(key, 1, now)
        if refused:
            return self._error(*refused)
        if path == "/api_usage":
            body: dict[str, Any] = {"timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S")}
            body.update(state.keys.report(key, now))
            return self._json(body, key, now)
        try:
            return self._json(self.catalogue_handlers[path](params, plan), key, now)
        except ApiFailure as exc:
            return self._error(exc.code, exc.message)

    def _json(self, body: dict[str, Any], key: str, now: float, batch: bool = False) -> web.Response:
        report = self.state.keys.report(key, now)
        used, limit = int(report["current_usage"]), int(report["plan_limit"])
        headers = {"Api-Credits-Used": str(used), "Api-Credits-Left": str(max(limit - used, 0))}
        if batch:
            headers["Is_batch"] = "true"
        return web.json_response(body, headers=headers)

    def _symbols_request(self, path: str, params: dict[str, str], key: str, plan: Plan, now: float) -> web.Response:
        raw = params.get("symbol", "")
        names = [s.strip() for s in raw.split(",") if s.strip()]
        if not names:
            return self._error(400, "**symbol** parameter is missing or invalid.")
        if len(names) > MAX_BATCH:
            return self._error(414, "Input parameter array exceeds the allowed length")
        refused = self.state.keys.charge(key, len(names), now)
        if refused:
            return self._error(*refused)
        handler = self.symbol_handlers[path]
        results: dict[str, dict[str, Any]] = {}
        for name in names:
            try:
                sym = self._resolve(name, plan)
                results[name] = handler(sym, params, now)
            except ApiFailure as exc:
                if len(names) == 1:
                    return self._error(exc.code, exc.message)
                results[name] = envelope(exc.code, exc.message)
        if len(names) == 1:
            return self._json(results[names[0]], key, now)
        return self._json(results, key, now, batch=True)

    @staticmethod
    def _resolve(name: str, plan: Plan) -> SimSymbol:
        sym = lookup(name)
        if sym is None:
            raise ApiFailure(404, MSG_NOT_FOUND)
        if sym.paid_only and not plan.paid:
            raise ApiFailure(403, msg_not_on_plan(sym.symbol))
        return sym

    @staticmethod
    def _dp(params: dict[str, str], default: int) -> int:
        raw = params.get("dp")
        if raw is None:
            return default
        try:
            dp = int(raw)
        except ValueError as exc:
            raise ApiFailure(400, "**dp** must be an integer between -1 and 11.") from exc
        if not -1 <= dp <= 11:
            raise ApiFailure(400, "**dp** must be an integer between -1 and 11.")
        return default if dp == -1 else dp

    @staticmethod
    def _interval(params: dict[str, str], default: str | None) -> str:
        interval = params.get("interval", default or "")
        if interval not in barlib.INTERVALS:
            supported = ", ".join(barlib.INTERVALS)
            raise ApiFailure(400, f"Invalid **interval** provided: {interval}. Supported intervals: {supported}")
        return interval

    # --- symbol endpoints ---------------------------------------------------------------------

    def _meta(self, sym: SimSymbol, interval: str) -> dict[str, Any]:
        meta: dict[str, Any] = {"symbol": sym.symbol, "interval": interval}
        if sym.kind == "stock":
            meta.update(
                currency=sym.quote_code,
                exchange_timezone="America/New_York",
                exchange=sym.exchange,
                mic_code=sym.mic_code,
                type=sym.type_name,
            )
            return meta
        meta.update(currency_base=sym.base_name, currency_quote=sym.quote_name)
        if sym.kind == "crypto":
            meta["exchange"] = sym.exchange
        meta["type"] = sym.type_name
        return meta

    def _time_series(self, sym: SimSymbol, params: dict[str, str], now: float) -> dict[str, Any]:
        interval = self._interval(params, None)
        dp = self._dp(params, sym.dp)
        start = barlib.parse_date(params["start_date"]) if params.get("start_date") else None
        end = barlib.parse_date(params["end_date"]) if params.get("end_date") else None
        if (params.get("start_date") and start is None) or (params.get("end_date") and end is None):
            raise ApiFailure(400, "**start_date** and **end_date** must look like 2006-01-02 or 2006-01-02T15:04:05.")
        default_size = 5000 if (start or end) else 30
        try:
            size = int(params.get("outputsize", default_size))
        except ValueError as exc:
            raise ApiFailure(400, "**outputsize** must be an integer between 1 and 5000.") from exc
        if not 1 <= size <= 5000:
            raise ApiFailure(400, "**outputsize** must be an integer between 1 and 5000.")
        order = params.get("order", "desc").lower()
        if order not in ("asc", "desc"):
            raise ApiFailure(400, "**order** must be asc or desc.")
        last = min(now, end - 1e-3) if end is not None else now
        newest = barlib.bar_start(interval, last)
        oldest = barlib.bar_start(interval, start) if start is not None else 0
        if start is not None and oldest < start:
            oldest = barlib.next_start(interval, oldest)
        bars = self.state.market.bars(sym, interval, newest, size, oldest, now)
        if not bars:
            raise ApiFailure(400, MSG_NO_DATA)
        values = [self._bar_json(b, interval, dp) for b in bars]
        if order == "desc":
            values.reverse()
        return {"meta": self._meta(sym, interval), "values": values, "status": "ok"}

    @staticmethod
    def _bar_json(bar: Bar, interval: str, dp: int) -> dict[str, str]:
        out = {
            "datetime": barlib.format_datetime(interval, bar.start),
            "open": fmt(bar.open, dp),
            "high": fmt(bar.high, dp),
            "low": fmt(bar.low, dp),
            "close": fmt(bar.close, dp),
        }
        if bar.volume is not None:
            out["volume"] = fmt(bar.volume, 0)
        return out

    def _quote(self, sym: SimSymbol, params: dict[str, str], now: float) -> dict[str, Any]:
        interval = self._interval(params, "1day")
        dp = self._dp(params, 5)
        current = barlib.bar_start(interval, now)
        bars = self.state.market.bars(sym, interval, current, 2, 0, now)
        if not bars:
            raise ApiFailure(400, MSG_NO_DATA)
        bar, prev_close = bars[-1], bars[0].close if len(bars) > 1 else bars[-1].open
        low52, high52 = self.state.market.fifty_two_week(sym, now)
        change = bar.close - prev_close
        out: dict[str, Any] = {
            "symbol": sym.symbol,
            "name": sym.display_name,
            "exchange": sym.exchange or ("Forex" if sym.kind == "forex" else "Commodity"),
        }
        if sym.kind == "stock":
            out.update(mic_code=sym.mic_code, currency=sym.quote_code)
        out.update(
            datetime=barlib.format_datetime(interval, bar.start),
            timestamp=bar.start,
            last_quote_at=int(now),
            open=fmt(bar.open, dp),
            high=fmt(bar.high, dp),
            low=fmt(bar.low, dp),
            close=fmt(bar.close, dp),
        )
        if bar.volume is not None:
            out["volume"] = fmt(bar.volume, 0)
        out.update(
            previous_close=fmt(prev_close, dp),
            change=fmt(change, dp),
            percent_change=fmt(change / prev_close * 100, 5),
            is_market_open=self.state.market.is_open(sym, now, self.state.faults.market_hours),
            fifty_two_week={
                "low": fmt(low52, dp),
                "high": fmt(high52, dp),
                "low_change": fmt(bar.close - low52, dp),
                "high_change": fmt(bar.close - high52, dp),
                "low_change_percent": fmt((bar.close - low52) / low52 * 100, 5),
                "high_change_percent": fmt((bar.close - high52) / high52 * 100, 5),
                "range": f"{fmt(low52, dp)} - {fmt(high52, dp)}",
            },
        )
        return out

    def _price(self, sym: SimSymbol, params: dict[str, str], now: float) -> dict[str, Any]:
        dp = self._dp(params, 5)
        return {"price": fmt(self.state.market.tick(sym, now).price, dp)}

    def _exchange_rate(self, sym: SimSymbol, params: dict[str, str], now: float) -> dict[str, Any]:
        if sym.kind == "stock":
            raise ApiFailure(400, "**symbol** must be a currency pair.")
        # the provider sends `rate` as a JSON number here; the rounding keeps it exact to dp
        rate = round(self.state.market.tick(sym, now).price, self._dp(params, 5))
        return {"symbol": sym.symbol, "rate": rate, "timestamp": int(now)}

    # --- catalogue endpoints ------------------------------------------------------------------

    @staticmethod
    def _filter(rows: list[dict[str, Any]], params: dict[str, str], keys: tuple[str, ...]) -> dict[str, Any]:
        for key in keys:
            wanted = params.get(key)
            if wanted:
                rows = [r for r in rows if str(r.get(key, "")).lower() == wanted.lower()]
        return {"count": len(rows), "data": rows, "status": "ok"}

    @staticmethod
    def _intervals(params: dict[str, str], plan: Plan) -> dict[str, Any]:
        del params, plan  # the list is the same for everyone
        return {"data": list(barlib.INTERVALS), "status": "ok"}

    def _forex_pairs(self, params: dict[str, str], plan: Plan) -> dict[str, Any]:
        rows = [
            {
                "symbol": s.symbol,
                "currency_group": s.group,
                "currency_base": s.base_code,
                "currency_quote": s.quote_code,
            }
            for s in SYMBOLS
            if s.kind == "forex"
        ]
        return self._filter(rows, params, ("symbol", "currency_base", "currency_quote"))

    def _cryptocurrencies(self, params: dict[str, str], plan: Plan) -> dict[str, Any]:
        rows = [
            {
                "symbol": s.symbol,
                "available_exchanges": [s.exchange, "Binance", "Kraken"],
                "currency_base": s.base_name,
                "currency_quote": s.quote_name,
            }
            for s in SYMBOLS
            if s.kind == "crypto"
        ]
        return self._filter(rows, params, ("symbol", "currency_base", "currency_quote"))

    def _commodities(self, params: dict[str, str], plan: Plan) -> dict[str, Any]:
        rows = [
            {"symbol": s.symbol, "name": s.name, "category": s.group, "description": f"{s.name} in US dollars"}
            for s in SYMBOLS
            if s.kind == "commodity"
        ]
        return self._filter(rows, params, ("symbol", "category"))

    def _symbol_search(self, params: dict[str, str], plan: Plan) -> dict[str, Any]:
        query = params.get("symbol", "").strip().upper()
        if not query:
            raise ApiFailure(400, "**symbol** parameter is missing or invalid.")
        try:
            size = int(params.get("outputsize", "30"))
        except ValueError as exc:
            raise ApiFailure(400, "**outputsize** must be an integer between 1 and 120.") from exc
        if not 1 <= size <= 120:
            raise ApiFailure(400, "**outputsize** must be an integer between 1 and 120.")
        show_plan = params.get("show_plan", "false").lower() == "true"
        rows = []
        for s in SYMBOLS:
            if query not in s.symbol.replace("/", "") and query not in s.symbol:
                continue
            row: dict[str, Any] = {
                "symbol": s.symbol,
                "instrument_name": s.display_name,
                "exchange": s.exchange or ("Forex" if s.kind == "forex" else "Commodity"),
                "mic_code": s.mic_code,
                "exchange_timezone": "America/New_York" if s.kind == "stock" else "UTC",
                "instrument_type": s.type_name,
                "country": "United States" if s.kind == "stock" else "",
                "currency": s.quote_code,
            }
            if show_plan:
                tier = "Grow" if s.paid_only else "Basic"
                row["access"] = {"global": tier, "plan": tier, "plan_business": "Venture"}
            rows.append(row)
        return {"data": rows[:size], "status": "ok"}
