"""The CRM service API on the real stack: API keys, clients, sessions, balance operations."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.factories import login, make_user, unique_email
from tests.integration.test_funds_helpers import (
    account_money,
    bearer,
    engine_proc,  # noqa: F401 - fixture
    events,
    ledger,
    make_key,
    open_account,
)
from tests.support import wait_for

pytestmark = pytest.mark.usefixtures("engine_proc")


@pytest.fixture(scope="module")
def keys(app) -> dict[str, str]:
    return {
        "users": make_key(app, "users"),
        "funds": make_key(app, "funds"),
        "all": make_key(app, "users", "sso", "funds", "kyc"),
    }


@pytest.fixture()
def crm(app):
    return app.test_client()


def _mail_jobs(app, to: str, template: str) -> list:
    from rq import Queue

    from workers.queues import rq_connection

    queue = Queue("mail", connection=rq_connection(app.config["SETTINGS"].redis_url))
    return [j for j in queue.get_jobs() if j.args and j.args[0]["to"] == to and j.args[0]["template"] == template]


def _new_client_body(**extra) -> dict:
    return {
        "external_id": f"crm-{uuid.uuid4().hex[:10]}",
        "email": unique_email("crm"),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "phone": "+44 20 7946 0958",
        "leverage": 200,
        "flags": {"vip": True},
        "limits": {"withdrawal_max": "1000.00"},
        **extra,
    }


def _sessions_alive(sql_engine, user_id: int) -> int:
    with sql_engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM user_sessions WHERE user_id = :u AND revoked_at IS NULL"), {"u": user_id}
        ).scalar()


# --- creating and updating clients -------------------------------------------------------------


def test_a_new_client_gets_a_live_account_and_a_set_password_mail(app, crm, keys, sql_engine):
    body = _new_client_body()
    response = crm.post("/api/crm/users", json=body, headers=bearer(keys["users"]))
    assert response.status_code == 201, response.json
    user = response.json
    assert (user["email"], user["external_id"], user["status"]) == (body["email"], body["external_id"], "active")
    assert user["has_password"] is False and user["email_verified"] is False
    assert user["flags"] == {"vip": True} and user["limits"] == {"withdrawal_max": "1000.00"}
    (account,) = user["accounts"]
    assert (account["type"], account["currency"], account["leverage"], account["balance"]) == (
        "live",
        "USD",
        200,
        "0.00",
    )
    assert user["engine_commands"][0]["status"] == "applied"
    (created,) = events(sql_engine, "user.created", id=user["id"])
    assert created["data"]["external_id"] == body["external_id"]
    with sql_engine.connect() as conn:
        purposes = conn.execute(
            text("SELECT purpose FROM one_time_tokens WHERE user_id = :u"), {"u": user["id"]}
        ).scalars()
        assert list(purposes) == ["set_password"]
    (job,) = _mail_jobs(app, body["email"], "set_password")
    assert any("/reset-password?token=" in link for link in job.args[0]["links"])


def test_posting_the_same_client_again_updates_it(crm, keys, sql_engine):
    body = _new_client_body()
    first = crm.post("/api/crm/users", json=body, headers=bearer(keys["users"])).json
    again = crm.post("/api/crm/users", json={**body, "first_name": "Augusta"}, headers=bearer(keys["users"]))
    assert again.status_code == 200, again.json
    assert again.json["id"] == first["id"] and again.json["first_name"] == "Augusta"
    assert len(again.json["accounts"]) == 1
    by_email = crm.post(
        "/api/crm/users", json={"email": body["email"].upper(), "phone": "+44 1"}, headers=bearer(keys["users"])
    )
    assert by_email.status_code == 200 and by_email.json["id"] == first["id"]
    assert by_email.json["phone"] == "+44 1"
    updates = events(sql_engine, "user.updated", id=first["id"])
    assert [e["data"]["changed"] for e in updates] == [["first_name"], ["phone"]]
    unchanged = crm.post(
        "/api/crm/users", json={"email": body["email"], "phone": "+44 1"}, headers=bearer(keys["users"])
    )
    assert unchanged.status_code == 200
    assert len(events(sql_engine, "user.updated", id=first["id"])) == 2  # nothing changed, nothing sent


def test_upsert_conflicts_are_409(app, crm, keys):
    admin = make_user(app, role="admin")
    taken = crm.post("/api/crm/users", json={"email": admin.email}, headers=bearer(keys["users"]))
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "email_taken"
    body = _new_client_body()
    crm.post("/api/crm/users", json=body, headers=bearer(keys["users"]))
    other_id = crm.post("/api/crm/users", json={**body, "external_id": "crm-other"}, headers=bearer(keys["users"]))
    assert other_id.status_code == 409
    assert other_id.json["error"]["code"] == "external_id_conflict"


def test_bad_client_payloads_are_400_with_fields(crm, keys):
    for body, field in (
        ({"first_name": "No e-mail"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": unique_email(), "leverage": 0}, "leverage"),
        ({"email": unique_email(), "country": "Germany"}, "country"),
        ({"email": unique_email(), "limits": {"withdrawal_max": 10.5}}, "limits"),
        ({"email": unique_email(), "flags": {"x": {"nested": 1}}}, "flags"),
    ):
        response = crm.post("/api/crm/users", json=body, headers=bearer(keys["users"]))
        assert response.status_code == 400, body
        assert field in response.json["error"]["fields"], (body, response.json)


def test_get_and_find_a_client(app, crm, keys):
    user = make_user(app, external_id=f"ext-{uuid.uuid4().hex[:8]}")
    account_id = open_account(app, user.id, "live", deposit="75.00")

    def _published():  # the engine publishes live figures a moment after it commits
        got = crm.get(f"/api/crm/users/{user.id}", headers=bearer(keys["users"]))
        assert got.status_code == 200
        return got.json if got.json["accounts"][0]["equity"] else None

    (account,) = wait_for(_published, timeout=10, what="live figures")["accounts"]
    assert (account["id"], account["balance"], account["equity"]) == (account_id, "75.00", "75.00")
    assert account["free_margin"] == "75.00"
    found = crm.get(f"/api/crm/users?external_id={user.external_id}", headers=bearer(keys["users"])).json
    assert [u["id"] for u in found["items"]] == [user.id]
    assert crm.get("/api/crm/users", headers=bearer(keys["users"])).status_code == 400
    admin = make_user(app, role="admin")
    assert crm.get(f"/api/crm/users/{admin.id}", headers=bearer(keys["users"])).status_code == 404
    assert crm.get("/api/crm/users/99999999", headers=bearer(keys["users"])).status_code == 404


# --- PATCH /users/<id> -------------------------------------------------------------------------


def test_disabling_a_client_ends_their_sessions_at_once(app, crm, keys, sql_engine):
    user = make_user(app)
    browser = login(app.test_client(), app, user)
    assert browser.get("/api/auth/me").status_code == 200
    response = crm.patch(f"/api/crm/users/{user.id}", json={"status": "disabled"}, headers=bearer(keys["users"]))
    assert response.status_code == 200
    assert response.json["status"] == "disabled"
    assert _sessions_alive(sql_engine, user.id) == 0
    assert browser.get("/api/auth/me").status_code in (401, 403)
    (event,) = events(sql_engine, "user.updated", id=user.id)
    assert event["data"]["changed"] == ["status"] and event["data"]["status"] == "disabled"
    again = crm.patch(f"/api/crm/users/{user.id}", json={"status": "active"}, headers=bearer(keys["users"]))
    assert again.json["status"] == "active"


def test_trading_settings_reach_every_account_through_the_engine(app, crm, keys, sql_engine):
    user = make_user(app)
    ids = {open_account(app, user.id, "live"), open_account(app, user.id, "demo", deposit="100.00")}
    body = {"trading_rights": "close_only", "leverage": 30, "margin_call_level": "120", "stop_out_level": "60.5"}
    response = crm.patch(f"/api/crm/users/{user.id}", json=body, headers=bearer(keys["users"]))
    assert response.status_code == 200, response.json
    assert {c["account_id"] for c in response.json["engine_commands"]} == ids
    assert {c["status"] for c in response.json["engine_commands"]} == {"applied"}
    with sql_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT trading_rights, leverage, margin_call_level, stop_out_level FROM accounts WHERE user_id = :u"),
            {"u": user.id},
        ).all()
    assert {tuple(r) for r in rows} == {("close_only", 30, Decimal("120.00"), Decimal("60.50"))}
    assert {a["trading_rights"] for a in response.json["accounts"]} == {"close_only"}


def test_inconsistent_levels_are_refused_before_anything_changes(app, crm, keys, sql_engine):
    user = make_user(app)
    open_account(app, user.id)
    bad = crm.patch(
        f"/api/crm/users/{user.id}",
        json={"margin_call_level": "50", "stop_out_level": "80", "status": "disabled"},
        headers=bearer(keys["users"]),
    )
    assert bad.status_code == 400
    assert "stop_out_level" in bad.json["error"]["fields"]
    too_high = crm.patch(f"/api/crm/users/{user.id}", json={"leverage": 5000}, headers=bearer(keys["users"]))
    assert too_high.status_code == 400
    with sql_engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM users WHERE id = :u"), {"u": user.id}).scalar()
    assert status == "active"


def test_limits_flags_and_the_verified_flag(app, crm, keys):
    user = make_user(app, verified=False)
    first = crm.patch(
        f"/api/crm/users/{user.id}",
        json={"limits": {"deposit_max": "500", "withdrawal_max": "100.5"}, "flags": {"vip": True, "ib": "IB-7"}},
        headers=bearer(keys["users"]),
    ).json
    assert first["limits"] == {"deposit_max": "500.00", "withdrawal_max": "100.50"}
    second = crm.patch(
        f"/api/crm/users/{user.id}",
        json={"limits": {"deposit_max": None}, "flags": {"vip": None}, "email_verified": True},
        headers=bearer(keys["users"]),
    ).json
    assert second["limits"] == {"withdrawal_max": "100.50"}
    assert second["flags"] == {"ib": "IB-7"}
    assert second["email_verified"] is True


# --- sessions and passwords ------------------------------------------------------------------


def test_force_logout_ends_every_session(app, crm, keys, sql_engine):
    user = make_user(app)
    browsers = [login(app.test_client(), app, user) for _ in range(2)]
    response = crm.post("/api/crm/force-logout", json={"user_id": user.id}, headers=bearer(keys["users"]))
    assert response.status_code == 200
    assert response.json == {"user_id": user.id, "sessions_ended": 2}
    for browser in browsers:
        ended = browser.get("/api/auth/me")
        assert ended.status_code == 401
        assert ended.json["error"]["code"] == "session_ended"
    assert (
        crm.post("/api/crm/force-logout", json={"user_id": 99999999}, headers=bearer(keys["users"])).status_code == 404
    )


def test_password_reset_sends_the_mail_and_ends_sessions(app, crm, keys, sql_engine):
    user = make_user(app)
    browser = login(app.test_client(), app, user)
    response = crm.post("/api/crm/password-reset", json={"user_id": user.id}, headers=bearer(keys["users"]))
    assert response.status_code == 200
    assert response.json["mail_sent"] is True
    assert _sessions_alive(sql_engine, user.id) == 0
    assert browser.get("/api/auth/me").status_code == 401
    (job,) = _mail_jobs(app, user.email, "reset_password")
    assert any("/reset-password?token=" in link for link in job.args[0]["links"])


# --- balance operations ------------------------------------------------------------------------


def test_a_repeated_external_id_changes_the_balance_once(app, crm, keys, sql_engine):
    user = make_user(app)
    account_id = open_account(app, user.id)
    body = {"type": "deposit", "amount": "250.00", "external_id": "wire-0001", "comment": "Wire received"}
    first = crm.post(f"/api/crm/accounts/{account_id}/balance", json=body, headers=bearer(keys["funds"]))
    second = crm.post(f"/api/crm/accounts/{account_id}/balance", json=body, headers=bearer(keys["funds"]))
    assert first.status_code == second.status_code == 200, (first.json, second.json)
    assert first.json["account"]["balance"] == "250.00"
    assert second.json["ledger"]["id"] == first.json["ledger"]["id"]
    assert account_money(sql_engine, account_id) == (250, 0)
    assert [(r.kind, r.amount) for r in ledger(sql_engine, account_id)] == [("deposit", 250)]
    same_id_other_amount = crm.post(
        f"/api/crm/accounts/{account_id}/balance", json={**body, "amount": "999.00"}, headers=bearer(keys["funds"])
    )
    assert same_id_other_amount.status_code == 200
    assert same_id_other_amount.json["duplicate"] is True
    assert account_money(sql_engine, account_id) == (250, 0)


def test_withdrawal_credit_and_correction_operations(app, crm, keys, sql_engine):
    user = make_user(app)
    account_id = open_account(app, user.id, deposit="100.00")
    url = f"/api/crm/accounts/{account_id}/balance"
    too_much = crm.post(
        url, json={"type": "withdrawal", "amount": "100.01", "external_id": "w1"}, headers=bearer(keys["funds"])
    )
    assert too_much.status_code == 422
    assert too_much.json["error"]["code"] == "insufficient_funds"
    ok = crm.post(url, json={"type": "withdrawal", "amount": "40", "external_id": "w2"}, headers=bearer(keys["funds"]))
    assert ok.status_code == 200, ok.json
    credit = crm.post(url, json={"type": "credit", "amount": "20", "external_id": "c1"}, headers=bearer(keys["funds"]))
    assert credit.json["account"]["credit"] == "20.00"
    fix = crm.post(
        url, json={"type": "correction", "amount": "-0.50", "external_id": "k1"}, headers=bearer(keys["funds"])
    )
    assert fix.status_code == 200
    assert account_money(sql_engine, account_id) == (Decimal("59.50"), 0)
    negative = crm.post(
        url, json={"type": "deposit", "amount": "-5", "external_id": "d9"}, headers=bearer(keys["funds"])
    )
    assert negative.status_code == 400
    floaty = crm.post(url, json={"type": "deposit", "amount": 5.5, "external_id": "d8"}, headers=bearer(keys["funds"]))
    assert floaty.status_code == 400
    unknown = crm.post(
        "/api/crm/accounts/99999999/balance",
        json={"type": "deposit", "amount": "1", "external_id": "x"},
        headers=bearer(keys["funds"]),
    )
    assert unknown.status_code == 404
    assert account_money(sql_engine, account_id) == (Decimal("59.50"), 0)


# --- keys and scopes -----------------------------------------------------------------------------


def test_scopes_are_enforced_and_cookies_do_not_count(app, crm, keys):
    user = make_user(app)
    account_id = open_account(app, user.id)
    balance = {"type": "deposit", "amount": "1", "external_id": "scoped"}
    cases = (
        ("post", "/api/crm/users", {"email": unique_email()}, "funds"),
        ("patch", f"/api/crm/users/{user.id}", {"status": "disabled"}, "funds"),
        ("post", "/api/crm/force-logout", {"user_id": user.id}, "funds"),
        ("post", "/api/crm/password-reset", {"user_id": user.id}, "funds"),
        ("post", f"/api/crm/accounts/{account_id}/balance", balance, "users"),
        ("patch", "/api/crm/deposits/1", {"status": "approved"}, "users"),
        ("patch", "/api/crm/withdrawals/1", {"status": "approved"}, "users"),
    )
    admin_browser = login(app.test_client(), app, make_user(app, role="admin"))
    for method, path, body, wrong in cases:
        refused = getattr(crm, method)(path, json=body, headers=bearer(keys[wrong]))
        assert refused.status_code == 403, path
        assert refused.json["error"]["code"] == "insufficient_scope"
        anonymous = getattr(crm, method)(path, json=body)
        assert anonymous.status_code == 401, path
        assert getattr(admin_browser, method)(path, json=body).status_code == 401, path
    assert crm.get(f"/api/crm/users/{user.id}", headers=bearer(keys["all"])).json["status"] == "active"


def test_a_revoked_key_stops_working_at_once(app, crm):
    from web.extensions import db
    from web.services.api_keys import find_key, parse_key, revoke_key

    key = make_key(app, "users")
    user = make_user(app)
    assert crm.get(f"/api/crm/users/{user.id}", headers=bearer(key)).status_code == 200
    with app.app_context():
        revoke_key(db, find_key(db, parse_key(key)), {"type": "system", "id": "tests"})
        db.commit()
    refused = crm.get(f"/api/crm/users/{user.id}", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "invalid_api_key"


def test_crm_actions_are_audited_with_the_key(app, crm, keys, sql_engine):
    user = make_user(app)
    crm.post("/api/crm/force-logout", json={"user_id": user.id}, headers=bearer(keys["users"]))
    with sql_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT actor_type, actor_id, ip FROM audit_logs WHERE action = 'crm.force_logout' AND target_id = :u"
            ),
            {"u": str(user.id)},
        ).one()
    assert row.actor_type == "crm" and row.actor_id.startswith("key:")


def test_openapi_has_examples_for_every_crm_payload(app):
    spec = app.test_client().get("/api/openapi.json").json
    crm_paths = {p: ops for p, ops in spec["paths"].items() if p.startswith("/api/crm/") and "webhooks" not in p}
    assert {"/api/crm/users", "/api/crm/users/{user_id}", "/api/crm/force-logout", "/api/crm/password-reset"} <= set(
        crm_paths
    )
    for path, operations in crm_paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("security") == [{"crmApiKey": []}], (path, method)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                assert "example" in body, (path, method)
