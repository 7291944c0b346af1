"""Outgoing webhooks end to end: outbox → dispatcher → RQ → a real `python -m workers` → a real receiver.

Every request the receivers get is verified with the standardwebhooks library. The worker runs
with a seconds-long retry schedule (WEBHOOK_RETRY_SCHEDULE) so retries are observed quickly.
"""

import json
import os
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.outbox import outbox_row
from common.webhook_signing import new_secret
from models import AuditLog, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import login, make_user
from tests.integration.test_webhooks_support import (
    clear_stale_scheduler_locks,
    disable_endpoints,
    set_aside_earlier_work,
)
from tests.support import Proc, python_module, wait_for
from tests.webhook_receiver import Reply, WebhookReceiver

SCHEDULE = "1s,1s,1s,2s"  # 5 attempts in about 5 s
ATTEMPTS = 5


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def crm_receiver():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def worker(test_env, proc_log_dir, crm_receiver, sql_engine, redis_client):
    """One real worker process for the module, with the CRM endpoint from CRM_WEBHOOK_URL."""
    set_aside_earlier_work(sql_engine)
    clear_stale_scheduler_locks(redis_client)
    secret = new_secret()
    env = {
        **test_env,
        "WEBHOOK_RETRY_SCHEDULE": SCHEDULE,
        "WEBHOOK_TIMEOUT_S": "2",
        "CRM_WEBHOOK_URL": crm_receiver.url,
        "CRM_WEBHOOK_SECRET": secret,
    }
    proc = Proc("worker-webhooks", python_module("workers"), env, proc_log_dir).start()

    def env_endpoint():
        with sql_engine.connect() as conn:
            return conn.execute(
                select(WebhookEndpoint.id).where(
                    WebhookEndpoint.source == "env", WebhookEndpoint.url == crm_receiver.url
                )
            ).scalar()

    try:
        endpoint_id = wait_for(env_endpoint, timeout=30, what="the CRM_WEBHOOK_URL endpoint")
    except AssertionError:
        print(proc.log_tail())
        raise
    yield SimpleNamespace(proc=proc, secret=secret, endpoint_id=endpoint_id)
    proc.stop()
    disable_endpoints(sql_engine)


@pytest.fixture()
def admin(app):
    user = make_user(app, role="admin")
    return login(app.test_client(), app, user)


@pytest.fixture()
def endpoints(app, sql_engine):
    """Add endpoints through the CLI; they are disabled when the test ends."""
    made: list[int] = []

    def add(url: str, events: str = "") -> SimpleNamespace:
        args = ["webhooks", "add-endpoint", url] + (["--events", events] if events else [])
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        found = re.search(r"endpoint (\d+) added", result.output)
        assert found is not None, result.output
        endpoint_id = int(found.group(1))
        made.append(endpoint_id)
        return SimpleNamespace(id=endpoint_id, secret=result.output.strip().splitlines()[-1])

    yield add
    with sql_engine.begin() as conn:
        conn.execute(update(WebhookEndpoint).where(WebhookEndpoint.id.in_(made)).values(enabled=False))


def emit(sql_engine, event_type: str, data: dict) -> SimpleNamespace:
    """Write an outbox row the way every writer does (common.outbox), in its own transaction."""
    row = outbox_row(event_type, data)
    with sql_engine.begin() as conn:
        event_id = conn.execute(insert(WebhookEvent).values(**row).returning(WebhookEvent.id)).scalar_one()
    return SimpleNamespace(id=event_id, msg_id=row["msg_id"], payload=row["payload"])


def delivery(sql_engine, event_id: int, endpoint_id: int):
    with sql_engine.connect() as conn:
        return conn.execute(
            select(WebhookDelivery).where(
                WebhookDelivery.event_id == event_id, WebhookDelivery.endpoint_id == endpoint_id
            )
        ).one_or_none()


def attempts(sql_engine, delivery_id: int):
    with sql_engine.connect() as conn:
        return conn.execute(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.attempt)
        ).all()


