"""Building blocks for driving the pure core with explicit quotes and times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.core.context import CommandIn, CounterIds
from engine.core.engine import TradingCore
from engine.core.instruments import Instrument, parse_sessions, to_ms

D = Decimal
# Tuesday 24 November 2026, 12:00 UTC: every market of the seed is open.
T0 = to_ms(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

FX_SESSIONS = {
    "sun": [["22:00", "24:00"]],
    "mon": [["00:00", "24:00"]],
    "tue": [["00:00", "24:00"]],
    "wed": [["00:00", "24:00"]],
    "thu": [["00:00", "24:00"]],
    "fri": [["00:00", "21:00"]],
    "sat": [],
}


def fx(symbol: str, base: str, quote: str, digits: int = 5, **kw: Any) -> Instrument:
    spec: dict[str, Any] = {
        "symbol": symbol,
        "base_currency": base,
        "quote_currency": quote,
        "digits": digits,
        "contract_size": D(100000),
        "volume_min": D("0.01"),
        "volume_max": D(100),
        "volume_step": D("0.01"),
        "max_leverage": 500,
        "sessions": parse_sessions(FX_SESSIONS),
        "stops_level": 0,
        "max_deviation": 50,
    }
    spec.update(kw)
    return Instrument(**spec)


def cfd(symbol: str, base: str, contract: str, digits: int = 2, **kw: Any) -> Instrument:
    spec: dict[str, Any] = {
        "symbol": symbol,
        "base_currency": base,
        "quote_currency": "USD",
        "digits": digits,
        "contract_size": D(contract),
        "volume_min": D("0.01"),
        "volume_max": D(50),
        "volume_step": D("0.01"),
        "max_leverage": 100,
        "kind": "cfd",
    }
    spec.update(kw)
    return Instrument(**spec)


def instruments(**overrides: dict[str, Any]) -> list[Instrument]:
    """EURUSD, GBPUSD, USDJPY, XAUUSD, BTCUSD (24/7) — like the seed, costs off unless asked."""
    specs = {
        "EURUSD": lambda kw: fx("EURUSD", "EUR", "USD", **kw),
        "GBPUSD": lambda kw: fx("GBPUSD", "GBP", "USD", **kw),
        "USDJPY": lambda kw: fx("USDJPY", "USD", "JPY", digits=3, **kw),
        "XAUUSD": lambda kw: cfd("XAUUSD", "XAU", "100", **kw),
        "BTCUSD": lambda kw: cfd("BTCUSD", "BTC", "1", max_leverage=10, **kw),
    }
    return [make(overrides.get(symbol, {})) for symbol, make in specs.items()]


class Harness:
    """A core with a clock the test moves, and one-line commands."""

    def __init__(self, core: TradingCore | None = None, now: int = T0, **overrides: dict[str, Any]) -> None:
        self.core = core or TradingCore(instruments(**overrides), CounterIds())
        self.now = now
        self.seq = 0

    def advance(self, ms: int) -> None:
        self.now += ms

    def tick(self, symbol: str, bid: str, ask: str, ts: int | None = None) -> None:
        self.core.on_tick(symbol, D(bid), D(ask), self.now if ts is None else ts, self.now)

    def quotes(self, **prices: tuple[str, str]) -> None:
        for symbol, (bid, ask) in prices.items():
            self.tick(symbol, bid, ask)

    def run(
        self, command_type: str, account_id: int, actor: dict[str, Any] | None = None, **payload: Any
    ) -> dict[str, Any]:
        self.seq += 1
        command = CommandIn(f"cmd-{self.seq}", command_type, account_id, payload, actor or {"type": "user", "id": "1"})
        return self.core.execute(command, self.now)

    def open_account(self, account_id: int = 1, deposit: str = "10000", **kw: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"user_id": kw.pop("user_id", 7), "type": kw.pop("type", "live"), **kw}
        if deposit:
            payload["initial_deposit"] = deposit
        result = self.run("open_account", account_id, **payload)
        assert result["ok"], result
        return result

    def order(self, account_id: int = 1, **payload: Any) -> dict[str, Any]:
        payload.setdefault("symbol", "EURUSD")
        payload.setdefault("side", "buy")
        payload.setdefault("type", "market")
        payload.setdefault("volume", "1")
        return self.run("place_order", account_id, **payload)

    def account(self, account_id: int = 1):  # type: ignore[no-untyped-def]
        return self.core.accounts[account_id]

    def figures(self, account_id: int = 1):  # type: ignore[no-untyped-def]
        return self.core.figures(self.account(account_id))
