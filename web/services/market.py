"""Market data for the API: enabled instruments, last quotes, feed status, and candles.

Candles come from an in-process LRU cache, then the `candles` table, then the provider's
/time_series (what is fetched is stored; the still-forming newest bar is never stored but is
kept in a small Redis note beside the sync marker so every web process can serve it).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from config import Settings
from engine.contracts import MD_LAST, MD_STATUS
from feed import sessions
from feed.candles import INTERVALS, Bar, bars_from_time_series, is_forming, normalise_volume, quantize
from feed.client import RestClient, TwelveDataError, endpoints
from feed.status import feed_mode
from models import Candle, Instrument
from web.errors import ApiError
from web.extensions import db

log = logging.getLogger(__name__)

INSTRUMENTS_TTL_S = 5.0
CACHE_TTL_S = 10.0
CACHE_ENTRIES = 128
FETCH_MIN = 1000  # one /time_series call costs one credit whatever its size: fetch generously
PROVIDER_TIMEOUT_S = 8.0
PROVIDER_RETRY_S = 5.0  # after a provider failure, the same (symbol, interval) waits this long


def _settings() -> Settings:
    return cast(Settings, current_app.config["SETTINGS"])


def _redis() -> Any:
    from web import get_redis

    return get_redis()


# --- instruments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstrumentInfo:
    """An enabled instrument as the API shows it (a detached copy of the row)."""

    symbol: str
    provider_symbol: str
    description: str
    kind: str
    base_currency: str
    quote_currency: str
    digits: int
    contract_size: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    max_leverage: int
    margin_rate: Decimal | None
    spread_markup: Decimal
    commission_per_lot: Decimal
    swap_long: Decimal
    swap_short: Decimal
    swap_mode: str
    triple_swap_day: int
    stops_level: int
    freeze_level: int
    max_deviation: int
    max_quote_age_s: int
    sessions: dict[str, Any]


_instruments: tuple[float, dict[str, InstrumentInfo]] = (0.0, {})
_instruments_lock = threading.Lock()


def enabled_instruments() -> dict[str, InstrumentInfo]:
    """Enabled instruments by symbol, read at most every few seconds per process."""
    global _instruments
    loaded_at, cached = _instruments
    if time.monotonic() - loaded_at < INSTRUMENTS_TTL_S:
        return cached
    with _instruments_lock:
        rows = db.execute(select(Instrument).where(Instrument.enabled.is_(True)).order_by(Instrument.id)).scalars()
        fresh = {
            r.symbol: InstrumentInfo(
                **{name: getattr(r, name) for name in InstrumentInfo.__dataclass_fields__ if name != "sessions"},
                sessions=dict(r.sessions or {}),
            )
            for r in rows
        }
        _instruments = (time.monotonic(), fresh)
    return fresh


def forget_instruments() -> None:
    """Drop the cached instrument list (the next read goes to PostgreSQL)."""
    global _instruments
    _instruments = (0.0, {})


def instrument(symbol: str) -> InstrumentInfo:
    """An enabled instrument, or 404 unknown_symbol."""
    found = enabled_instruments().get(symbol.strip().upper())
    if found is None:
        raise ApiError(404, "unknown_symbol", f"No enabled instrument is called {symbol[:32]!r}.")
    return found


# --- quotes and feed status ---------------------------------------------------------------------


def last_quotes(symbols: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """md:last as {symbol: {"bid","ask","ts"}}; unreadable entries are left out."""
    r = _redis()
    if symbols is None:
        raw = r.hgetall(MD_LAST)
    else:
        raw = dict(zip(symbols, r.hmget(MD_LAST, symbols), strict=True)) if symbols else {}
    out: dict[str, dict[str, Any]] = {}
    for symbol, text in raw.items():
        if not text:
            continue
        try:
            data = json.loads(text)
            out[symbol] = {"bid": str(data["bid"]), "ask": str(data["ask"]), "ts": int(data["ts"])}
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _json_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def feed_status() -> dict[str, Any]:
    """The feed's state for the SPA's indicator."""
    status = _redis().hgetall(MD_STATUS)
    now_ms = int(time.time() * 1000)
    return {
        "feed": feed_mode(status, now_ms),
        "since": int(status.get("since") or 0),
        "source": status.get("source") or "",
        "failed_symbols": _json_list(status.get("failed_symbols")),
        "stale_symbols": _json_list(status.get("stale_symbols")),
    }


def is_tradable(info: InstrumentInfo, quote: dict[str, Any] | None, now: datetime) -> bool:
    """Tradable now: the session is open and the last quote is fresher than the instrument's max age."""
    if quote is None or not sessions.is_open(info.sessions, now):
        return False
    return now.timestamp() * 1000 - quote["ts"] <= info.max_quote_age_s * 1000


