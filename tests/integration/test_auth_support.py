"""Helpers shared by the auth tests (real app, real PostgreSQL and Redis), and checks of them."""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from tests.factories import DEFAULT_PASSWORD, login, unique_email
from tests.support import wait_for

_ips = itertools.count(1)
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
STRONG_PASSWORD = "violet-anchor-meadow-42"


def fresh_ip() -> str:
    """A loopback address of its own, so per-IP limits of one test never touch another."""
    n = next(_ips) + (os.getpid() % 200) * 1000
    return f"127.{(n >> 16) % 250 + 1}.{(n >> 8) % 256}.{n % 256}"


def rebind_limiter(app: Flask) -> None:
    """Point the process-wide flask-limiter at this app's Redis again.

    The Limiter is one object per process (as in production, where there is one app); a test
    that builds another app (say, with an unreachable Redis) re-configures its storage. init_app
    on an app it already knows only re-reads the storage settings.
    """
    from web.extensions import limiter

    limiter.init_app(app)


def anon_client(app: Flask, ip: str | None = None) -> FlaskClient:
    """A browser without a session: own IP, a user agent and a CSRF token header."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip or fresh_ip()
    client.environ_base["HTTP_USER_AGENT"] = UA
    set_csrf(client)
    return client


def set_csrf(client: FlaskClient) -> str:
    token: str = (client.get("/api/auth/csrf").json or {})["csrf_token"]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return token


def signed_in(app: Flask, user: Any) -> FlaskClient:
    """A client with a real session of the user (cookies made by web.security.start_session)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_ip()
    client.environ_base["HTTP_USER_AGENT"] = UA
    return login(client, app, user)


def register_body(email: str | None = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "email": email or unique_email("reg"),
        "password": STRONG_PASSWORD,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "phone": "+44 20 7946 0000",
    }
    body.update(overrides)
    return body


def password_login(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def cookie(client: FlaskClient, name: str, path: str = "/") -> str | None:
    found = client.get_cookie(name, path=path)
    return found.value if found is not None else None


def refresh_token(client: FlaskClient) -> str | None:
    return cookie(client, "refresh_token", "/api/auth")


def audit_rows(sql_engine: Any, action: str, **where: Any) -> list[dict[str, Any]]:
    """Audit rows of an action, oldest first, filtered on column values."""
    from models import AuditLog

    stmt = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditLog, column) == (None if value is None else str(value)))
    with sql_engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt.with_only_columns(*AuditLog.__table__.c))]


def user_row(sql_engine: Any, email: str) -> dict[str, Any]:
    with sql_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM users WHERE lower(email) = lower(:e)"), {"e": email}).mappings().one()
        return dict(row)


def totp_code(sql_engine: Any, user_id: int, secret: str) -> str:
    """A code the server will take now: the current step, or a later one if that was used.

    The server accepts now ±1 step and never a step at or below the last one used; if the
    next unused step is two ahead, wait (with a deadline) until the clock makes it acceptable.
    """
    totp = pyotp.TOTP(secret)

    def last_step() -> int:
        with sql_engine.connect() as conn:
            value = conn.execute(text("SELECT totp_last_step FROM users WHERE id = :i"), {"i": user_id}).scalar()
        return -1 if value is None else int(value)

    wanted = last_step() + 1
    wait_for(lambda: wanted <= totp.timecode(time.time()) + 1, timeout=65, what="an unused TOTP step")
    step = max(wanted, totp.timecode(time.time()))
    return totp.generate_otp(step)


def issue_token(app: Flask, user_id: int, purpose: str) -> str:
    """A one-time token made by the real token service (as the mails carry them)."""
    from models import User
    from web.extensions import db
    from web.services import tokens

    with app.test_request_context("/"):
        user = db.get(User, user_id)
        assert user is not None
        token = tokens.issue(user, purpose)
        db.commit()
        db.remove()
    return token


def test_fresh_ips_differ_and_stay_on_loopback():
    ips = {fresh_ip() for _ in range(50)}
    assert len(ips) == 50
    assert all(ip.startswith("127.") for ip in ips)


def test_anon_client_gets_a_csrf_token(app):
    client = anon_client(app)
    assert len(client.environ_base["HTTP_X_CSRFTOKEN"]) > 20
