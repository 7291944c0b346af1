"""CRM API keys: created by the CLI and shown once, stored hashed, scoped, revocable, rate-limited, audited."""

import hashlib
import subprocess
import sys
from dataclasses import replace

import pytest
from sqlalchemy import select

from models import ApiKey, AuditLog
from tests.factories import login, make_user
from tests.support import ROOT
from web import create_app
from web.services.api_keys import generate_key, parse_key


def _create_key(app, scopes="users,funds", name="crm-test"):
    result = app.test_cli_runner().invoke(args=["crm", "create-key", "--name", name, "--scopes", scopes])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _bearer(key):
    return {"Authorization": f"Bearer {key}"}


def _key_row(db_session, key):
    db_session.expire_all()
    return db_session.execute(select(ApiKey).where(ApiKey.prefix == parse_key(key))).scalar_one()


def _audit_rows(db_session, action, target_id):
    db_session.expire_all()
    return (
        db_session.execute(
            select(AuditLog)
            .where(AuditLog.action == action, AuditLog.target_id == str(target_id))
            .order_by(AuditLog.id)
        )
        .scalars()
        .all()
    )


def test_key_format_carries_a_checksum():
    key_id, key = generate_key()
    assert key.startswith(f"bkr_{key_id}_") and parse_key(key) == key_id
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert parse_key(tampered) is None
    assert parse_key("bkr_short_x") is None and parse_key("Bearer nonsense") is None


def test_cli_prints_the_key_once_as_its_last_line_and_stores_only_a_hash(test_env, client, db_session):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "crm",
            "create-key",
            "--name",
            "crm-prod",
            "--scopes",
            "users,kyc",
        ],
        cwd=ROOT,
        env=test_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = out.stdout.strip().splitlines()[-1]
    assert parse_key(key) is not None
    row = _key_row(db_session, key)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in row.key_hash
    assert row.scopes == ["kyc", "users"] and row.name == "crm-prod"
    answer = client.get("/api/crm/whoami", headers=_bearer(key))
    assert answer.status_code == 200
    assert answer.json["id"] == row.id and answer.json["scopes"] == ["kyc", "users"]
    assert _audit_rows(db_session, "api_key.created", row.id)


def test_unknown_scopes_are_refused_and_nothing_is_created(app, db_session):
    before = db_session.execute(select(ApiKey.id)).all()
    result = app.test_cli_runner().invoke(args=["crm", "create-key", "--name", "x", "--scopes", "users,everything"])
    assert result.exit_code != 0 and "unknown scopes" in result.output
    assert db_session.execute(select(ApiKey.id)).all() == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer " + generate_key()[1]},  # well-formed, never issued
    ],
)
def test_missing_malformed_or_unknown_keys_get_401(client, headers):
    answer = client.get("/api/crm/deposits", headers=headers)
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "invalid_api_key"
    assert "WWW-Authenticate" in answer.headers


def test_cookies_of_a_signed_in_admin_are_not_a_key(app):
    admin = make_user(app, role="admin")
    browser = login(app.test_client(), app, admin)
    answer = browser.get("/api/crm/deposits")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_api_key"


def test_a_key_without_the_scope_gets_403_and_the_refusal_is_audited(app, client, db_session):
    key = _create_key(app, scopes="users")
    answer = client.get("/api/crm/deposits", headers=_bearer(key))
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "insufficient_scope"
    row = _key_row(db_session, key)
    refused = _audit_rows(db_session, "api_key.refused", row.id)
    assert refused and refused[-1].details["reason"] == "scope" and refused[-1].outcome == "denied"
    assert client.get("/api/crm/users?email=nobody@example.test", headers=_bearer(key)).status_code == 200


def test_a_revoked_key_stops_working_at_once(app, client, db_session):
    key = _create_key(app, scopes="funds")
    assert client.get("/api/crm/deposits", headers=_bearer(key)).status_code == 200
    row = _key_row(db_session, key)
    result = app.test_cli_runner().invoke(args=["crm", "revoke-key", f"bkr_{row.prefix}_…"])
    assert result.exit_code == 0 and "revoked" in result.output
    answer = client.get("/api/crm/deposits", headers=_bearer(key))
    assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_api_key"
    assert _audit_rows(db_session, "api_key.revoked", row.id)
    assert _audit_rows(db_session, "api_key.refused", row.id)[-1].details["reason"] == "revoked"
    listing = app.test_cli_runner().invoke(args=["crm", "list-keys"]).output
    assert (
        f"{row.id}\tbkr_{row.prefix}_…" in listing
        and "revoked" in listing.split(f"bkr_{row.prefix}")[1].splitlines()[0]
    )


def test_each_use_is_audited_and_last_used_time_and_ip_are_kept(app, db_session):
    key = _create_key(app, scopes="funds")
    assert _key_row(db_session, key).last_used_at is None
    c = app.test_client()
    c.get("/api/crm/deposits", headers=_bearer(key), environ_base={"REMOTE_ADDR": "203.0.113.7"})
    row = _key_row(db_session, key)
    assert row.last_used_at is not None and row.last_used_ip == "203.0.113.7"
    c.get("/api/crm/withdrawals", headers=_bearer(key), environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert _key_row(db_session, key).last_used_ip == "198.51.100.9"
    used = _audit_rows(db_session, "api_key.used", row.id)
    assert [u.details["path"] for u in used] == ["/api/crm/deposits", "/api/crm/withdrawals"]
    assert {u.actor_id for u in used} == {f"key:{row.id}"} and used[0].ip == "203.0.113.7"


def test_actions_are_attributed_to_the_key(app, client, db_session):
    key = _create_key(app, scopes="users")
    user = make_user(app)
    answer = client.post("/api/crm/force-logout", json={"user_id": user.id}, headers=_bearer(key))
    assert answer.status_code == 200, answer.json
    row = _key_row(db_session, key)
    db_session.expire_all()
    action = db_session.execute(
        select(AuditLog).where(AuditLog.action == "crm.force_logout", AuditLog.target_id == str(user.id))
    ).scalar_one()
    assert (action.actor_type, action.actor_id) == ("crm", f"key:{row.id}")


@pytest.fixture(scope="module")
def limited_app(settings):
    application = create_app(replace(settings, crm_api_rate_limit="3/minute"))
    application.config["TESTING"] = True
    return application


def test_rate_limit_applies_per_key_across_routes(limited_app, db_session):
    first, second = _create_key(limited_app, scopes="funds"), _create_key(limited_app, scopes="funds")
    c = limited_app.test_client()
    answers = [
        c.get(path, headers=_bearer(first)).status_code
        for path in ("/api/crm/deposits", "/api/crm/withdrawals", "/api/crm/deposits")
    ]
    assert answers == [200, 200, 200]
    refused = c.get("/api/crm/withdrawals", headers=_bearer(first))
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert c.get("/api/crm/deposits", headers=_bearer(second)).status_code == 200
    row = _key_row(db_session, first)
    assert _audit_rows(db_session, "api_key.rate_limited", row.id)
    assert len(_audit_rows(db_session, "api_key.used", row.id)) == 3
