"""Contract specifications and trading sessions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.core.money import ONE, quantum

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000


def utc(ms: int) -> datetime:
    """The UTC datetime of an epoch-millisecond time (exact, no float)."""
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"bad session time {hhmm!r}")
    return value


def parse_sessions(raw: Mapping[str, Sequence[Sequence[str]]] | None) -> tuple[tuple[tuple[int, int], ...], ...]:
    """{"mon": [["00:00","24:00"]], ...} → per ISO weekday (0 = Monday) a tuple of minute ranges.

    An empty mapping means always open (an instrument without a schedule is not closed forever).
    """
    if not raw:
        return tuple(((0, 24 * 60),) for _ in DAYS)
    return tuple(tuple((_minutes(a), _minutes(b)) for a, b in raw.get(day, ())) for day in DAYS)


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol: contract size, digits, volume rules, leverage cap, costs and sessions."""

    symbol: str
    base_currency: str
    quote_currency: str
    digits: int
    contract_size: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    max_leverage: int
    kind: str = "forex"
    margin_rate: Decimal = ONE
    commission_per_lot: Decimal = Decimal(0)
    swap_long: Decimal = Decimal(0)
    swap_short: Decimal = Decimal(0)
    swap_mode: str = "points"
    triple_swap_day: int = 3
    sessions: tuple[tuple[tuple[int, int], ...], ...] = field(default_factory=lambda: parse_sessions(None))
    max_quote_age_ms: int = 30_000
    stops_level: int = 0
    freeze_level: int = 0  # points: an order or a stop this close to the market is frozen (0 = never)
    max_deviation: int = 0
    enabled: bool = True
    # The last minute is_open() answered for and its answer (sessions change on minute bounds):
    # every order and every re-evaluation asks, nearly always about the same minute.
    _open_at: list[tuple[int, bool]] = field(
        default_factory=lambda: [(-1, False)], init=False, compare=False, repr=False
    )
    # For the margin watches' sensitivities, which are floats (engine.core.risk).
    contract_size_float: float = field(default=0.0, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "contract_size_float", float(self.contract_size))

    @property
    def point(self) -> Decimal:
        return quantum(self.digits)

    @property
    def trades_every_day(self) -> bool:
        return all(self.sessions)

    def norm_price(self, value: Decimal | None) -> Decimal | None:
        """A price with exactly the instrument's digits (call after grid validation)."""
        return None if value is None else value.quantize(self.point)

    def norm_volume(self, value: Decimal) -> Decimal:
        """A volume with the exponent of the volume step (1 → 1.00)."""
        return value.quantize(self.volume_step)

    def is_open(self, ms: int) -> bool:
        """True when the market is open at this time (sessions are in UTC)."""
        at = ms // 60_000
        last_at, last_open = self._open_at[0]
        if at == last_at:
            return last_open
        days, in_day = divmod(ms, DAY_MS)
        minute = in_day // 60_000
        weekday = (days + 3) % 7  # 1 January 1970 was a Thursday (Monday = 0)
        is_open = any(start <= minute < end for start, end in self.sessions[weekday])
        self._open_at[0] = (at, is_open)
        return is_open

    def trades_on(self, weekday: int) -> bool:
        return bool(self.sessions[weekday])

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Instrument:
        """Build from an instruments-table row (a mapping of column names)."""
        return cls(
            symbol=row["symbol"],
            base_currency=row["base_currency"],
            quote_currency=row["quote_currency"],
            digits=int(row["digits"]),
            contract_size=Decimal(row["contract_size"]),
            volume_min=Decimal(row["volume_min"]).normalize(),
            volume_max=Decimal(row["volume_max"]).normalize(),
            # NUMERIC(18,4) reads back as 0.0100: the step's own exponent decides how volumes print.
            volume_step=Decimal(row["volume_step"]).normalize(),
            max_leverage=int(row["max_leverage"]),
            kind=row.get("kind") or "forex",
            margin_rate=Decimal(row["margin_rate"]) if row.get("margin_rate") is not None else ONE,
            commission_per_lot=Decimal(row.get("commission_per_lot") or 0),
            swap_long=Decimal(row.get("swap_long") or 0),
            swap_short=Decimal(row.get("swap_short") or 0),
            swap_mode=row.get("swap_mode") or "points",
            triple_swap_day=int(row.get("triple_swap_day") or 3),
            sessions=parse_sessions(row.get("sessions")),
            max_quote_age_ms=int(row.get("max_quote_age_s") or 30) * 1000,
            stops_level=int(row.get("stops_level") or 0),
            freeze_level=int(row.get("freeze_level") or 0),
            max_deviation=int(row.get("max_deviation") or 0),
            enabled=bool(row.get("enabled", True)),
        )
