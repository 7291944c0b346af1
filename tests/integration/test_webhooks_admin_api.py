"""The webhook admin API and CLI: endpoints, secrets, the delivery log with filters, redelivery requests."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from common.outbox import outbox_row
from common.webhook_signing import key_material, unseal
from models import AuditLog, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import login, make_user

ROUTES = [
    ("get", "/api/admin/webhooks/endpoints"),
    ("post", "/api/admin/webhooks/endpoints"),
    ("get", "/api/admin/webhooks/endpoints/1"),
    ("patch", "/api/admin/webhooks/endpoints/1"),
    ("post", "/api/admin/webhooks/endpoints/1/disable"),
    ("post", "/api/admin/webhooks/endpoints/1/enable"),
    ("post", "/api/admin/webhooks/endpoints/1/rotate-secret"),
    ("get", "/api/admin/webhooks/events"),
    ("get", "/api/admin/webhooks/events/1"),
    ("post", "/api/admin/webhooks/events/1/redeliver"),
    ("post", "/api/admin/webhooks/redeliver-failed"),
]


@pytest.fixture(scope="module", autouse=True)
def _disable_endpoints_afterwards(sql_engine):
    """No worker runs here; endpoints made here must not receive other modules' events."""
    yield
    with sql_engine.begin() as conn:
        conn.execute(update(WebhookEndpoint).values(enabled=False, disabled_reason="test teardown"))


@pytest.fixture()
def admin(app):
    return login(app.test_client(), app, make_user(app, role="admin"))


