"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from models.audit import AuditLog
from models.base import Base
from models.funds import Deposit, KycDocument, Withdrawal
from models.holds import AccountHold
from models.trading import (
    Account,
    Candle,
    EngineShard,
    Instrument,
    LedgerEntry,
    Order,
    Position,
    ProcessedCommand,
    Trade,
)
from models.user import ApiKey, OneTimeToken, RefreshToken, SsoToken, TotpBackupCode, UsedServiceJti, User, UserSession
from models.webhooks import InboundWebhook, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "Account",
    "AccountHold",
    "ApiKey",
    "AuditLog",
    "Base",
    "Candle",
    "Deposit",
    "EngineShard",
    "InboundWebhook",
    "Instrument",
    "KycDocument",
    "LedgerEntry",
    "OneTimeToken",
    "Order",
    "Position",
    "ProcessedCommand",
    "RefreshToken",
    "SsoToken",
    "TotpBackupCode",
    "Trade",
    "UsedServiceJti",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Withdrawal",
]
