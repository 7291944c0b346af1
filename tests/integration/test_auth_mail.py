"""Flows that go through the mailbox: a real `python -m workers` process delivers the mail to a
local SMTP server, and the tests follow the links found in the received messages."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.factories import DEFAULT_PASSWORD, make_user, unique_email
from tests.integration.test_auth_support import (
    STRONG_PASSWORD,
    anon_client,
    audit_rows,
    password_login,
    rebind_limiter,
    register_body,
    signed_in,
    user_row,
)
from tests.smtp import SmtpSink, html_of, links_of, smtp_sink, text_of, token_from
from tests.support import Proc, python_module, wait_for


@pytest.fixture(scope="module", autouse=True)
def _limits_on_this_app(app):
    rebind_limiter(app)


@pytest.fixture(scope="module")
def mailbox(test_env, proc_log_dir) -> Iterator[SmtpSink]:
    """An SMTP server and a worker process delivering to it, for this module."""
    with smtp_sink() as sink:
        worker = Proc("worker-mail", python_module("workers"), {**test_env, "SMTP_URL": sink.url}, proc_log_dir)
        worker.start()
        try:
            yield sink
        finally:
            worker.stop()


def _register(app, mailbox, **overrides):
    body = register_body(**overrides)
    client = anon_client(app)
    response = client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.json
    return client, body, response


def test_register_verify_and_login_through_the_mailbox(app, mailbox, sql_engine, redis_client):
    client, body, response = _register(app, mailbox)
    assert response.json == {"message": "Check your inbox: we sent a link to confirm your e-mail address."}
    user = user_row(sql_engine, body["email"])
    assert user["role"] == "client" and user["email_verified_at"] is None
    assert user["password_hash"].startswith("$argon2id$") and body["password"] not in user["password_hash"]

    mail = mailbox.wait_for(body["email"], "Confirm your e-mail")
    assert mail["From"] and "Trading Platform" in str(mail["Subject"])
    assert "Hello Ada" in text_of(mail) and "<a href=" in html_of(mail)
    link = links_of(mail)[0]
    assert link.startswith("http://127.0.0.1:8000/verify-email?token=")
    token = token_from(mail, "/verify-email")
    assert len(token) >= 43  # 256 bits, URL-safe base64

    assert password_login(client, body["email"], body["password"]).json["error"]["code"] == "email_not_verified"
    verified = client.post("/api/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.json
    assert password_login(client, body["email"], body["password"]).status_code == 200
    assert client.get("/api/auth/me").json["email_verified"] is True

    again = client.post("/api/auth/verify-email", json={"token": token})
    assert (again.status_code, again.json["error"]["code"]) == (400, "invalid_token")
    assert audit_rows(sql_engine, "auth.email_verify_failed", target_id=user["id"])[-1]["details"] == {"reason": "used"}

    with sql_engine.connect() as conn:
        types = (
            conn.execute(
                text("SELECT type FROM webhook_events WHERE payload::jsonb->'data'->>'id' = :i ORDER BY id"),
                {"i": str(user["id"])},
            )
            .scalars()
            .all()
        )
        stored = conn.execute(text("SELECT token_hash FROM one_time_tokens WHERE user_id = :i"), {"i": user["id"]})
        assert token not in stored.scalars().all()
    assert types == ["user.created", "email.verified"]
    assert audit_rows(sql_engine, "auth.register", target_id=user["id"])
    assert audit_rows(sql_engine, "auth.email_verified", target_id=user["id"])

    commands = [fields for _, fields in redis_client.xrange("engine:commands:0")]
    opened = [c for c in commands if c["command_id"] == f"open-live-{user['id']}"]
    assert len(opened) == 1 and opened[0]["type"] == "open_account"
    assert json.loads(opened[0]["payload"]) == {
        "user_id": user["id"],
        "type": "live",
        "currency": "USD",
        "leverage": 100,
    }


def test_registering_a_taken_address_answers_the_same_and_mails_the_owner(app, mailbox, sql_engine):
    owner = make_user(app, first_name="Owner")
    client = anon_client(app)
    fresh = client.post("/api/auth/register", json=register_body())
    taken = client.post("/api/auth/register", json=register_body(owner.email.upper(), first_name="Eve"))
    assert fresh.status_code == taken.status_code == 201
    assert fresh.json == taken.json
    notice = mailbox.wait_for(owner.email, "tried to register")
    assert "Hello Owner" in text_of(notice) and "/verify-email" not in text_of(notice)
    with sql_engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM users WHERE lower(email) = lower(:e)"), {"e": owner.email})
        assert count.scalar() == 1
    assert audit_rows(sql_engine, "auth.register_duplicate", target_id=owner.id)


def test_registering_again_while_unverified_mails_a_fresh_link(app, mailbox):
    client, body, _ = _register(app, mailbox)
    first = token_from(mailbox.wait_for(body["email"], "Confirm"), "/verify-email")
    client.post("/api/auth/register", json=body)
    notice = mailbox.wait_for(body["email"], "tried to register")
    second = token_from(notice, "/verify-email")
    assert client.post("/api/auth/verify-email", json={"token": first}).status_code == 400  # voided by the new one
    assert client.post("/api/auth/verify-email", json={"token": second}).status_code == 200


def test_weak_and_short_passwords_are_refused_at_registration(app, mailbox, sql_engine):
    client = anon_client(app)
    email = unique_email("weak")
    for password, code in (
        ("short-pw", "validation_error"),
        ("password1234", "weak_password"),
        ("qwertyuiop123", "weak_password"),
        ("aaaaaaaaaaaaaaaa", "weak_password"),
        ("AdaLovelace2024!", "weak_password"),
    ):
        response = client.post("/api/auth/register", json=register_body(email, password=password))
        assert response.status_code == 400, password
        assert response.json["error"]["code"] == code, (password, response.json)
        assert "password" in response.json["error"]["fields"]
    with sql_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users WHERE email = :e"), {"e": email}).scalar() == 0


def test_resend_verification_answers_202_always_and_voids_the_old_link(app, mailbox):
    client, body, _ = _register(app, mailbox)
    first = token_from(mailbox.wait_for(body["email"], "Confirm"), "/verify-email")
    unknown = client.post("/api/auth/resend-verification", json={"email": unique_email("ghost")})
    known = client.post("/api/auth/resend-verification", json={"email": body["email"]})
    assert unknown.status_code == known.status_code == 202 and unknown.json == known.json
    second = token_from(mailbox.wait_for(body["email"], "Confirm", count=2), "/verify-email")
    assert first != second
    assert client.post("/api/auth/verify-email", json={"token": first}).json["error"]["code"] == "invalid_token"
    assert client.post("/api/auth/verify-email", json={"token": second}).status_code == 200


def test_expired_verification_link_is_refused(app, mailbox, sql_engine):
    client, body, _ = _register(app, mailbox)
    token = token_from(mailbox.wait_for(body["email"], "Confirm"), "/verify-email")
    with sql_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' "
                "WHERE user_id = (SELECT id FROM users WHERE email = :e)"
            ),
            {"e": body["email"]},
        )
    response = client.post("/api/auth/verify-email", json={"token": token})
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_token")
    user_id = user_row(sql_engine, body["email"])["id"]
    assert audit_rows(sql_engine, "auth.email_verify_failed", target_id=user_id)[-1]["details"] == {"reason": "expired"}


def test_forgot_and_reset_password_through_the_mailbox(app, mailbox, sql_engine):
    user = make_user(app, first_name="Reset")
    old_session = signed_in(app, user)
    client = anon_client(app)
    ghost = unique_email("ghost")
    unknown = client.post("/api/auth/forgot-password", json={"email": ghost})
    known = client.post("/api/auth/forgot-password", json={"email": user.email})
    assert unknown.status_code == known.status_code == 202 and unknown.json == known.json

    mail = mailbox.wait_for(user.email, "Reset your password")
    assert "expires in 30 minutes" in text_of(mail)
    token = token_from(mail, "/reset-password")
    assert mailbox.to(ghost) == []  # the worker delivers in order: the ghost's mail would have come first

    weak = client.post("/api/auth/reset-password", json={"token": token, "password": "password12345"})
    assert (weak.status_code, weak.json["error"]["code"]) == (400, "weak_password")
    reset = client.post("/api/auth/reset-password", json={"token": token, "password": STRONG_PASSWORD})
    assert reset.status_code == 200, reset.json
    assert "access_token" not in reset.headers.get("Set-Cookie", "")  # no automatic login

    assert old_session.get("/api/auth/me").json["error"]["code"] == "session_ended"
    assert password_login(client, user.email, DEFAULT_PASSWORD).status_code == 401
    assert password_login(client, user.email, STRONG_PASSWORD).status_code == 200
    reused = client.post("/api/auth/reset-password", json={"token": token, "password": "another-good-phrase-99"})
    assert (reused.status_code, reused.json["error"]["code"]) == (400, "invalid_token")
    notice = mailbox.wait_for(user.email, "Security notice")
    assert "password of your account was changed" in text_of(notice)
    assert audit_rows(sql_engine, "auth.password_reset_requested", target_id=user.id)
    assert audit_rows(sql_engine, "auth.password_reset", target_id=user.id)


def test_reset_link_is_bound_to_the_address_it_was_sent_to(app, mailbox, sql_engine):
    user = make_user(app)
    client = anon_client(app)
    client.post("/api/auth/forgot-password", json={"email": user.email})
    token = token_from(mailbox.wait_for(user.email, "Reset your password"), "/reset-password")
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET email = :e WHERE id = :i"), {"e": unique_email("moved"), "i": user.id})
    response = client.post("/api/auth/reset-password", json={"token": token, "password": STRONG_PASSWORD})
    assert response.json["error"]["code"] == "invalid_token"
    assert audit_rows(sql_engine, "auth.password_reset_failed", target_id=user.id)[-1]["details"] == {
        "reason": "email_changed"
    }


def test_a_verification_token_does_not_reset_a_password(app, mailbox):
    client, body, _ = _register(app, mailbox)
    token = token_from(mailbox.wait_for(body["email"], "Confirm"), "/verify-email")
    response = client.post("/api/auth/reset-password", json={"token": token, "password": "another-good-phrase-99"})
    assert response.json["error"]["code"] == "invalid_token"
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200


def test_crm_password_reset_ends_sessions_and_mails_a_link(app, mailbox, sql_engine):
    from models import User
    from web.extensions import db
    from web.services.auth import send_password_reset

    user = make_user(app)
    session = signed_in(app, user)
    with app.test_request_context("/api/crm/password-reset", method="POST"):
        send_password_reset(db.get(User, user.id), initiated_by="crm:key:1")
        db.remove()
    assert session.get("/api/auth/me").json["error"]["code"] == "session_ended"
    mail = mailbox.wait_for(user.email, "Reset your password")
    assert "support team" in text_of(mail)
    token = token_from(mail, "/reset-password")
    client = anon_client(app)
    assert (
        client.post("/api/auth/reset-password", json={"token": token, "password": STRONG_PASSWORD}).status_code == 200
    )
    rows = audit_rows(sql_engine, "auth.password_reset_requested", target_id=user.id)
    assert rows[-1]["details"]["initiated_by"] == "crm:key:1"


def test_crm_created_user_sets_a_first_password_from_the_mail(app, mailbox, sql_engine):
    from models import User
    from web.extensions import db
    from web.services.auth import send_set_password_mail

    user = make_user(app, verified=False)
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET password_hash = NULL WHERE id = :i"), {"i": user.id})
    client = anon_client(app)
    assert password_login(client, user.email).json["error"]["code"] == "invalid_credentials"
    with app.test_request_context("/api/crm/users", method="POST"):
        send_set_password_mail(db.get(User, user.id))
        db.remove()
    mail = mailbox.wait_for(user.email, "Set your password")
    assert "72 hours" in text_of(mail)
    token = token_from(mail, "/reset-password")
    assert (
        client.post("/api/auth/reset-password", json={"token": token, "password": STRONG_PASSWORD}).status_code == 200
    )
    assert password_login(client, user.email, STRONG_PASSWORD).status_code == 200  # the link proved the address


def test_lockout_is_mailed_to_the_owner_once(app, mailbox):
    user = make_user(app)
    attacker = anon_client(app)
    for _ in range(5):
        password_login(attacker, user.email, "guess-password-000")
    assert password_login(attacker, user.email, "guess-password-000").status_code == 429
    assert password_login(attacker, user.email, "guess-password-000").status_code == 429
    notice = mailbox.wait_for(user.email, "Security notice")
    assert "signing in is paused" in text_of(notice)
    # One notice for the whole lockout, however many refused attempts follow.
    client = anon_client(app)
    client.post("/api/auth/forgot-password", json={"email": user.email})
    mailbox.wait_for(user.email, "Reset your password")
    assert len([m for m in mailbox.to(user.email) if "Security notice" in str(m["Subject"])]) == 1


def test_forgot_password_is_limited_per_address(app, mailbox):
    user = make_user(app)
    statuses = [
        anon_client(app).post("/api/auth/forgot-password", json={"email": user.email}).status_code for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    wait_for(lambda: len(mailbox.to(user.email)) == 3, what="three reset mails")


def test_register_is_limited_per_ip(app, mailbox):
    client = anon_client(app)
    statuses = [client.post("/api/auth/register", json=register_body()).status_code for _ in range(11)]
    assert statuses == [201] * 10 + [429]