def wait_status(sql_engine, event, endpoint_id, status, timeout=20.0):
    def check():
        row = delivery(sql_engine, event.id, endpoint_id)
        return row if row is not None and row.status == status else None

    return wait_for(check, timeout=timeout, what=f"delivery of {event.msg_id} to be {status}")


def verified(secret: str, request) -> dict:
    """The standardwebhooks library's verdict on a received request (raises if it does not verify)."""
    return Webhook(secret).verify(request.body, request.headers)


# --- the tests --------------------------------------------------------------------------------


def test_env_endpoint_receives_events_signed_and_byte_exact(worker, crm_receiver, sql_engine):
    event = emit(sql_engine, "user.created", {"id": 501, "email": "ada@example.test"})
    received = wait_for(lambda: crm_receiver.for_id(event.msg_id), what="the CRM to receive the event")[0]
    assert received.body == event.payload.encode()  # the stored bytes, not a re-serialisation
    assert verified(worker.secret, received) == json.loads(event.payload)
    assert received.headers["webhook-id"] == event.msg_id
    assert re.fullmatch(r"\d{10}", received.headers["webhook-timestamp"])
    assert received.headers["content-type"] == "application/json"
    row = wait_status(sql_engine, event, worker.endpoint_id, "succeeded")
    assert row.attempts == 1 and row.last_status_code == 200 and row.delivered_at is not None
    logged = attempts(sql_engine, row.id)
    assert [(a.attempt, a.status_code) for a in logged] == [(1, 200)]
    assert logged[0].duration_ms is not None and logged[0].response_body == '{"ok":true}'
    with sql_engine.connect() as conn:
        assert conn.execute(select(WebhookEvent.dispatched_at).where(WebhookEvent.id == event.id)).scalar()


def test_receiver_errors_are_retried_with_the_same_id_and_a_fresh_signature(worker, endpoints, sql_engine):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        receiver.fail_next(2, status=503)
        event = emit(sql_engine, "order.placed", {"order_id": 9, "account_id": 3})
        row = wait_status(sql_engine, event, endpoint.id, "succeeded")
        requests = receiver.for_id(event.msg_id)
        assert len(requests) == 3
        for request in requests:  # every attempt verifies on its own
            assert verified(endpoint.secret, request)["type"] == "order.placed"
        stamps = [int(r.headers["webhook-timestamp"]) for r in requests]
        assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
        assert [(a.attempt, a.status_code) for a in attempts(sql_engine, row.id)] == [(1, 503), (2, 503), (3, 200)]
        assert attempts(sql_engine, row.id)[0].error == "HTTP 503"
    finally:
        receiver.close()


def test_an_outage_and_recovery_of_the_receiver(worker, endpoints, sql_engine):
    receiver = WebhookReceiver().start()
    receiver.close()  # the port now refuses connections: the CRM is down
    endpoint = endpoints(receiver.url)
    event = emit(sql_engine, "balance.updated", {"account_id": 4, "balance": "10.00", "sequence": 1})
    row = wait_for(
        lambda: (d := delivery(sql_engine, event.id, endpoint.id)) is not None and d.attempts >= 2 and d,
        what="two failed attempts",
    )
    assert row.status == "retrying" and row.next_attempt_at is not None
    assert all(a.status_code is None and "ConnectionError" in a.error for a in attempts(sql_engine, row.id))
    receiver.start()  # the CRM is back on the same port
    try:
        row = wait_status(sql_engine, event, endpoint.id, "succeeded")
        received = receiver.for_id(event.msg_id)
        assert len(received) == 1 and verified(endpoint.secret, received[0])["data"]["sequence"] == 1
        assert row.attempts >= 3 and attempts(sql_engine, row.id)[-1].status_code == 200
    finally:
        receiver.close()


