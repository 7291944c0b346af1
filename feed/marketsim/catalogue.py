"""The instruments the simulator knows: provider symbols, price levels, volatility and spreads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimSymbol:
    """One simulated instrument and how the provider describes it."""

    symbol: str  # provider form, e.g. "EUR/USD"
    kind: str  # forex | crypto | commodity | stock
    level: float  # long-run price level (the random walk reverts to it slowly)
    daily_vol: float  # standard deviation of the daily log return
    spread: float  # raw provider spread (ask - bid) in price units
    dp: int  # decimal places the provider quotes
    base_name: str = ""
    quote_name: str = "US Dollar"
    base_code: str = ""
    quote_code: str = "USD"
    group: str = ""  # forex currency_group or commodity category
    exchange: str = ""
    mic_code: str = ""
    name: str = ""
    paid_only: bool = False  # REST answers 403 "not available with your plan" on basic keys

    @property
    def type_name(self) -> str:
        return {
            "forex": "Physical Currency",
            "commodity": "Physical Currency",
            "crypto": "Digital Currency",
            "stock": "Common Stock",
        }[self.kind]

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return f"{self.base_name} / {self.quote_name}"


def _fx(sym: str, level: float, vol: float, spread: float, dp: int, base: str, quote: str, group: str) -> SimSymbol:
    b, q = sym.split("/")
    return SimSymbol(sym, "forex", level, vol, spread, dp, base, quote, b, q, group)


def _crypto(sym: str, level: float, vol: float, spread: float, base: str) -> SimSymbol:
    b, q = sym.split("/")
    return SimSymbol(sym, "crypto", level, vol, spread, 2, base, "US Dollar", b, q, exchange="Coinbase Pro")


def _commodity(sym: str, level: float, vol: float, spread: float, name: str, category: str, paid: bool) -> SimSymbol:
    b, q = sym.split("/")
    return SimSymbol(
        sym, "commodity", level, vol, spread, 2, name, "US Dollar", b, q, category, name=name, paid_only=paid
    )


SYMBOLS: tuple[SimSymbol, ...] = (
    _fx("EUR/USD", 1.0800, 0.0050, 0.00006, 5, "Euro", "US Dollar", "Major"),
    _fx("GBP/USD", 1.2700, 0.0060, 0.00009, 5, "British Pound", "US Dollar", "Major"),
    _fx("USD/JPY", 150.00, 0.0060, 0.008, 3, "US Dollar", "Japanese Yen", "Major"),
    _fx("USD/CHF", 0.8850, 0.0050, 0.00010, 5, "US Dollar", "Swiss Franc", "Major"),
    _fx("AUD/USD", 0.6550, 0.0065, 0.00008, 5, "Australian Dollar", "US Dollar", "Major"),
    _fx("USD/CAD", 1.3600, 0.0045, 0.00012, 5, "US Dollar", "Canadian Dollar", "Major"),
    _fx("NZD/USD", 0.6000, 0.0065, 0.00012, 5, "New Zealand Dollar", "US Dollar", "Major"),
    _fx("EUR/GBP", 0.8500, 0.0040, 0.00010, 5, "Euro", "British Pound", "Minor"),
    _fx("EUR/JPY", 162.00, 0.0065, 0.012, 3, "Euro", "Japanese Yen", "Minor"),
    _crypto("BTC/USD", 95000.0, 0.030, 12.0, "Bitcoin"),
    _crypto("ETH/USD", 3400.0, 0.040, 0.9, "Ethereum"),
    _crypto("SOL/USD", 180.0, 0.050, 0.08, "Solana"),
    _commodity("XAU/USD", 2600.0, 0.010, 0.20, "Gold Spot", "Precious Metal", False),
    _commodity("XAG/USD", 30.50, 0.018, 0.03, "Silver Spot", "Precious Metal", False),
    _commodity("WTI/USD", 75.00, 0.022, 0.03, "Crude Oil WTI Spot", "Energy Resource", True),
    _commodity("XBR/USD", 79.00, 0.021, 0.03, "Brent Spot", "Energy Resource", True),
    SimSymbol(
        "AAPL",
        "stock",
        230.0,
        0.015,
        0.02,
        2,
        exchange="NASDAQ",
        mic_code="XNGS",
        name="Apple Inc.",
        quote_code="USD",
    ),
)

BY_SYMBOL: dict[str, SimSymbol] = {s.symbol: s for s in SYMBOLS}


def lookup(raw: str) -> SimSymbol | None:
    """Find a symbol as a client may write it: any case, with an optional `:EXCHANGE` suffix."""
    name = raw.strip().split(":", 1)[0].upper()
    return BY_SYMBOL.get(name)
