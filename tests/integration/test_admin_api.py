"""Admin API: only admins get in; the audit log filters, pages, exports CSV safely and shows the chain state."""

import csv
import io
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import text

from common.audit import AuditEntry, write_audit
from tests.factories import login, make_user
from web import create_app

ADMIN_GETS = [
    "/api/admin/audit",
    "/api/admin/audit/chain",
    "/api/admin/audit/1",
    "/api/admin/audit.csv",
    "/api/admin/users",
    "/api/admin/users/1",
    "/api/admin/impersonations",
    "/api/admin/system",
]
ADMIN_POSTS = ["/api/admin/users/1/disable", "/api/admin/users/1/enable", "/api/admin/users/1/end-sessions"]


@pytest.fixture()
def admin_client(app):
    admin = make_user(app, role="admin")
    return login(app.test_client(), app, admin), admin


@pytest.fixture()
def client_user(app):
    user = make_user(app)
    return login(app.test_client(), app, user), user


def test_anonymous_gets_401_on_every_admin_route(client):
    for path in ADMIN_GETS:
        assert client.get(path).status_code == 401, path


def test_client_gets_403_on_every_admin_route(client_user):
    c, _ = client_user
    for path in ADMIN_GETS:
        response = c.get(path)
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "forbidden"
    for path in ADMIN_POSTS:
        assert c.post(path, json={}).status_code == 403, path


def test_admin_without_2fa_is_refused_when_required(settings):
    strict = create_app(replace(settings, admin_require_2fa=True))
    admin = make_user(strict, role="admin")
    c = login(strict.test_client(), strict, admin)
    response = c.get("/api/admin/audit")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "admin_2fa_required"


def _audit_rows(sql_engine, user_id: str, ip: str = "10.1.1.1"):
    with sql_engine.begin() as conn:
        write_audit(
            conn,
            [
                AuditEntry(
                    "auth.login",
                    actor_type="user",
                    actor_id=user_id,
                    target_type="user",
                    target_id=user_id,
                    ip=ip,
                    user_agent='=HYPERLINK("http://evil")',
                    details={"note": "+cmd|' /C calc'!A0"},
                ),
                AuditEntry(
                    "auth.login",
                    outcome="failure",
                    actor_type="user",
                    actor_id=user_id,
                    target_type="user",
                    target_id=user_id,
                    ip=ip,
                ),
                AuditEntry(
                    "auth.logout", actor_type="user", actor_id=user_id, target_type="user", target_id=user_id, ip=ip
                ),
                AuditEntry(
                    "order.placed",
                    actor_type="user",
                    actor_id=user_id,
                    target_type="order",
                    target_id="77",
                    ip=ip,
                    details={"symbol": "EURUSD"},
                ),
            ],
        )


def test_audit_filters_narrow_to_one_clients_logins(admin_client, sql_engine):
    c, _ = admin_client
    uid = str(uuid.uuid4().int % 10**9)
    _audit_rows(sql_engine, uid)
    _audit_rows(sql_engine, uid + "9")
    page = c.get(f"/api/admin/audit?actor={uid}&action=auth.login").json
    assert page["total"] == 2
    assert {row["actor_id"] for row in page["items"]} == {uid}
    assert {row["action"] for row in page["items"]} == {"auth.login"}
    assert c.get(f"/api/admin/audit?actor={uid}&action=auth.*").json["total"] == 3
    failures = c.get(f"/api/admin/audit?actor={uid}&outcome=failure").json
    assert [row["outcome"] for row in failures["items"]] == ["failure"]
    assert c.get(f"/api/admin/audit?actor=user:{uid}&target=order:77").json["total"] == 1
    assert c.get(f"/api/admin/audit?actor={uid}&q=EURUSD").json["total"] == 1


def test_audit_pagination_and_sorting(admin_client, sql_engine):
    c, _ = admin_client
    uid = str(uuid.uuid4().int % 10**9)
    _audit_rows(sql_engine, uid)
    first = c.get(f"/api/admin/audit?actor={uid}&per_page=3&page=1&sort=id").json
    second = c.get(f"/api/admin/audit?actor={uid}&per_page=3&page=2&sort=id").json
    assert first["total"] == 4 and len(first["items"]) == 3 and len(second["items"]) == 1
    ids = [r["id"] for r in first["items"]] + [r["id"] for r in second["items"]]
    assert ids == sorted(ids)
    desc = [r["id"] for r in c.get(f"/api/admin/audit?actor={uid}&sort=-id").json["items"]]
    assert desc == sorted(ids, reverse=True)
    detail = c.get(f"/api/admin/audit/{ids[0]}").json
    assert detail["id"] == ids[0] and detail["hash"] and detail["prev_hash"]


