"""Inbound CRM webhooks: signed with the standardwebhooks library; refused ones are audited and change nothing.

The events used here (KYC decisions, user flags) need no engine; money events are in
test_crm_inbound_effects.py.
"""

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from common.webhook_signing import new_secret
from models import AuditLog, InboundWebhook
from tests.factories import login, make_user
from tests.integration.test_crm_inbound_helpers import PDF, PREVIOUS, make_inbound_app, post, signed


@pytest.fixture(scope="module")
def inbound_app(settings, var_dir):
    return make_inbound_app(settings, var_dir)


@pytest.fixture()
def document(inbound_app):
    """A client's pending KYC document, uploaded through the real API."""
    user = make_user(inbound_app)
    client = login(inbound_app.test_client(), inbound_app, user)
    answer = client.post(
        "/api/kyc/documents",
        data={"type": "passport", "file": (io.BytesIO(PDF), "passport.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def doc_status(sql_engine, document_id):
    with sql_engine.connect() as conn:
        return conn.execute(text("SELECT status FROM kyc_documents WHERE id = :d"), {"d": document_id}).scalar()


def refusals(sql_engine, webhook_id):
    with sql_engine.connect() as conn:
        return conn.execute(
            select(AuditLog.outcome, AuditLog.details)
            .where(AuditLog.action == "crm_webhook.refused", AuditLog.target_id == webhook_id)
            .order_by(AuditLog.id)
        ).all()


def stored(sql_engine, webhook_id):
    with sql_engine.connect() as conn:
        return conn.execute(select(InboundWebhook).where(InboundWebhook.webhook_id == webhook_id)).one_or_none()


def test_a_signed_event_is_applied_and_the_same_delivery_again_changes_nothing(inbound_app, document, sql_engine):
    headers, body = signed("kyc.approved", {"document_id": document["id"]})
    first = post(inbound_app, headers, body)
    assert first.status_code == 200, first.json
    assert first.json["status"] == "applied" and first.json["result"]["status"] == "approved"
    # The CRM retries: same webhook-id and body, new timestamp and signature.
    again_headers, _ = signed("kyc.approved", {}, msg_id=headers["webhook-id"], body=body)
    again = post(inbound_app, again_headers, body)
    assert again.status_code == 200
    assert again.json["status"] == "duplicate" and again.json["result"] == first.json["result"]
    assert doc_status(sql_engine, document["id"]) == "approved"
    with sql_engine.connect() as conn:
        changes = conn.execute(
            text("SELECT payload FROM webhook_events WHERE type = 'kyc.status_changed' ORDER BY id")
        ).scalars()
        mine = [json.loads(p)["data"] for p in changes if json.loads(p)["data"]["document_id"] == document["id"]]
    assert [d["status"] for d in mine] == ["pending", "approved"]  # upload, then one decision
    row = stored(sql_engine, headers["webhook-id"])
    assert row.status_code == 200 and row.attempts == 2 and row.type == "kyc.approved"


def test_the_previous_secret_still_verifies_during_rotation(inbound_app, document, sql_engine):
    headers, body = signed("kyc.rejected", {"document_id": document["id"], "reason": "Blurred"}, secret=PREVIOUS)
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 200, answer.json
    assert answer.json["result"]["reason"] == "Blurred" and doc_status(sql_engine, document["id"]) == "rejected"
    # The CRM switched to the new secret and retries the same event: still applied only once.
    again_headers, _ = signed("kyc.rejected", {}, msg_id=headers["webhook-id"], body=body)
    again = post(inbound_app, again_headers, body)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    with sql_engine.connect() as conn:
        decisions = conn.execute(
            text("SELECT count(*) FROM audit_logs WHERE action = 'kyc.rejected' AND target_id = :d"),
            {"d": str(document["id"])},
        ).scalar()
    assert decisions == 1


def test_a_bad_signature_is_refused_audited_and_applies_nothing(inbound_app, document, sql_engine):
    headers, body = signed("kyc.approved", {"document_id": document["id"]}, secret=new_secret())
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_signature"
    assert doc_status(sql_engine, document["id"]) == "pending"
    assert stored(sql_engine, headers["webhook-id"]) is None
    (refusal,) = refusals(sql_engine, headers["webhook-id"])
    assert refusal.outcome == "denied" and refusal.details["reason"] == "bad_signature"


def test_a_tampered_body_is_refused(inbound_app, document, sql_engine):
    headers, body = signed("kyc.approved", {"document_id": document["id"]})
    answer = post(inbound_app, headers, body.replace("kyc.approved", "kyc.rejected"))
    assert answer.status_code == 401
    assert doc_status(sql_engine, document["id"]) == "pending"


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_stale_or_future_timestamp_is_refused_and_audited(inbound_app, document, sql_engine, minutes):
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    headers, body = signed("kyc.approved", {"document_id": document["id"]}, when=when)
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "stale_timestamp"
    assert doc_status(sql_engine, document["id"]) == "pending"
    assert refusals(sql_engine, headers["webhook-id"])[0].details["reason"] == "stale"


def test_missing_signature_headers_are_refused(inbound_app, document):
    headers, body = signed("kyc.approved", {"document_id": document["id"]})
    del headers["webhook-signature"]
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "missing_signature_headers"


def test_a_replayed_webhook_id_with_another_body_is_409_and_audited(inbound_app, document, sql_engine):
    other = make_user(inbound_app)
    headers, body = signed("kyc.approved", {"document_id": document["id"]})
    assert post(inbound_app, headers, body).status_code == 200
    replay_headers, replay_body = signed(
        "user.updated", {"user_id": other.id, "flags": {"vip": True}}, msg_id=headers["webhook-id"]
    )
    answer = post(inbound_app, replay_headers, replay_body)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "webhook_replayed"
    with sql_engine.connect() as conn:
        flags = conn.execute(text("SELECT flags FROM users WHERE id = :u"), {"u": other.id}).scalar()
    assert flags == {}
    assert refusals(sql_engine, headers["webhook-id"])[-1].details["reason"] == "replay"


def test_malformed_bodies_get_400_and_the_id_stays_usable(inbound_app, document, sql_engine):
    msg_id = f"msg_{uuid.uuid4().hex}"
    for bad in ("not json", json.dumps(["a list"]), json.dumps({"type": "kyc.approved"})):
        headers, body = signed("", {}, msg_id=msg_id, body=bad)
        answer = post(inbound_app, headers, body)
        assert answer.status_code == 400 and answer.json["error"]["code"] == "validation_error", bad
    headers, body = signed("kyc.approved", {"document_id": "seven"}, msg_id=msg_id)
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 400 and "document_id" in answer.json["error"]["fields"]["data"]
    assert stored(sql_engine, msg_id) is None and doc_status(sql_engine, document["id"]) == "pending"
    headers, body = signed("kyc.approved", {"document_id": document["id"], "crm_reviewer": "x"}, msg_id=msg_id)
    assert post(inbound_app, headers, body).status_code == 200  # fixed, same id: applied (unknown fields ignored)
    assert doc_status(sql_engine, document["id"]) == "approved"


def test_business_refusals_are_not_recorded_so_the_crm_may_retry(inbound_app, sql_engine):
    headers, body = signed("kyc.approved", {"document_id": 987654321})
    answer = post(inbound_app, headers, body)
    assert answer.status_code == 404
    assert stored(sql_engine, headers["webhook-id"]) is None
    with sql_engine.connect() as conn:
        failed = conn.execute(
            select(AuditLog.details).where(
                AuditLog.action == "crm_webhook.failed", AuditLog.target_id == headers["webhook-id"]
            )
        ).scalar_one()
    assert failed["error"] == "not_found"


def test_unknown_types_are_acknowledged_with_202_and_ignored(inbound_app, sql_engine):
    headers, body = signed("invoice.paid", {"invoice": 1})
    first, again = post(inbound_app, headers, body), post(inbound_app, headers, body)
    assert first.status_code == again.status_code == 202
    assert first.json["status"] == again.json["status"] == "ignored"
    assert stored(sql_engine, headers["webhook-id"]).status_code == 202


def test_user_updated_changes_flags_once_like_the_service_api(inbound_app, sql_engine):
    user = make_user(inbound_app)
    headers, body = signed("user.updated", {"user_id": user.id, "flags": {"vip": True, "tier": "gold"}})
    first, again = post(inbound_app, headers, body), post(inbound_app, headers, body)
    assert first.status_code == again.status_code == 200, first.json
    assert first.json["result"]["flags"] == {"vip": True, "tier": "gold"}
    with sql_engine.connect() as conn:
        updates = conn.execute(
            text("SELECT payload FROM webhook_events WHERE type = 'user.updated' ORDER BY id")
        ).scalars()
        mine = [json.loads(p)["data"] for p in updates if json.loads(p)["data"]["id"] == user.id]
        actor = conn.execute(
            text("SELECT actor_type, actor_id FROM audit_logs WHERE action = 'crm.user_updated' AND target_id = :u"),
            {"u": str(user.id)},
        ).one()
    assert [d["changed"] for d in mine] == [["flags"]]
    assert (actor.actor_type, actor.actor_id) == ("crm", "webhook")


def test_without_a_configured_secret_nothing_is_accepted(app, document):
    headers, body = signed("kyc.approved", {"document_id": document["id"]})
    answer = post(app, headers, body)
    assert answer.status_code == 503 and answer.json["error"]["code"] == "inbound_webhooks_not_configured"