def _plain(value: Any) -> Any:
    """Decimals as plain strings without the column's padding zeros (0.0000200000 -> 0.00002)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def list_symbols() -> list[dict[str, Any]]:
    """Every enabled instrument with its contract specification, tradability and last quote."""
    instruments = enabled_instruments()
    quotes = last_quotes(list(instruments))
    now = datetime.now(UTC)
    out = []
    for info in instruments.values():
        quote = quotes.get(info.symbol)
        row = {
            name: _plain(getattr(info, name))
            for name in InstrumentInfo.__dataclass_fields__
            if name != "provider_symbol"
        }
        row.update(tradable=is_tradable(info, quote, now), quote=quote)
        out.append(row)
    return out


# --- candles ------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """Bars ready to send, oldest first (the forming bar last, if any)."""

    frags: list[str]  # JSON of each bar
    covers: int  # how many bars a request may take from it (more than len(frags) when that is all history)
    until: float = math.inf  # when the forming bar completes, these bars are out of date


@dataclass
class CacheEntry:
    loaded: Loaded
    expires_at: float


class CandleCache:
    """A small LRU of ready-to-send bars per (symbol, interval)."""

    def __init__(self, entries: int = CACHE_ENTRIES, ttl_s: float = CACHE_TTL_S) -> None:
        self.entries = entries
        self.ttl_s = ttl_s
        self._data: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], limit: int, now: float) -> str | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry.expires_at <= now or entry.loaded.covers < limit:
                return None
            self._data.move_to_end(key)
            return "[" + ",".join(entry.loaded.frags[-limit:]) + "]"

    def put(self, key: tuple[str, str], loaded: Loaded, now: float) -> None:
        with self._lock:
            self._data[key] = CacheEntry(loaded, min(now + self.ttl_s, loaded.until))
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


cache = CandleCache()


def _sync_key(symbol: str, interval: str) -> str:
    return f"md:candles:sync:{symbol}:{interval}"


def _sync_ttl(interval_s: int) -> int:
    """Re-sync with the provider at most once per bar period (between 1 minute and 1 hour)."""
    return min(max(interval_s, 60), 3600)


def _stored_bars(info: InstrumentInfo, interval: str, limit: int) -> list[Bar]:
    """The latest `limit` stored bars, oldest first (plain rows: no ORM objects on this path)."""
    rows = db.execute(
        select(Candle.ts, Candle.open, Candle.high, Candle.low, Candle.close, Candle.volume)
        .where(Candle.symbol == info.symbol, Candle.interval == interval)
        .order_by(Candle.ts.desc())
        .limit(limit)
    ).all()
    d = info.digits
    bars = [
        Bar(int(ts.timestamp()), quantize(o, d), quantize(h, d), quantize(low, d), quantize(c, d), normalise_volume(v))
        for ts, o, h, low, c, v in rows
    ]
    bars.reverse()
    return bars


def _store(symbol: str, interval: str, bars: list[Bar]) -> None:
    """Upsert complete bars (a later fetch overwrites what an earlier one stored)."""
    if not bars:
        return
    rows = [
        {
            "symbol": symbol,
            "interval": interval,
            "ts": datetime.fromtimestamp(b.t, UTC),
            "open": b.o,
            "high": b.h,
            "low": b.low,
            "close": b.c,
            "volume": b.v,
        }
        for b in bars
    ]
    stmt = insert(Candle).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["symbol", "interval", "ts"],
        set_={k: stmt.excluded[k] for k in ("open", "high", "low", "close", "volume")},
    )
    db.execute(stmt)
    db.commit()


def _provider_error(exc: TwelveDataError) -> ApiError:
    if exc.kind in ("rate_minute", "rate_day"):
        period = 60 if exc.kind == "rate_minute" else 86400
        retry = str(max(1, int(period - time.time() % period)))  # the provider's credits reset then
        return ApiError(
            503,
            "provider_rate_limited",
            "The market data provider's credits are used up; try again shortly.",
            headers={"Retry-After": retry},
        )
    if exc.kind == "auth":
        return ApiError(503, "provider_auth_failed", "The market data provider refused our credentials.")
    if exc.kind in ("plan", "not_found"):
        return ApiError(503, "provider_no_symbol", "The market data provider does not serve this symbol.")
    return ApiError(503, "provider_unavailable", "The market data provider is unavailable; try again shortly.")


def _fetch(info: InstrumentInfo, interval: str, size: int) -> list[Bar]:
    """Bars from the provider, oldest first (the newest may be forming)."""
    provider_interval, _ = INTERVALS[interval]
    client = RestClient.from_endpoints(endpoints(_settings()), timeout=PROVIDER_TIMEOUT_S)
    try:
        body = client.time_series(info.provider_symbol, provider_interval, size)
    except TwelveDataError as exc:
        if exc.kind == "bad_request" and "no data" in exc.message.lower():
            return []  # the provider has no history for the range: an empty chart, not an error
        raise
    return bars_from_time_series(body, info.digits)


def _sync(info: InstrumentInfo, interval: str, limit: int, now: float) -> Loaded:
    """Fetch from the provider, store the complete bars and note the forming one (for every web process)."""
    size = min(max(limit, FETCH_MIN), 5000)
    fetched = _fetch(info, interval, size)
    interval_s = INTERVALS[interval][1]
    forming = fetched[-1] if fetched and is_forming(fetched[-1].t, interval_s, now) else None
    complete = fetched[:-1] if forming else fetched
    _store(info.symbol, interval, complete)
    whole_history = len(fetched) < size
    covers = 5000 if whole_history else size
    note = {"at": now, "covers": covers, "forming": forming.json() if forming else None}
    ttl = _sync_ttl(interval_s)
    until = math.inf
    if forming is not None:  # when the forming bar completes, PostgreSQL lacks it: sync again then
        until = forming.t + interval_s
        ttl = max(1, min(ttl, math.ceil(until - now)))
    _redis().set(_sync_key(info.symbol, interval), json.dumps(note), ex=ttl)
    frags = [b.json() for b in fetched]
    return Loaded(frags, 5000 if whole_history else len(frags), until)


def _from_storage(info: InstrumentInfo, interval: str, limit: int, now: float) -> Loaded | None:
    """Bars from PostgreSQL when a recent sync (by any web process) vouches for them."""
    raw = _redis().get(_sync_key(info.symbol, interval))
    if not raw:
        return None
    try:
        note = json.loads(raw)
        covers = int(note["covers"])
    except (ValueError, KeyError, TypeError):
        return None
    if covers < limit:
        return None
    interval_s = INTERVALS[interval][1]
    forming = note.get("forming")
    until = math.inf
    if isinstance(forming, str):
        forming_t = int(json.loads(forming).get("t", 0))
        if not is_forming(forming_t, interval_s, now):
            return None  # that bar has completed since: PostgreSQL lacks it
        until = forming_t + interval_s
    stored = _stored_bars(info, interval, limit)
    frags = [b.json() for b in stored] + ([forming] if isinstance(forming, str) else [])
    whole_history = covers >= 5000 and len(stored) < limit
    return Loaded(frags, 5000 if whole_history else len(frags), until)


_failures: dict[tuple[str, str], tuple[float, TwelveDataError]] = {}
_key_locks: dict[tuple[str, str], threading.Lock] = {}


def reset_candles() -> None:
    """Forget cached bars and recent provider failures of this process."""
    cache.clear()
    _failures.clear()


def _provider_sync(info: InstrumentInfo, interval: str, limit: int, now: float) -> Loaded:
    """_sync, but a provider that just failed for this key is not asked again for a few seconds."""
    key = (info.symbol, interval)
    failed = _failures.get(key)
    if failed is not None and failed[0] > now:
        raise failed[1]
    try:
        return _sync(info, interval, limit, now)
    except TwelveDataError as exc:
        log.warning("candles %s %s: provider failed: %s", info.symbol, interval, exc)
        _failures[key] = (now + PROVIDER_RETRY_S, exc)
        raise


def candles_json(symbol: str, interval: str, limit: int) -> str:
    """The last `limit` bars (oldest first) as a JSON array; 503 when the provider is needed but fails."""
    info = instrument(symbol)
    key = (info.symbol, interval)
    now = time.time()
    hit = cache.get(key, limit, now)
    if hit is not None:
        return hit
    with _key_locks.setdefault(key, threading.Lock()):  # one load per key and process; the others wait
        hit = cache.get(key, limit, time.time())
        if hit is not None:
            return hit
        stored = _load(info, interval, limit, now)
        cache.put(key, stored, now)
    return "[" + ",".join(stored.frags[-limit:]) + "]"


def _load(info: InstrumentInfo, interval: str, limit: int, now: float) -> Loaded:
    stored = _from_storage(info, interval, limit, now)
    if stored is not None:
        return stored
    try:
        return _provider_sync(info, interval, limit, now)
    except TwelveDataError as exc:
        fallback = _stored_bars(info, interval, limit)
        if not fallback:
            raise _provider_error(exc) from None
        # stale bars beat none; cached briefly so an outage does not cost a provider call per request
        return Loaded([b.json() for b in fallback], len(fallback), now + PROVIDER_RETRY_S)