@pytest.fixture()
def endpoint(admin):
    answer = admin.post(
        "/api/admin/webhooks/endpoints", json={"url": "http://127.0.0.1:9/crm", "events": ["deposit.*"]}
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def _audit_actions(sql_engine, target_id):
    with sql_engine.connect() as conn:
        return [
            a
            for (a,) in conn.execute(
                select(AuditLog.action)
                .where(AuditLog.target_type == "webhook_endpoint", AuditLog.target_id == str(target_id))
                .order_by(AuditLog.id)
            )
        ]


def test_only_admins_reach_the_webhook_admin_api(app, client):
    user = login(app.test_client(), app, make_user(app))
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/auth/csrf").json["csrf_token"]
    for method, path in ROUTES:
        assert getattr(client, method)(path, json={}).status_code == 401, path
        answer = getattr(user, method)(path, json={})
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", path


def test_adding_an_endpoint_shows_its_secret_once_and_stores_it_encrypted(admin, endpoint, settings, sql_engine):
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["deposit.*"]
    assert endpoint["enabled"] is True and endpoint["source"] == "admin"
    with sql_engine.connect() as conn:
        sealed = conn.execute(select(WebhookEndpoint.secret_enc).where(WebhookEndpoint.id == endpoint["id"])).scalar()
    assert endpoint["secret"] not in sealed
    assert unseal(sealed, key_material(settings.data_encryption_key, settings.secret_key)) == endpoint["secret"]
    listed = admin.get("/api/admin/webhooks/endpoints").json["items"]
    mine = next(e for e in listed if e["id"] == endpoint["id"])
    assert "secret" not in mine and mine["url"] == "http://127.0.0.1:9/crm"
    assert "secret" not in admin.get(f"/api/admin/webhooks/endpoints/{endpoint['id']}").json
    assert "webhook.endpoint_added" in _audit_actions(sql_engine, endpoint["id"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://crm.example.com/x"}, "url"),
        ({"url": "https://user:pw@crm.example.com/x"}, "url"),
        ({"url": "not a url at all"}, "url"),
        ({"url": "https://crm.example.com/x", "events": ["deposit.aproved"]}, "events"),
        ({"url": "https://crm.example.com/x", "events": "deposit.*"}, "events"),
        ({}, "url"),
    ],
)
def test_bad_endpoints_are_400_with_fields(admin, body, field):
    answer = admin.post("/api/admin/webhooks/endpoints", json=body)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "validation_error" and field in answer.json["error"]["fields"]


def test_update_disable_enable_and_rotate(admin, endpoint, sql_engine):
    path = f"/api/admin/webhooks/endpoints/{endpoint['id']}"
    changed = admin.patch(path, json={"events": [], "description": "CRM prod"})
    assert changed.status_code == 200 and changed.json["events"] is None and changed.json["description"] == "CRM prod"
    assert admin.patch(path, json={"url": "gopher://x"}).status_code == 400
    off = admin.post(f"{path}/disable", json={"reason": "CRM maintenance"})
    assert off.json["enabled"] is False and off.json["disabled_reason"] == "CRM maintenance"
    on = admin.post(f"{path}/enable")
    assert on.json["enabled"] is True and on.json["disabled_reason"] is None
    rotated = admin.post(f"{path}/rotate-secret", json={"overlap_hours": 2})
    assert rotated.status_code == 200 and rotated.json["secret"] != endpoint["secret"]
    until = datetime.fromisoformat(rotated.json["previous_secret_active_until"])
    assert timedelta(hours=1) < until - datetime.now(UTC) <= timedelta(hours=2)
    assert admin.post(f"{path}/rotate-secret", json={"overlap_hours": -1}).status_code == 400
    actions = _audit_actions(sql_engine, endpoint["id"])
    for action in (
        "webhook.endpoint_updated",
        "webhook.endpoint_disabled",
        "webhook.endpoint_enabled",
        "webhook.secret_rotated",
    ):
        assert action in actions
    for method, suffix in (("get", ""), ("patch", ""), ("post", "/disable"), ("post", "/rotate-secret")):
        missing = getattr(admin, method)(f"/api/admin/webhooks/endpoints/999999{suffix}", json={})
        assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def _event_with_delivery(sql_engine, endpoint_id, event_type, status, codes, created_at=None):
    row = outbox_row(event_type, {"n": 1}, created_at)
    with sql_engine.begin() as conn:
        event_id = conn.execute(
            insert(WebhookEvent).values(**row, dispatched_at=datetime.now(UTC)).returning(WebhookEvent.id)
        ).scalar_one()
        delivery_id = conn.execute(
            insert(WebhookDelivery)
            .values(event_id=event_id, endpoint_id=endpoint_id, status=status, attempts=len(codes))
            .returning(WebhookDelivery.id)
        ).scalar_one()
        for number, code in enumerate(codes, start=1):
            conn.execute(
                insert(WebhookAttempt).values(
                    delivery_id=delivery_id,
                    attempt=number,
                    status_code=code,
                    duration_ms=12,
                    error=None if code == 200 else f"HTTP {code}",
                )
            )
    return event_id, row["msg_id"]


def test_the_event_log_filters_pages_and_shows_attempts(admin, endpoint, sql_engine):
    ep = endpoint["id"]
    old = datetime.now(UTC) - timedelta(days=3)
    ok_id, _ = _event_with_delivery(sql_engine, ep, "deposit.requested", "succeeded", [500, 200])
    bad_id, bad_msg = _event_with_delivery(sql_engine, ep, "deposit.status_changed", "failed", [500, 500, 503])
    old_id, _ = _event_with_delivery(sql_engine, ep, "deposit.requested", "failed", [500], created_at=old)

    failed = admin.get("/api/admin/webhooks/events", query_string={"endpoint_id": ep, "status": "failed"}).json
    assert [e["id"] for e in failed["items"]] == [old_id, bad_id] and failed["total"] == 2  # newest id first
    recent = admin.get(
        "/api/admin/webhooks/events",
        query_string={"endpoint_id": ep, "since": (old + timedelta(days=1)).isoformat(), "type": "deposit.*"},
    ).json
    assert {e["id"] for e in recent["items"]} == {ok_id, bad_id}
    paged = admin.get("/api/admin/webhooks/events", query_string={"endpoint_id": ep, "per_page": 1, "page": 2}).json
    assert paged["total"] == 3 and [e["id"] for e in paged["items"]] == [bad_id]
    by_msg = admin.get("/api/admin/webhooks/events", query_string={"msg_id": bad_msg}).json["items"]
    assert [e["id"] for e in by_msg] == [bad_id] and by_msg[0]["deliveries"][0]["attempts"] == 3

    detail = admin.get(f"/api/admin/webhooks/events/{bad_id}").json
    assert detail["payload"]["type"] == "deposit.status_changed" and detail["msg_id"] == bad_msg
    (log,) = detail["deliveries"]
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 503]
    assert admin.get("/api/admin/webhooks/events/999999").status_code == 404
    bad = admin.get("/api/admin/webhooks/events", query_string={"status": "lost", "since": "yesterday"})
    assert bad.status_code == 400 and {"status", "since"} <= set(bad.json["error"]["fields"])