def test_bad_filters_get_400_with_fields(admin_client):
    c, _ = admin_client
    response = c.get("/api/admin/audit?outcome=maybe&per_page=100000&from=yesterday")
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) >= {"outcome", "per_page", "from"}


def test_csv_export_has_the_filtered_rows_with_formulas_neutralised(admin_client, sql_engine):
    c, _ = admin_client
    uid = str(uuid.uuid4().int % 10**9)
    _audit_rows(sql_engine, uid)
    response = c.get(f"/api/admin/audit.csv?actor={uid}&action=auth.login")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["auth.login", "auth.login"]
    assert {r["actor_id"] for r in rows} == {uid}
    assert rows[0]["user_agent"].startswith("'=HYPERLINK")
    assert '"note": "+cmd' in rows[0]["details"]  # the JSON cell starts with "{", so it is safe as is


def test_chain_state_shows_where_it_breaks(admin_client, sql_engine):
    c, _ = admin_client
    uid = str(uuid.uuid4().int % 10**9)
    _audit_rows(sql_engine, uid)
    assert c.get("/api/admin/audit/chain").json["status"] == "verified"
    victim = c.get(f"/api/admin/audit?actor={uid}&sort=id").json["items"][1]["id"]
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE audit_logs SET outcome = 'success' WHERE id = :id"), {"id": victim})
    try:
        from web.services import admin as service

        service._chain_cache["report"] = None
        state = c.get("/api/admin/audit/chain").json
        assert state["status"] == "broken"
        assert state["broken_at"] == victim
    finally:
        with sql_engine.begin() as conn:
            conn.execute(text("UPDATE audit_logs SET outcome = 'failure' WHERE id = :id"), {"id": victim})
        service._chain_cache["report"] = None


def test_user_search_detail_disable_and_enable(app, admin_client):
    c, _ = admin_client
    target = make_user(app, first_name="Zelda", last_name="Quinn")
    target_client = login(app.test_client(), app, target)
    found = c.get(f"/api/admin/users?q={target.email}").json
    assert [u["id"] for u in found["items"]] == [target.id]
    assert c.get("/api/admin/users?q=Zelda").json["total"] >= 1
    detail = c.get(f"/api/admin/users/{target.id}").json
    assert detail["user"]["email"] == target.email
    assert any(s["active"] for s in detail["sessions"])
    for key in ("accounts", "kyc_documents", "deposits", "withdrawals"):
        assert isinstance(detail[key], list)

    assert c.post(f"/api/admin/users/{target.id}/disable", json={"reason": "fraud check"}).json["status"] == "disabled"
    denied = target_client.get("/api/admin/users")  # any authenticated call
    assert denied.status_code == 401
    detail = c.get(f"/api/admin/users/{target.id}").json
    assert not any(s["active"] for s in detail["sessions"])
    assert c.post(f"/api/admin/users/{target.id}/enable", json={}).json["status"] == "active"
    actions = {r["action"] for r in c.get(f"/api/admin/audit?target=user:{target.id}").json["items"]}
    assert {"admin.user_disabled", "admin.user_enabled"} <= actions


def test_end_sessions_signs_the_user_out(app, admin_client):
    c, _ = admin_client
    target = make_user(app)
    login(app.test_client(), app, target)
    login(app.test_client(), app, target)
    assert c.post(f"/api/admin/users/{target.id}/end-sessions").json["ended"] == 2
    assert c.get("/api/admin/users/999999999").status_code == 404


def test_impersonation_history_lists_session_reason_and_actions(app, admin_client, sql_engine):
    c, _ = admin_client
    target = make_user(app)
    admin_ref = f"crm-admin-{uuid.uuid4().hex[:6]}"
    login(app.test_client(), app, target, impersonator_id=admin_ref, impersonation_reason="ticket 42")
    with sql_engine.begin() as conn:
        write_audit(
            conn,
            [
                AuditEntry(
                    "order.placed",
                    actor_type="user",
                    actor_id=str(target.id),
                    impersonator_id=admin_ref,
                    target_type="order",
                    target_id="5",
                )
            ],
        )
    history = c.get(f"/api/admin/impersonations?admin_id={admin_ref}").json
    assert history["total"] == 1
    item = history["items"][0]
    assert item["user_id"] == target.id and item["reason"] == "ticket 42"
    assert [a["action"] for a in item["actions"]] == ["order.placed"]


def test_system_status_reports_feed_engine_queues(admin_client, redis_client):
    c, _ = admin_client
    redis_client.hset("md:last", "EURUSD", '{"bid":"1.1","ask":"1.2","ts":1}')
    status = c.get("/api/admin/system").json
    assert {q["name"] for q in status["queues"]} == {"webhooks", "mail"}
    assert status["engine"][0]["shard"] == 0
    eur = next(q for q in status["feed"]["quotes"] if q["symbol"] == "EURUSD")
    assert eur["age_s"] > 1000
