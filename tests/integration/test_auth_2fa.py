"""TOTP 2FA: setup, enabling, the second login step, replay, backup codes, limits, disabling."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.test_auth_support import (
    anon_client,
    audit_rows,
    cookie,
    password_login,
    rebind_limiter,
    signed_in,
    totp_code,
    user_row,
)

BACKUP = re.compile(r"^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$")


@pytest.fixture(scope="module", autouse=True)
def _limits_on_this_app(app):
    rebind_limiter(app)


def _enable(app, sql_engine, user=None):
    """A user with 2FA on; returns (user, signed-in client, secret, backup codes)."""
    user = user or make_user(app)
    client = signed_in(app, user)
    secret = client.post("/api/auth/2fa/setup").json["secret"]
    response = client.post("/api/auth/2fa/enable", json={"code": totp_code(sql_engine, user.id, secret)})
    assert response.status_code == 200, response.json
    return user, client, secret, response.json["backup_codes"]


def _challenge(app, user):
    client = anon_client(app)
    response = password_login(client, user.email)
    assert response.status_code == 200 and response.json["mfa_required"] is True
    return client, response.json["mfa_token"]


def _second_step(client, token, code):
    return client.post("/api/auth/login/2fa", json={"mfa_token": token, "code": code})


def test_setup_gives_a_server_made_qr_and_keeps_the_secret_sealed_and_pending(app, sql_engine):
    user = make_user(app)
    client = signed_in(app, user)
    response = client.post("/api/auth/2fa/setup")
    assert response.status_code == 200
    body = response.json
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    assert body["otpauth_uri"].startswith("otpauth://totp/") and "issuer=Trading%20Platform" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg") and "<path" in body["qr_svg"]
    assert response.headers["Cache-Control"] == "no-store"
    row = user_row(sql_engine, user.email)
    assert row["totp_enabled"] is False and row["totp_secret_enc"] is None
    assert row["totp_pending_secret_enc"] and body["secret"] not in row["totp_pending_secret_enc"]
    assert client.get("/api/auth/me").json["totp_enabled"] is False


def test_enable_needs_a_valid_code_from_the_pending_secret(app, sql_engine):
    user = make_user(app)
    client = signed_in(app, user)
    assert client.post("/api/auth/2fa/enable", json={"code": "123456"}).json["error"]["code"] == "totp_setup_required"
    client.post("/api/auth/2fa/setup")
    wrong = client.post("/api/auth/2fa/enable", json={"code": "000000"})
    assert (wrong.status_code, wrong.json["error"]["code"]) == (400, "invalid_code")
    assert user_row(sql_engine, user.email)["totp_enabled"] is False
    assert audit_rows(sql_engine, "auth.2fa_failed", target_id=user.id)


def test_enabling_gives_ten_hashed_backup_codes_and_ends_other_sessions(app, sql_engine):
    user = make_user(app)
    other_device = signed_in(app, user)
    _, client, _, codes = _enable(app, sql_engine, user)
    assert len(codes) == 10 and len(set(codes)) == 10 and all(BACKUP.match(c) for c in codes)
    with sql_engine.connect() as conn:
        stored = conn.execute(text("SELECT code_hash FROM totp_backup_codes WHERE user_id = :u"), {"u": user.id})
        hashes = stored.scalars().all()
    assert len(hashes) == 10
    assert not any(code.replace("-", "")[5:] in h for code in codes for h in hashes)
    assert all("$argon2id$" in h for h in hashes)
    assert client.get("/api/auth/me").json["totp_enabled"] is True
    assert other_device.get("/api/auth/me").json["error"]["code"] == "session_ended"
    assert audit_rows(sql_engine, "auth.2fa_enabled", target_id=user.id)
    assert client.post("/api/auth/2fa/setup").json["error"]["code"] == "totp_already_enabled"


def test_login_with_2fa_needs_the_second_step_and_a_code_works_once(app, sql_engine):
    user, _, secret, _ = _enable(app, sql_engine)
    client, token = _challenge(app, user)
    assert cookie(client, "access_token") is None
    assert client.get("/api/auth/me").status_code == 401

    wrong = _second_step(client, token, "000000")
    assert (wrong.status_code, wrong.json["error"]["code"]) == (400, "invalid_code")
    code = totp_code(sql_engine, user.id, secret)
    ok = _second_step(client, token, code)
    assert ok.status_code == 200, ok.json
    assert ok.json["user"]["id"] == user.id and client.get("/api/auth/me").status_code == 200
    assert audit_rows(sql_engine, "auth.login", actor_id=user.id)[-1]["details"] == {"method": "password+totp"}

    # The same pending login cannot be finished twice ...
    assert _second_step(client, token, code).json["error"]["code"] == "mfa_expired"
    # ... and the same code is refused in a new login (replay), which is audited.
    replay_client, replay_token = _challenge(app, user)
    replay = _second_step(replay_client, replay_token, code)
    assert (replay.status_code, replay.json["error"]["code"]) == (400, "invalid_code")
    assert audit_rows(sql_engine, "auth.2fa_replay", target_id=user.id)
    assert replay_client.get("/api/auth/me").status_code == 401


def test_backup_code_logs_in_once(app, sql_engine):
    user, _, _, codes = _enable(app, sql_engine)
    client, token = _challenge(app, user)
    typed = codes[0].upper().replace("-", " ")  # people type them in all sorts of ways
    response = _second_step(client, token, typed)
    assert response.status_code == 200, response.json
    used = audit_rows(sql_engine, "auth.backup_code_used", target_id=user.id)
    assert used[-1]["details"] == {"remaining": 9}
    again_client, again_token = _challenge(app, user)
    reused = _second_step(again_client, again_token, codes[0])
    assert (reused.status_code, reused.json["error"]["code"]) == (400, "invalid_code")
    assert _second_step(again_client, again_token, codes[1]).status_code == 200


def test_unknown_or_forged_mfa_token_is_refused(app):
    client = anon_client(app)
    response = _second_step(client, "forged-token-" + "x" * 30, "123456")
    assert (response.status_code, response.json["error"]["code"]) == (401, "mfa_expired")


def test_second_factor_attempts_are_limited_per_user(app, sql_engine):
    user, _, secret, _ = _enable(app, sql_engine)
    client, token = _challenge(app, user)
    for _ in range(4):
        assert _second_step(client, token, "000000").status_code == 400
    # The pending login dies after 5 wrong codes; the per-user limit also stops new attempts.
    client2, token2 = _challenge(app, user)
    assert _second_step(client2, token2, "000000").status_code == 400
    limited = _second_step(client2, token2, totp_code(sql_engine, user.id, secret))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.json["error"]["code"] == "rate_limited"
    assert audit_rows(sql_engine, "auth.2fa_locked")
    # The limit is per user: the same kind of attempt for another user goes through to the check.
    other, _, _, _ = _enable(app, sql_engine)
    other_client, other_token = _challenge(app, other)
    assert _second_step(other_client, other_token, "000000").status_code == 400


def test_pending_login_dies_when_the_password_changes(app, sql_engine):
    user, owner, secret, _ = _enable(app, sql_engine)
    client, token = _challenge(app, user)
    changed = owner.post(
        "/api/auth/change-password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "quiet-harbour-lantern-77"},
    )
    assert changed.status_code == 200, changed.json
    response = _second_step(client, token, totp_code(sql_engine, user.id, secret))
    assert response.json["error"]["code"] == "mfa_expired"


def test_new_backup_codes_replace_the_old_set(app, sql_engine):
    user, client, secret, old_codes = _enable(app, sql_engine)
    assert client.post("/api/auth/2fa/backup-codes", json={"code": "000000"}).status_code == 400
    response = client.post("/api/auth/2fa/backup-codes", json={"code": totp_code(sql_engine, user.id, secret)})
    assert response.status_code == 200, response.json
    new_codes = response.json["backup_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    login_client, token = _challenge(app, user)
    assert _second_step(login_client, token, old_codes[0]).json["error"]["code"] == "invalid_code"
    assert _second_step(login_client, token, new_codes[0]).status_code == 200
    assert audit_rows(sql_engine, "auth.backup_codes_regenerated", target_id=user.id)


def test_disable_needs_password_and_code(app, sql_engine):
    user, client, _, codes = _enable(app, sql_engine)
    wrong_password = client.post("/api/auth/2fa/disable", json={"password": "not-my-password!", "code": codes[0]})
    assert (wrong_password.status_code, wrong_password.json["error"]["code"]) == (400, "invalid_credentials")
    wrong_code = client.post("/api/auth/2fa/disable", json={"password": DEFAULT_PASSWORD, "code": "000000"})
    assert wrong_code.json["error"]["code"] == "invalid_code"
    assert user_row(sql_engine, user.email)["totp_enabled"] is True
    response = client.post("/api/auth/2fa/disable", json={"password": DEFAULT_PASSWORD, "code": codes[0]})
    assert response.status_code == 200, response.json
    row = user_row(sql_engine, user.email)
    assert row["totp_enabled"] is False and row["totp_secret_enc"] is None
    plain = anon_client(app)
    assert "user" in password_login(plain, user.email).json
    assert audit_rows(sql_engine, "auth.2fa_disabled", target_id=user.id)


def test_two_factor_routes_need_a_session(app):
    client = anon_client(app)
    for path in ("/api/auth/2fa/setup", "/api/auth/2fa/enable", "/api/auth/2fa/disable", "/api/auth/2fa/backup-codes"):
        response = client.post(path, json={"code": "123456", "password": "x"})
        assert response.status_code == 401, path
