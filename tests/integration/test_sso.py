"""SSO impersonation from the CRM: the hand-off request, the single-use link, the capped session."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import text

from tests.factories import make_user

SSO_SECRET = "test-crm-sso-secret-0123456789abcdef0123"
ADMIN = "crm-admin-7"


@pytest.fixture(scope="module")
def sso_app(settings):
    from web import create_app

    application = create_app(replace(settings, crm_sso_secret=SSO_SECRET))
    application.config["TESTING"] = True
    return application


@pytest.fixture(scope="module")
def keys(sso_app) -> dict[str, str]:
    from web.extensions import db
    from web.services.api_keys import create_key

    made = {}
    with sso_app.app_context():
        for name, scopes in (("sso", ["sso"]), ("users", ["users", "funds", "kyc"])):
            _, made[name] = create_key(db, f"sso test {name}", scopes, {"type": "system", "id": "tests"})
        db.commit()
    return made


@pytest.fixture()
def victim(sso_app):
    return make_user(sso_app, first_name="Grace")


def service_jwt(secret: str = SSO_SECRET, lifetime: int = 30, **claims) -> str:
    now = int(time.time())
    body = {"aud": "platform-sso", "iss": "crm", "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
    body.update(claims)
    return jwt.encode(body, secret, algorithm="HS256")


def random_ip() -> str:
    """Each test speaks from its own address, so per-IP rate limits never couple tests."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def browser(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = random_ip()
    return client


def impersonate(app, bearer: str, user_id: int, reason: str = "Ticket #5521: cannot close a position", ip=None):
    body = {"admin_id": ADMIN, "user_id": user_id, "reason": reason}
    return app.test_client().post(
        "/api/sso/impersonate",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
        environ_base={"REMOTE_ADDR": ip or random_ip()},
    )


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def sessions_of(sql_engine, user_id: int) -> list:
    with sql_engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id, impersonator_id, impersonation_reason, created_at, expires_at, ip "
                    "FROM user_sessions WHERE user_id = :u ORDER BY created_at"
                ),
                {"u": user_id},
            )
        )


def audit_rows(sql_engine, action: str, target_id: int | None = None) -> list:
    query = "SELECT actor_type, actor_id, impersonator_id, target_id, ip, outcome, details FROM audit_logs "
    query += "WHERE action = :a" + (" AND target_id = :t" if target_id is not None else "") + " ORDER BY id"
    with sql_engine.connect() as conn:
        return list(conn.execute(text(query), {"a": action, "t": str(target_id)}))