def test_a_slow_receiver_times_out_and_is_retried(worker, endpoints, sql_engine):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        receiver.reply_next(Reply(status=200, delay_s=3.5))  # longer than WEBHOOK_TIMEOUT_S=2
        event = emit(sql_engine, "position.closed", {"position_id": 12})
        row = wait_status(sql_engine, event, endpoint.id, "succeeded")
        logged = attempts(sql_engine, row.id)
        assert logged[0].status_code is None and logged[0].error.startswith("timeout")
        assert logged[-1].status_code == 200
    finally:
        receiver.close()


def test_retry_after_is_honoured(worker, endpoints, sql_engine):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        receiver.reply_next(Reply(status=429, headers={"Retry-After": "3"}))
        event = emit(sql_engine, "deposit.requested", {"deposit_id": 77})
        wait_status(sql_engine, event, endpoint.id, "succeeded")
        first, second = receiver.for_id(event.msg_id)
        # The schedule says 1 s; the receiver asked for 3 s, and the next try was not earlier.
        assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 3
        assert verified(endpoint.secret, second)
    finally:
        receiver.close()


def test_redirects_are_not_followed(worker, endpoints, sql_engine):
    receiver, elsewhere = WebhookReceiver().start(), WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        receiver.reply_next(Reply(status=302, headers={"Location": elsewhere.url}))
        event = emit(sql_engine, "email.verified", {"user_id": 5})
        row = wait_status(sql_engine, event, endpoint.id, "succeeded")
        assert [a.status_code for a in attempts(sql_engine, row.id)] == [302, 200]
        assert elsewhere.requests == []
    finally:
        receiver.close()
        elsewhere.close()


def test_410_gone_disables_the_endpoint(worker, endpoints, sql_engine, crm_receiver):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        receiver.always(Reply(status=410, body=b"gone"))
        event = emit(sql_engine, "kyc.status_changed", {"document_id": 3, "status": "approved"})
        row = wait_status(sql_engine, event, endpoint.id, "failed")
        assert row.attempts == 1 and row.last_status_code == 410
        with sql_engine.connect() as conn:
            ep = conn.execute(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)).one()
            assert ep.enabled is False and "410" in ep.disabled_reason
            assert conn.execute(
                select(AuditLog.id).where(
                    AuditLog.action == "webhook.endpoint_disabled", AuditLog.target_id == str(endpoint.id)
                )
            ).first()
        later = emit(sql_engine, "kyc.status_changed", {"document_id": 4, "status": "approved"})
        wait_for(lambda: crm_receiver.for_id(later.msg_id), what="the later event to reach the CRM")
        assert delivery(sql_engine, later.id, endpoint.id) is None
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


def test_event_filters_limit_what_an_endpoint_gets(worker, endpoints, sql_engine, crm_receiver):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url, events="deposit.*")
        other = emit(sql_engine, "withdrawal.requested", {"withdrawal_id": 1})
        wanted = emit(sql_engine, "deposit.status_changed", {"deposit_id": 1, "status": "approved"})
        wait_for(
            lambda: crm_receiver.for_id(other.msg_id) and crm_receiver.for_id(wanted.msg_id), what="both at the CRM"
        )
        wait_status(sql_engine, wanted, endpoint.id, "succeeded")
        assert [r.webhook_id for r in receiver.requests] == [wanted.msg_id]
        assert delivery(sql_engine, other.id, endpoint.id) is None
    finally:
        receiver.close()


def test_rotation_signs_with_old_and_new_secret_during_the_overlap(worker, endpoints, sql_engine, admin):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        answer = admin.post(f"/api/admin/webhooks/endpoints/{endpoint.id}/rotate-secret", json={"overlap_hours": 1})
        assert answer.status_code == 200
        new = answer.json["secret"]
        assert new.startswith("whsec_") and new != endpoint.secret
        assert answer.json["previous_secret_active_until"] is not None
        event = emit(sql_engine, "user.updated", {"id": 1, "changed": ["phone"]})
        wait_status(sql_engine, event, endpoint.id, "succeeded")
        (received,) = receiver.for_id(event.msg_id)
        assert len(received.headers["webhook-signature"].split(" ")) == 2
        assert verified(endpoint.secret, received) and verified(new, received)  # a CRM on either secret accepts it
        final = admin.post(f"/api/admin/webhooks/endpoints/{endpoint.id}/rotate-secret", json={"overlap_hours": 0})
        newest = final.json["secret"]
        event = emit(sql_engine, "user.updated", {"id": 1, "changed": ["country"]})
        wait_status(sql_engine, event, endpoint.id, "succeeded")
        (received,) = receiver.for_id(event.msg_id)
        assert verified(newest, received)
        with pytest.raises(WebhookVerificationError):
            verified(new, received)
    finally:
        receiver.close()


