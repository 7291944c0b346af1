"""Admin tasks as Flask CLI commands: seed, create-admin, audit verify, reconcile, ..."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from common.audit import AuditEntry, parse_head, verify_chain, write_audit
from config import Settings
from models import Account, Instrument, User
from web.extensions import db
from web.seed_data import ADMIN, DEMO_BALANCE, DEMO_CLIENT, INSTRUMENTS


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _upsert_instruments() -> int:
    created = 0
    for spec in INSTRUMENTS:
        inst = db.execute(select(Instrument).where(Instrument.symbol == spec["symbol"])).scalar_one_or_none()
        if inst is None:
            db.add(Instrument(**spec))
            created += 1
    return created


def _ensure_user(spec: dict[str, Any], role: str) -> tuple[User, bool]:
    from web.services.passwords import hash_password

    user = db.execute(select(User).where(func.lower(User.email) == spec["email"].lower())).scalar_one_or_none()
    if user is not None:
        return user, False
    now = datetime.now(UTC)
    user = User(
        email=spec["email"],
        password_hash=hash_password(spec["password"]),
        first_name=spec["first_name"],
        last_name=spec["last_name"],
        country=spec.get("country"),
        role=role,
        status="active",
        email_verified_at=now,
        password_changed_at=now,
        flags={},
        limits={},
        preferences={"watchlist": ["EURUSD", "XAUUSD", "BTCUSD", "WTI", "GBPUSD", "USDJPY", "ETHUSD"]},
    )
    db.add(user)
    db.flush()
    return user, True


def _open_accounts(user: User, wanted: list[tuple[str, Any]]) -> int:
    """Ask the engine to open the accounts the user lacks (deterministic command ids: re-runs are harmless)."""
    from engine.contracts import OPEN_ACCOUNT, Command
    from web import get_redis
    from web.services.commands import allocate_account_id, send

    have = {a.type for a in db.execute(select(Account).where(Account.user_id == user.id)).scalars()}
    sent = 0
    for account_type, deposit in wanted:
        if account_type in have:
            continue
        key = f"seed:{user.id}:{account_type}"
        account_id = allocate_account_id(db)
        payload: dict[str, Any] = {"user_id": user.id, "type": account_type, "currency": "USD", "leverage": 100}
        if deposit:
            payload["initial_deposit"] = str(deposit)
        command = Command(f"seed-{key}", OPEN_ACCOUNT, account_id, payload, {"type": "system", "id": "seed"})
        send(get_redis(), command, _settings().engine_shards)
        sent += 1
    return sent


def register(app: Flask) -> None:
    @app.cli.command("seed")
    def seed() -> None:
        """Create instruments, an admin and a demo client with a funded demo account (idempotent)."""
        created = _upsert_instruments()
        admin, admin_new = _ensure_user(ADMIN, "admin")
        client, client_new = _ensure_user(DEMO_CLIENT, "client")
        db.commit()
        sent = _open_accounts(client, [("live", None), ("demo", DEMO_BALANCE)])
        sent += _open_accounts(admin, [("live", None)])
        click.echo(
            f"seed: {created} instruments created, admin {'created' if admin_new else 'present'}, "
            f"demo client {'created' if client_new else 'present'}, {sent} account commands sent"
        )

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--first-name", default="Admin")
    @click.option("--last-name", default="User")
    def create_admin(email: str, password: str, first_name: str, last_name: str) -> None:
        """Create an admin user (e-mail verified)."""
        user, created = _ensure_user(
            {"email": email, "password": password, "first_name": first_name, "last_name": last_name}, "admin"
        )
        if not created:
            raise click.ClickException(f"a user with e-mail {email} exists already")
        write_audit(
            db.connection(),
            [
                AuditEntry(
                    "admin.created", actor_type="system", actor_id="cli", target_type="user", target_id=str(user.id)
                )
            ],
        )
        db.commit()
        click.echo(f"admin {email} created (id {user.id})")

    audit = click.Group("audit", help="The tamper-evident audit log.")
    app.cli.add_command(audit)

    @audit.command("verify")
    @click.option(
        "--head",
        "heads",
        multiple=True,
        metavar="ID:HASH",
        help="A chain head the worker logged ('audit chain head id=ID hash=HASH'): that row must still "
        "be there with that hash (shows removed newest rows). Repeatable.",
    )
    def audit_verify(heads: tuple[str, ...]) -> None:
        """Walk the hash chain; exit 1 and name the first broken row if any."""
        try:
            published = [parse_head(head) for head in heads]
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--head") from None
        report = verify_chain(db.connection(), heads=published)
        if report.ok:
            click.echo(f"audit chain verified: {report.checked} rows")
            return
        click.echo(
            f"audit chain BROKEN at row id {report.broken_at}: {report.reason} "
            f"({report.checked} rows verified before it)"
        )
        sys.exit(1)
