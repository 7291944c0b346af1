"""Login, /me, CSRF, rate limits, role and status on every request (real app, PostgreSQL, Redis)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from tests.factories import DEFAULT_PASSWORD, make_user, unique_email
from tests.integration.test_auth_support import (
    anon_client,
    audit_rows,
    cookie,
    fresh_ip,
    password_login,
    rebind_limiter,
    refresh_token,
    signed_in,
    user_row,
)


@pytest.fixture(scope="module", autouse=True)
def _limits_on_this_app(app):
    rebind_limiter(app)


@pytest.fixture(scope="module", autouse=True)
def instruments(app):
    """The seed's instruments (watchlists name them)."""
    from web.cli import _upsert_instruments
    from web.extensions import db

    with app.app_context():
        _upsert_instruments()
        db.commit()


def test_login_sets_httponly_lax_cookies_and_answers_the_user(app, sql_engine):
    user = make_user(app, first_name="Grace", last_name="Hopper")
    client = anon_client(app)
    response = password_login(client, user.email)
    assert response.status_code == 200, response.json
    body = response.json["user"]
    assert body["id"] == user.id and body["email"] == user.email and body["role"] == "client"
    assert body["email_verified"] is True and body["totp_enabled"] is False
    assert body["impersonated_by"] is None
    set_cookies = response.headers.getlist("Set-Cookie")
    access = next(c for c in set_cookies if c.startswith("access_token="))
    refresh = next(c for c in set_cookies if c.startswith("refresh_token="))
    for header in (access, refresh):
        assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/api/auth" in refresh
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/api/auth/me").json["email"] == user.email
    rows = audit_rows(sql_engine, "auth.login", actor_id=user.id)
    assert rows and rows[-1]["outcome"] == "success" and rows[-1]["details"] == {"method": "password"}
    assert rows[-1]["ip"] == client.environ_base["REMOTE_ADDR"] and "Chrome" in rows[-1]["user_agent"]