def test_redeliver_one_event_keeps_its_webhook_id(worker, sql_engine, admin, crm_receiver):
    event = emit(sql_engine, "margin_call", {"account_id": 8, "margin_level": "95.10"})
    wait_status(sql_engine, event, worker.endpoint_id, "succeeded")
    answer = admin.post(f"/api/admin/webhooks/events/{event.id}/redeliver", json={})
    assert answer.status_code == 202 and answer.json["queued"] >= 1
    wait_for(lambda: len(crm_receiver.for_id(event.msg_id)) == 2, what="the redelivered event")
    first, again = crm_receiver.for_id(event.msg_id)
    assert again.body == first.body and verified(worker.secret, again)
    row = wait_status(sql_engine, event, worker.endpoint_id, "succeeded")
    assert row.attempts == 2
    detail = admin.get(f"/api/admin/webhooks/events/{event.id}").json
    mine = next(d for d in detail["deliveries"] if d["endpoint_id"] == worker.endpoint_id)
    assert [a["status_code"] for a in mine["attempt_log"]] == [200, 200]
    assert detail["payload"] == json.loads(event.payload)


def test_exhausted_retries_fail_and_redeliver_failed_since_recovers_them(worker, endpoints, sql_engine, admin):
    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        since = datetime.now(UTC) - timedelta(seconds=1)
        receiver.always(Reply(status=500, body=b"boom"))
        failed = emit(sql_engine, "stop_out", {"account_id": 9, "closed_positions": [1, 2]})
        row = wait_status(sql_engine, failed, endpoint.id, "failed", timeout=30)
        assert row.attempts == ATTEMPTS and row.next_attempt_at is None and row.last_status_code == 500
        assert [a.attempt for a in attempts(sql_engine, row.id)] == list(range(1, ATTEMPTS + 1))
        listed = admin.get("/api/admin/webhooks/events", query_string={"status": "failed", "endpoint_id": endpoint.id})
        assert [e["msg_id"] for e in listed.json["items"]] == [failed.msg_id]

        # While the endpoint is disabled its events get no delivery; "redeliver failed" catches up.
        assert admin.post(f"/api/admin/webhooks/endpoints/{endpoint.id}/disable", json={}).status_code == 200
        missed = emit(sql_engine, "deposit.requested", {"deposit_id": 991})
        wait_for(lambda: _dispatched(sql_engine, missed.id), what="the missed event to be dispatched")
        assert delivery(sql_engine, missed.id, endpoint.id) is None
        assert admin.post(f"/api/admin/webhooks/endpoints/{endpoint.id}/enable").status_code == 200

        receiver.always(Reply(status=204, body=b""))
        answer = admin.post(
            "/api/admin/webhooks/redeliver-failed", json={"since": since.isoformat(), "endpoint_id": endpoint.id}
        )
        assert answer.status_code == 202 and answer.json["queued"] == 2
        wait_status(sql_engine, failed, endpoint.id, "succeeded")
        wait_status(sql_engine, missed, endpoint.id, "succeeded")
        for event in (failed, missed):
            assert verified(endpoint.secret, receiver.for_id(event.msg_id)[-1])
    finally:
        receiver.close()


def _dispatched(sql_engine, event_id):
    with sql_engine.connect() as conn:
        return conn.execute(select(WebhookEvent.dispatched_at).where(WebhookEvent.id == event_id)).scalar()


