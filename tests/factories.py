"""Test data made through the real models and the real session code (no mocks of our own parts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

from flask import Flask, Response
from flask.testing import FlaskClient

from models import User

DEFAULT_PASSWORD = "Correct-Horse-Battery-9"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def make_user(
    app: Flask,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: str = "client",
    verified: bool = True,
    status: str = "active",
    **fields: Any,
) -> User:
    """Insert a user (password hashed with the real hasher) and return it, detached."""
    from web.extensions import db
    from web.services.passwords import hash_password

    with app.app_context():
        user = User(
            email=email or unique_email(),
            password_hash=hash_password(password),
            first_name=fields.pop("first_name", "Test"),
            last_name=fields.pop("last_name", "User"),
            role=role,
            status=status,
            email_verified_at=datetime.now(UTC) if verified else None,
            flags={},
            limits={},
            preferences={},
            **fields,
        )
        db.add(user)
        db.commit()
        db.refresh(user)
        db.expunge(user)
        return user


def session_cookies(app: Flask, user: User, **kwargs: Any) -> dict[str, tuple[str, str]]:
    """Start a real session for the user; return {cookie name: (value, path)}."""
    from web.extensions import db
    from web.security import start_session

    with app.test_request_context("/api/auth/login", method="POST", environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        response = Response()
        attached = db.get(User, user.id)
        assert attached is not None
        start_session(response, attached, **kwargs)
        db.commit()
        cookies: dict[str, tuple[str, str]] = {}
        for header in response.headers.getlist("Set-Cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                cookies[name] = (morsel.value, morsel["path"] or "/")
        db.remove()
        return cookies


def login(client: FlaskClient, app: Flask, user: User, **kwargs: Any) -> FlaskClient:
    """Sign the test client in as the user (cookies of a real session) and give it a CSRF token."""
    for name, (value, path) in session_cookies(app, user, **kwargs).items():
        client.set_cookie(name, value, path=path)
    csrf = client.get("/api/auth/csrf")
    if csrf.status_code == 200:
        client.environ_base["HTTP_X_CSRFTOKEN"] = (csrf.json or {})["csrf_token"]
    return client