def test_wrong_password_and_unknown_email_get_the_same_answer(app, sql_engine):
    user = make_user(app)
    client = anon_client(app)
    wrong = password_login(client, user.email, "not-the-password-at-all")
    unknown = password_login(client, unique_email("nobody"), "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"
    assert cookie(client, "access_token") is None
    failed = audit_rows(sql_engine, "auth.login_failed", target_id=user.id)
    assert failed[-1]["details"]["reason"] == "wrong_password" and failed[-1]["outcome"] == "failure"


def test_unverified_and_disabled_users_are_refused_after_the_password(app):
    unverified = make_user(app, verified=False)
    disabled = make_user(app, status="disabled")
    client = anon_client(app)
    response = password_login(client, unverified.email)
    assert (response.status_code, response.json["error"]["code"]) == (403, "email_not_verified")
    response = password_login(client, disabled.email)
    assert (response.status_code, response.json["error"]["code"]) == (403, "account_disabled")
    # Without the right password nothing about the account's state leaks.
    assert password_login(client, disabled.email, "wrong-password-123").json["error"]["code"] == "invalid_credentials"


def test_login_rehashes_a_password_made_with_old_parameters(app, sql_engine):
    user = make_user(app)
    old_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(DEFAULT_PASSWORD)
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET password_hash = :h WHERE id = :i"), {"h": old_hash, "i": user.id})
    assert password_login(anon_client(app), user.email).status_code == 200
    new_hash = user_row(sql_engine, user.email)["password_hash"]
    assert new_hash != old_hash and "m=47104,t=1,p=1" in new_hash


def test_email_is_matched_case_insensitively(app):
    user = make_user(app, email=unique_email("Mixed").replace("mixed", "Mixed"))
    assert password_login(anon_client(app), user.email.upper()).status_code == 200


def test_unsafe_request_without_csrf_token_is_refused_with_the_envelope(app):
    user = make_user(app)
    client = anon_client(app)
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    response = password_login(client, user.email)
    assert response.status_code == 403
    assert response.json == {
        "error": {
            "code": "csrf_failed",
            "message": response.json["error"]["message"],
        }
    }
    assert cookie(client, "access_token") is None
    client.environ_base["HTTP_X_CSRFTOKEN"] = "forged-token"
    assert password_login(client, user.email).json["error"]["code"] == "csrf_failed"


def test_signed_in_unsafe_request_needs_the_csrf_token_too(app):
    user = make_user(app)
    client = signed_in(app, user)
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    response = client.patch("/api/auth/me", json={"first_name": "Mallory"})
    assert (response.status_code, response.json["error"]["code"]) == (403, "csrf_failed")
    assert client.get("/api/auth/me").json["first_name"] == "Test"


def test_login_failures_per_email_are_limited_with_retry_after(app, sql_engine):
    user = make_user(app)
    attacker = anon_client(app)
    for _ in range(5):
        assert password_login(attacker, user.email, "guess-password-000").status_code == 401
    limited = password_login(attacker, user.email, "guess-password-000")
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # The limit follows the address, not the IP: another address from the same IP still works ...
    assert password_login(attacker, make_user(app).email).status_code == 200
    # ... and the right password from elsewhere is refused while the account's window is full.
    assert password_login(anon_client(app), user.email).status_code == 429
    lockouts = audit_rows(sql_engine, "auth.lockout", target_id=user.id)
    assert len(lockouts) == 1 and lockouts[0]["outcome"] == "denied"


def test_successful_logins_do_not_use_up_the_failure_budget(app):
    user = make_user(app)
    client = anon_client(app)
    for _ in range(7):
        assert password_login(client, user.email).status_code == 200


def test_login_per_ip_limit(app):
    client = anon_client(app)
    statuses = [password_login(client, unique_email("spray"), "whatever-password").status_code for _ in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


def test_me_needs_a_session(app):
    response = anon_client(app).get("/api/auth/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_status_and_role_are_read_on_every_request(app, sql_engine):
    user = make_user(app)
    client = signed_in(app, user)
    assert client.get("/api/admin/audit").status_code == 403
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin' WHERE id = :i"), {"i": user.id})
    assert client.get("/api/auth/me").json["role"] == "admin"
    assert client.get("/api/admin/audit").status_code == 200
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET status = 'disabled' WHERE id = :i"), {"i": user.id})
    response = client.get("/api/auth/me")
    assert (response.status_code, response.json["error"]["code"]) == (403, "account_disabled")


def test_a_client_calling_an_admin_route_is_refused_and_audited(app, sql_engine):
    user = make_user(app)
    client = signed_in(app, user)
    response = client.get("/api/admin/audit")
    assert (response.status_code, response.json["error"]["code"]) == (403, "forbidden")
    denied = audit_rows(sql_engine, "admin.access_denied", actor_id=user.id)
    assert denied and denied[-1]["outcome"] == "denied"
    assert anon_client(app).get("/api/admin/audit").status_code == 401


def test_admins_need_2fa_when_the_setting_says_so(settings):
    from web import create_app

    strict = create_app(replace(settings, admin_require_2fa=True))
    admin = make_user(strict, role="admin")
    client = signed_in(strict, admin)
    response = client.get("/api/admin/audit")
    assert (response.status_code, response.json["error"]["code"]) == (403, "admin_2fa_required")


def test_profile_update_changes_fields_and_emits_user_updated(app, sql_engine):
    user = make_user(app)
    client = signed_in(app, user)
    response = client.patch(
        "/api/auth/me",
        json={"first_name": " Ada ", "country": "DE", "preferences": {"theme": "dark", "watchlist": ["EURUSD"]}},
    )
    assert response.status_code == 200, response.json
    assert response.json["first_name"] == "Ada" and response.json["country"] == "DE"
    assert response.json["preferences"]["theme"] == "dark"
    with sql_engine.connect() as conn:
        events = (
            conn.execute(
                text(
                    "SELECT payload FROM webhook_events "
                    "WHERE type = 'user.updated' AND payload::jsonb->'data'->>'id' = :i"
                ),
                {"i": str(user.id)},
            )
            .scalars()
            .all()
        )
    assert len(events) == 1 and '"changed":["first_name","country"]' in events[0]
    assert audit_rows(sql_engine, "user.profile_updated", target_id=user.id)[-1]["details"] == {
        "fields": ["first_name", "country"]
    }


def test_profile_update_refuses_bad_input_and_changes_nothing(app):
    user = make_user(app)
    client = signed_in(app, user)
    for body, field in (
        ({"country": "Germany"}, "country"),
        ({"first_name": ""}, "first_name"),
        ({"role": "admin"}, "role"),
        ({"preferences": {"theme": "neon"}}, "preferences"),
    ):
        response = client.patch("/api/auth/me", json=body)
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "validation_error"
        assert field in response.json["error"]["fields"], response.json
    me = client.get("/api/auth/me").json
    assert me["first_name"] == "Test" and me["role"] == "client"


def test_watchlist_is_remembered_per_user(app):
    user = make_user(app)
    client = signed_in(app, user)
    default = client.get("/api/auth/me").json["preferences"]["watchlist"]
    assert "EURUSD" in default
    response = client.patch("/api/auth/me", json={"preferences": {"watchlist": ["XAUUSD", "EURUSD", "XAUUSD"]}})
    assert response.json["preferences"]["watchlist"] == ["XAUUSD", "EURUSD"]
    other_device = anon_client(app)  # a real login: factories.login would merge the stale test object back
    assert password_login(other_device, user.email).status_code == 200
    again = other_device.get("/api/auth/me").json["preferences"]
    assert again["watchlist"] == ["XAUUSD", "EURUSD"] and again["language"] == "en"
    bad = client.patch("/api/auth/me", json={"preferences": {"watchlist": ["NOPE"]}})
    assert bad.status_code == 400 and "preferences" in bad.json["error"]["fields"]


def test_refresh_cookie_is_scoped_to_auth_paths(app):
    user = make_user(app)
    client = anon_client(app, fresh_ip())
    password_login(client, user.email)
    assert refresh_token(client) is not None
    assert cookie(client, "refresh_token") is None  # not sent to the rest of the API


def test_forgot_password_is_limited_per_ip_whatever_the_addresses(app):
    client = anon_client(app)
    statuses = [
        client.post("/api/auth/forgot-password", json={"email": unique_email("probe")}).status_code for _ in range(21)
    ]
    assert statuses == [202] * 20 + [429]


def test_security_headers_on_auth_answers(app):
    headers = anon_client(app).get("/api/auth/csrf").headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