def test_a_delivery_whose_job_never_reached_redis_is_swept_up(worker, endpoints, sql_engine, settings):
    from workers.dispatcher import sweep_once
    from workers.queues import WEBHOOKS, queue

    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoints(receiver.url)
        event = emit(sql_engine, "user.created", {"id": 77})
        # As if the dispatcher committed this delivery and then crashed before enqueueing it.
        with sql_engine.begin() as conn:
            conn.execute(
                update(WebhookEvent).where(WebhookEvent.id == event.id).values(dispatched_at=datetime.now(UTC))
            )
            conn.execute(
                insert(WebhookDelivery).values(
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    status="pending",
                    created_at=datetime.now(UTC) - timedelta(minutes=5),
                )
            )
        swept = sweep_once(sql_engine, queue(WEBHOOKS, settings.redis_url), [1], 2)
        assert swept >= 1
        wait_status(sql_engine, event, endpoint.id, "succeeded")
        assert verified(endpoint.secret, receiver.for_id(event.msg_id)[0])
        assert sweep_once(sql_engine, queue(WEBHOOKS, settings.redis_url), [1], 2) == 0
    finally:
        receiver.close()


def test_env_endpoint_is_refreshed_when_the_settings_change(worker, sql_engine, settings):
    from dataclasses import replace

    from common.webhook_signing import key_material, unseal
    from workers.dispatcher import ensure_env_endpoint

    secret = new_secret()
    changed = replace(settings, crm_webhook_url="http://127.0.0.1:9/new-crm", crm_webhook_secret=secret)
    with sql_engine.begin() as conn:
        endpoint_id = ensure_env_endpoint(conn, changed)
    assert endpoint_id == worker.endpoint_id
    with sql_engine.connect() as conn:
        row = conn.execute(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).one()
    assert row.url == "http://127.0.0.1:9/new-crm" and secret not in row.secret_enc
    assert unseal(row.secret_enc, key_material(settings.data_encryption_key, settings.secret_key)) == secret
    # Put the module's CRM endpoint back for the tests that follow.
    with sql_engine.begin() as conn:
        restored = replace(
            settings, crm_webhook_url=worker.proc.env["CRM_WEBHOOK_URL"], crm_webhook_secret=worker.secret
        )
        ensure_env_endpoint(conn, restored)


def test_the_sweep_tells_a_live_job_chain_from_a_dead_one(settings):
    """A chain is alive while its job waits in the queue, is scheduled, or runs with a fresh heartbeat."""
    from rq import Queue

    from workers.queues import rq_connection
    from workers.webhooks import HEARTBEAT_STALE, chain_alive, deliver, enqueue_delivery, job_key

    connection = rq_connection(settings.redis_url)
    q = Queue(f"webhooks-sweep-{os.getpid()}", connection=connection)  # no worker listens here
    delivery_id = 900_000_000 + os.getpid()
    now = datetime.now(UTC)
    try:
        assert not chain_alive(q, delivery_id, now)  # no job at all
        job_id = enqueue_delivery(q, delivery_id, [1], 2)
        assert chain_alive(q, delivery_id, now)  # waiting in the queue
        connection.lrem(q.key, 0, job_id)  # lost from the queue (Redis lost its last second)
        assert not chain_alive(q, delivery_id, now)

        job = q.fetch_job(job_id)
        job.set_status("started")
        job.heartbeat(now, 60)
        assert chain_alive(q, delivery_id, now)  # running
        assert not chain_alive(q, delivery_id, now + HEARTBEAT_STALE)  # its horse died

        job.set_status("failed")
        assert not chain_alive(q, delivery_id, now)  # failed while the delivery is still sendable

        later = q.enqueue_in(timedelta(minutes=5), deliver, delivery_id)
        connection.set(job_key(delivery_id), later.id)
        assert chain_alive(q, delivery_id, now)  # a retry scheduled in the registry
    finally:
        connection.delete(job_key(delivery_id))
        q.empty()
        q.delete(delete_jobs=True)
