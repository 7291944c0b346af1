"""Outgoing webhooks: endpoints, the event outbox, deliveries and their attempts; inbound event ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, Created


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[BigId]
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False, server_default="")
    secret_enc: Mapped[str] = mapped_column(Text, nullable=False)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    events: Mapped[list[str] | None] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), nullable=False, server_default="admin")
    created_at: Mapped[Created]


class WebhookEvent(Base):
    """The outbox: written in the same transaction as the change it describes; payload frozen."""

    __tablename__ = "webhook_events"

    id: Mapped[BigId]
    msg_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[Created]
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # X-Request-ID of the HTTP request behind the change (web, or the engine command's actor)
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_webhook_events_undispatched", "id", postgresql_where=text("dispatched_at IS NULL")),
        Index("ix_webhook_events_type", "type", "id"),
    )


class WebhookDelivery(Base):
    """One event to one endpoint; retried until it succeeds or the schedule runs out."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[BigId]
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Created]

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        Index("ix_webhook_deliveries_status", "status", "id"),
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
    )


class WebhookAttempt(Base):
    """The log of one delivery attempt."""

    __tablename__ = "webhook_attempts"

    id: Mapped[BigId]
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]

    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "id"),)


class InboundWebhook(Base):
    """A CRM webhook we accepted, by its webhook-id (a replay is refused)."""

    __tablename__ = "inbound_webhooks"

    webhook_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[Created]
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    status_code: Mapped[int] = mapped_column(Integer, nullable=False, server_default="200")
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
