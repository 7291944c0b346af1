"""The pure trading core: rules only (standard library, no I/O, no clock: time is an argument)."""

from engine.core.engine import TradingCore
from engine.core.entities import Account, Hold, Order, Position
from engine.core.instruments import Instrument
from engine.core.journal import AuditRecord, Changes, LedgerRow, TradeRow

__all__ = [
    "Account",
    "AuditRecord",
    "Changes",
    "Hold",
    "Instrument",
    "LedgerRow",
    "Order",
    "Position",
    "TradeRow",
    "TradingCore",
]