def test_service_jwt_hand_off_signs_the_admin_in_as_the_client(sso_app, victim, sql_engine):
    before = datetime.now(UTC)
    response = impersonate(sso_app, service_jwt(), victim.id)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["url"] == f"http://127.0.0.1:8000/api/sso/consume?token={body['token']}"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(seconds=110) <= expires_at <= datetime.now(UTC) + timedelta(seconds=120)
    assert response.headers["Cache-Control"] == "no-store"
    with sql_engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM sso_tokens WHERE user_id = :u"), {"u": victim.id}).scalar()
    assert stored != body["token"] and len(stored) == 64  # only the hash is kept

    client = browser(sso_app)
    landed = client.get(f"/api/sso/consume?token={body['token']}", environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert landed.status_code == 303
    assert urlsplit(landed.headers["Location"]).path == "/"
    assert landed.headers["Referrer-Policy"] == "no-referrer"
    assert landed.headers["Cache-Control"] == "no-store"
    (session,) = sessions_of(sql_engine, victim.id)
    assert session.impersonator_id == ADMIN
    assert session.ip == "192.0.2.44"
    assert session.expires_at - session.created_at <= timedelta(minutes=60)

    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json["id"] == victim.id
    assert me.json["impersonated_by"] == ADMIN


def test_the_link_works_once_and_never_again(sso_app, victim, sql_engine):
    url = impersonate(sso_app, service_jwt(), victim.id).json["url"]
    path = url.removeprefix("http://127.0.0.1:8000")
    assert browser(sso_app).get(path).status_code == 303
    assert len(sessions_of(sql_engine, victim.id)) == 1
    for _ in range(2):
        again = browser(sso_app).get(path)
        assert again.status_code == 410
        assert again.mimetype == "text/html"
        assert "already used" in again.get_data(as_text=True)
        assert "Set-Cookie" not in again.headers
        assert again.headers["Referrer-Policy"] == "no-referrer"
    assert len(sessions_of(sql_engine, victim.id)) == 1
    failed = audit_rows(sql_engine, "sso.consume_failed", victim.id)
    assert [r.details["why"] for r in failed] == ["used", "used"]


def test_an_expired_link_is_refused_and_creates_nothing(sso_app, victim, sql_engine):
    token = impersonate(sso_app, service_jwt(), victim.id).json["token"]
    with sql_engine.begin() as conn:  # two minutes pass
        conn.execute(
            text("UPDATE sso_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u"), {"u": victim.id}
        )
    response = browser(sso_app).get(f"/api/sso/consume?token={token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert sessions_of(sql_engine, victim.id) == []


def test_an_unknown_or_missing_token_gets_the_error_page(sso_app):
    for path in ("/api/sso/consume?token=not-a-real-token", "/api/sso/consume", "/api/sso/consume?token=" + "x" * 500):
        response = browser(sso_app).get(path)
        assert response.status_code == 400, path
        assert response.mimetype == "text/html"
        assert "not valid" in response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers


def test_impersonation_session_blocks_money_out_and_credential_changes(sso_app, victim):
    token = impersonate(sso_app, service_jwt(), victim.id).json["token"]
    client = browser(sso_app)
    assert client.get(f"/api/sso/consume?token={token}").status_code == 303
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/auth/csrf").json["csrf_token"]
    withdrawal = {"account_id": 1, "amount": "10.00", "currency": "USD", "method": "bank_transfer"}
    for path, body in (
        ("/api/withdrawals", withdrawal),
        ("/api/auth/change-password", {"current_password": "x" * 12, "new_password": "y" * 16}),
        ("/api/auth/2fa/setup", {}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 403, (path, response.json)
        assert response.json["error"]["code"] == "impersonation_forbidden"
    assert client.get("/api/kyc/documents").status_code == 200  # reading is fine


def test_the_session_cannot_be_refreshed_past_sixty_minutes(sso_app, victim, sql_engine):
    token = impersonate(sso_app, service_jwt(), victim.id).json["token"]
    client = browser(sso_app)
    client.get(f"/api/sso/consume?token={token}")
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/auth/csrf").json["csrf_token"]
    assert client.post("/api/auth/refresh").status_code == 200
    with sql_engine.begin() as conn:  # the hour is over
        conn.execute(
            text("UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = :u"),
            {"u": victim.id},
        )
    refused = client.post("/api/auth/refresh")
    assert refused.status_code == 401
    assert client.get("/api/auth/me").status_code == 401


def test_every_step_is_audited_with_admin_client_ip_and_reason(sso_app, victim, sql_engine):
    reason = "Ticket #9001: verify margin figures"
    token = impersonate(sso_app, service_jwt(), victim.id, reason=reason, ip="10.9.8.7").json["token"]
    browser(sso_app).get(f"/api/sso/consume?token={token}", environ_base={"REMOTE_ADDR": "198.51.100.5"})
    (requested,) = audit_rows(sql_engine, "sso.impersonation_requested", victim.id)
    assert requested.actor_type == "crm"
    assert requested.ip == "10.9.8.7"
    assert requested.details["admin_id"] == ADMIN
    assert requested.details["reason"] == reason
    assert requested.details["via"] == "service_jwt"
    (started,) = audit_rows(sql_engine, "sso.impersonation_started", victim.id)
    assert (started.actor_type, started.actor_id) == ("crm_admin", ADMIN)
    assert started.ip == "198.51.100.5"
    assert started.details["reason"] == reason
    assert started.details["admin_id"] == ADMIN
    assert started.details["session_id"] == str(sessions_of(sql_engine, victim.id)[0].id)


def test_a_service_jwt_is_single_use(sso_app, victim):
    token = service_jwt()
    assert impersonate(sso_app, token, victim.id).status_code == 201
    replay = impersonate(sso_app, token, victim.id)
    assert replay.status_code == 401
    assert replay.json["error"]["code"] == "invalid_service_token"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: service_jwt(lifetime=61), "lives longer than 60 s"),
        (lambda: service_jwt(lifetime=-10), "expired"),
        (lambda: service_jwt(secret="another-secret-0123456789abcdef0123456"), "wrong secret"),
        (lambda: service_jwt(aud="someone-else"), "wrong audience"),
        (lambda: service_jwt(jti="short"), "jti too short"),
        (lambda: service_jwt(iat=int(time.time()) + 600, exp=int(time.time()) + 630), "issued in the future"),
        (lambda: jwt.encode({"aud": "platform-sso", "jti": uuid.uuid4().hex}, SSO_SECRET), "no exp/iat"),
        (
            lambda: jwt.encode(
                {"aud": "platform-sso", "iat": int(time.time()), "exp": int(time.time()) + 30, "jti": uuid.uuid4().hex},
                "",
                algorithm="none",
            ),
            "alg none",
        ),
    ],
)
def test_bad_service_jwts_are_refused(sso_app, victim, sql_engine, make, why):
    response = impersonate(sso_app, make(), victim.id)
    assert response.status_code == 401, why
    assert response.json["error"]["code"] in ("invalid_service_token", "invalid_api_key"), why
    with sql_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_tokens WHERE user_id = :u"), {"u": victim.id}).scalar() == 0


def test_service_jwts_are_refused_when_no_secret_is_configured(app, victim):
    response = impersonate(app, service_jwt(), victim.id)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_service_token"


def test_an_api_key_with_the_sso_scope_works_and_others_do_not(sso_app, victim, keys, sql_engine):
    ok = impersonate(sso_app, keys["sso"], victim.id)
    assert ok.status_code == 201
    (requested,) = audit_rows(sql_engine, "sso.impersonation_requested", victim.id)
    assert requested.details["via"] == "api_key"
    assert requested.actor_id.startswith("key:")
    wrong_scope = impersonate(sso_app, keys["users"], victim.id)
    assert wrong_scope.status_code == 403
    assert wrong_scope.json["error"]["code"] == "insufficient_scope"
    nothing = browser(sso_app).post("/api/sso/impersonate", json={"admin_id": ADMIN, "user_id": victim.id})
    assert nothing.status_code == 401
    garbage = impersonate(sso_app, "bkr_not_a_key", victim.id)
    assert garbage.status_code == 401


def test_only_active_clients_can_be_targets(sso_app, keys):
    admin = make_user(sso_app, role="admin")
    disabled = make_user(sso_app, status="disabled")
    assert impersonate(sso_app, keys["sso"], admin.id).status_code == 404
    assert impersonate(sso_app, keys["sso"], 987654321).status_code == 404
    inactive = impersonate(sso_app, keys["sso"], disabled.id)
    assert inactive.status_code == 422
    assert inactive.json["error"]["code"] == "user_inactive"


def test_a_client_disabled_after_the_link_was_made_is_not_signed_in(sso_app, victim, keys, sql_engine):
    token = impersonate(sso_app, keys["sso"], victim.id).json["token"]
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET status = 'disabled' WHERE id = :u"), {"u": victim.id})
    response = browser(sso_app).get(f"/api/sso/consume?token={token}")
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    assert sessions_of(sql_engine, victim.id) == []


def test_bad_impersonation_requests_get_400_with_fields(sso_app, victim, keys):
    for body, field in (
        ({"admin_id": ADMIN, "user_id": victim.id}, "reason"),
        ({"admin_id": ADMIN, "user_id": victim.id, "reason": "x"}, "reason"),
        ({"user_id": victim.id, "reason": "looking"}, "admin_id"),
        ({"admin_id": ADMIN, "user_id": "42", "reason": "looking"}, "user_id"),
    ):
        response = browser(sso_app).post(
            "/api/sso/impersonate", json=body, headers={"Authorization": f"Bearer {keys['sso']}"}
        )
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "validation_error"
        assert field in response.json["error"]["fields"]


def test_openapi_documents_the_sso_payloads_with_examples(sso_app):
    spec = browser(sso_app).get("/api/openapi.json").json
    post = spec["paths"]["/api/sso/impersonate"]["post"]
    assert post["requestBody"]["content"]["application/json"]["example"]["admin_id"] == "crm-admin-7"
    assert "example" in post["responses"]["201"]["content"]["application/json"]
    assert "/api/sso/consume" in spec["paths"]