def test_redelivery_requests(admin, endpoint, sql_engine, app):
    ep = endpoint["id"]
    since = datetime.now(UTC) - timedelta(seconds=5)
    event_id, _ = _event_with_delivery(sql_engine, ep, "deposit.requested", "failed", [500])
    assert admin.post("/api/admin/webhooks/events/999999/redeliver", json={}).status_code == 404
    assert admin.post("/api/admin/webhooks/redeliver-failed", json={}).status_code == 400
    answer = admin.post(f"/api/admin/webhooks/events/{event_id}/redeliver", json={"endpoint_id": ep})
    assert answer.status_code == 202 and answer.json == {"queued": 1}
    with sql_engine.connect() as conn:
        status = conn.execute(select(WebhookDelivery.status).where(WebhookDelivery.event_id == event_id)).scalar()
    assert status == "pending"  # queued again with the same webhook-id

    admin.post(f"/api/admin/webhooks/endpoints/{ep}/disable", json={})
    refused = admin.post(f"/api/admin/webhooks/events/{event_id}/redeliver", json={"endpoint_id": ep})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "endpoint_disabled"
    admin.post(f"/api/admin/webhooks/endpoints/{ep}/enable")
    _event_with_delivery(sql_engine, ep, "deposit.requested", "failed", [502])
    _event_with_delivery(sql_engine, ep, "deposit.requested", "cancelled", [])
    again = admin.post("/api/admin/webhooks/redeliver-failed", json={"since": since.isoformat(), "endpoint_id": ep})
    assert again.status_code == 202 and again.json["queued"] == 2

    result = app.test_cli_runner().invoke(
        args=["webhooks", "redeliver-failed", "--since", since.isoformat(), "--endpoint", str(ep)]
    )
    assert result.exit_code == 0 and re.search(r"^0 failed deliveries queued again", result.output, re.M)


def test_cli_manages_endpoints(app, sql_engine):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["webhooks", "add-endpoint", "http://127.0.0.1:9/cli", "--events", "user.created,kyc.*"])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    endpoint_id = int(re.search(r"endpoint (\d+) added", added.output).group(1))
    listed = runner.invoke(args=["webhooks", "list"]).output
    assert f"{endpoint_id}\thttp://127.0.0.1:9/cli\tkyc.*,user.created\tenabled" in listed and secret not in listed
    assert "disabled" in runner.invoke(args=["webhooks", "disable", str(endpoint_id)]).output
    rotated = runner.invoke(args=["webhooks", "rotate-secret", str(endpoint_id), "--overlap-hours", "0"])
    assert rotated.exit_code == 0 and rotated.output.strip().splitlines()[-1] not in (secret, "")
    assert runner.invoke(args=["webhooks", "add-endpoint", "http://127.0.0.1:9/x", "--events", "nope"]).exit_code != 0
    assert runner.invoke(args=["webhooks", "rotate-secret", "999999"]).exit_code != 0


def test_openapi_documents_the_webhook_routes_with_examples(client):
    spec = client.get("/api/openapi.json").json
    assert "/api/admin/webhooks/events/{event_id}/redeliver" in spec["paths"]
    inbound = spec["paths"]["/api/crm/webhooks"]["post"]
    examples = inbound["requestBody"]["content"]["application/json"]["examples"]
    assert {"deposit.approved", "user.updated", "balance.operation"} <= set(examples)
    assert {p["name"] for p in inbound["parameters"]} >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    json.dumps(spec)  # serialisable as served
