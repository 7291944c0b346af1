"""Decimal helpers: explicit rounding per instrument digits and per currency minor units."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
INF = Decimal("Infinity")

# Minor units per currency; anything not listed has 2.
CURRENCY_DIGITS = {"JPY": 0, "KRW": 0, "HUF": 0}
_QUANTA = {digits: Decimal(1).scaleb(-digits) for digits in range(0, 11)}


def quantum(digits: int) -> Decimal:
    """10**-digits as a Decimal (the price point of an instrument with these digits)."""
    return _QUANTA[digits]


def currency_digits(currency: str) -> int:
    return CURRENCY_DIGITS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount to the currency's minor units (half up, as account statements do)."""
    return amount.quantize(_QUANTA[currency_digits(currency)], rounding=ROUND_HALF_UP)


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a string or int (never a float); None when it is not one."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        result = Decimal(value.strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def on_grid(value: Decimal, step: Decimal) -> bool:
    """True when value is a whole multiple of step."""
    return (value % step) == ZERO


def fmt(value: Decimal | None) -> str | None:
    """A decimal string for JSON (plain notation, never exponent)."""
    if value is None:
        return None
    text = str(value)  # plain unless the exponent calls for E notation (much faster than format)
    return text if "E" not in text else format(value, "f")
