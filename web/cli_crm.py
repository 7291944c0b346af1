"""CLI for the CRM link: API keys (`crm …`) and outgoing webhook endpoints (`webhooks …`).

Commands that create a secret print it once, as the last line of their output, alone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from web.extensions import db

CLI_ACTOR = {"type": "system", "id": "cli"}


def _fail(message: str) -> click.ClickException:
    db.rollback()
    return click.ClickException(message)


def _register_crm(app: Flask) -> None:
    from web.services import api_keys

    crm = AppGroup("crm", help="CRM service API keys.")
    app.cli.add_command(crm)

    @crm.command("create-key")
    @click.option("--name", required=True, help="Who or what uses the key, e.g. 'crm-prod'.")
    @click.option("--scopes", required=True, help=f"Comma-separated: {','.join(api_keys.SCOPES)}.")
    def create_key(name: str, scopes: str) -> None:
        """Create an API key; print it once (the last line of output is the key alone)."""
        try:
            row, full_key = api_keys.create_key(db, name, scopes.split(","), CLI_ACTOR)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        db.commit()
        click.echo(f"API key {row.id} '{row.name}' created, scopes: {','.join(row.scopes)}")
        click.echo("Store it now: it is shown only once. Send it as 'Authorization: Bearer <key>'.")
        click.echo(full_key)

    @crm.command("revoke-key")
    @click.argument("key_ref")
    def revoke_key(key_ref: str) -> None:
        """Revoke a key at once (by id, key id, or its shown prefix bkr_<id>_…)."""
        row = api_keys.find_key(db, key_ref)
        if row is None:
            raise _fail(f"no API key {key_ref!r}")
        changed = api_keys.revoke_key(db, row, CLI_ACTOR)
        db.commit()
        click.echo(f"API key {row.id} '{row.name}' {'revoked' if changed else 'was already revoked'}")

    @crm.command("list-keys")
    def list_keys() -> None:
        """List keys: id, shown prefix, name, scopes, state, last use."""
        rows = api_keys.list_keys(db)
        if not rows:
            click.echo("no API keys")
        for row in rows:
            state = "revoked" if row.revoked_at else "active"
            used = (
                f"last used {row.last_used_at.astimezone(UTC).isoformat(timespec='seconds')} from {row.last_used_ip}"
                if row.last_used_at
                else "never used"
            )
            click.echo(
                f"{row.id}\t{api_keys.display_prefix(row.prefix)}\t{row.name}\t{','.join(row.scopes)}\t{state}\t{used}"
            )


def _register_webhooks(app: Flask) -> None:
    from web.services import webhooks as service

    group = AppGroup("webhooks", help="Outgoing webhook endpoints (the CRM's receivers) and redelivery.")
    app.cli.add_command(group)

    @group.command("add-endpoint")
    @click.argument("url")
    @click.option("--events", default="", help="Comma-separated event types (default: all); 'deposit.*' works.")
    @click.option("--description", default="", help="A note for operators.")
    def add_endpoint(url: str, events: str, description: str) -> None:
        """Add an endpoint; print its whsec_ secret once (the last line of output is the secret alone)."""
        wanted = [e.strip() for e in events.split(",") if e.strip()] or None
        try:
            endpoint, secret = service.add_endpoint(db, url, wanted, description, CLI_ACTOR)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        db.commit()
        click.echo(f"endpoint {endpoint.id} added: {endpoint.url} (events: {', '.join(wanted or ['all'])})")
        click.echo("Its signing secret, shown only once:")
        click.echo(secret)

    @group.command("rotate-secret")
    @click.argument("endpoint_id", type=int)
    @click.option("--overlap-hours", type=float, default=service.DEFAULT_OVERLAP_HOURS, show_default=True)
    def rotate_secret(endpoint_id: int, overlap_hours: float) -> None:
        """New secret for an endpoint; the old one still signs for the overlap. Prints the new secret last."""
        try:
            endpoint, secret = service.rotate_secret(db, endpoint_id, overlap_hours, CLI_ACTOR)
        except LookupError as exc:
            raise _fail(str(exc)) from exc
        db.commit()
        until = endpoint.previous_secret_expires_at
        click.echo(
            f"endpoint {endpoint.id}: secret rotated; the previous one also signs until "
            f"{until.astimezone(UTC).isoformat(timespec='seconds') if until else 'now'}"
        )
        click.echo(secret)

    @group.command("list")
    def list_endpoints() -> None:
        """List endpoints with their state and delivery counts."""
        rows = service.list_endpoints(db)
        if not rows:
            click.echo("no webhook endpoints")
        for row in rows:
            state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason'] or 'by an operator'})"
            counts = ", ".join(f"{k} {v}" for k, v in sorted(row["deliveries"].items())) or "no deliveries"
            click.echo(
                f"{row['id']}\t{row['url']}\t{','.join(row['events'] or ['all'])}\t{state}\t{row['source']}\t{counts}"
            )

    @group.command("disable")
    @click.argument("endpoint_id", type=int)
    def disable(endpoint_id: int) -> None:
        """Stop sending to an endpoint."""
        _set_enabled(endpoint_id, False)

    @group.command("enable")
    @click.argument("endpoint_id", type=int)
    def enable(endpoint_id: int) -> None:
        """Send to an endpoint again (use redeliver-failed to catch up)."""
        _set_enabled(endpoint_id, True)

    @group.command("redeliver")
    @click.argument("event_id", type=int)
    def redeliver(event_id: int) -> None:
        """Send one event again to its endpoints (same webhook-id)."""
        try:
            count = service.redeliver_event(db, event_id, None, CLI_ACTOR)
        except LookupError as exc:
            raise _fail(str(exc)) from exc
        click.echo(f"event {event_id}: {count} deliveries queued")

    @group.command("redeliver-failed")
    @click.option("--since", required=True, help="ISO-8601 time, e.g. 2026-01-31T00:00:00Z.")
    @click.option("--endpoint", "endpoint_id", type=int, default=None)
    def redeliver_failed(since: str, endpoint_id: int | None) -> None:
        """Send again every failed delivery of events created since a time."""
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _fail(f"not an ISO-8601 time: {since!r}") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        count = service.redeliver_failed(db, when, endpoint_id, CLI_ACTOR)
        click.echo(f"{count} failed deliveries queued again")


def _set_enabled(endpoint_id: int, enabled: bool) -> None:
    from web.services import webhooks

    try:
        endpoint = webhooks.set_enabled(db, endpoint_id, enabled, CLI_ACTOR)
    except LookupError as exc:
        raise _fail(str(exc)) from exc
    db.commit()
    click.echo(f"endpoint {endpoint.id} {'enabled' if endpoint.enabled else 'disabled'}")


def register(app: Flask) -> None:
    _register_crm(app)
    _register_webhooks(app)
