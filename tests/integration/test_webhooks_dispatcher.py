"""The outbox dispatcher's passes against PostgreSQL, without a worker process.

A backlog must drain at full speed whether or not its events make deliveries, and the sweep must
not put a job per delivery of a disabled endpoint in front of the live ones. No worker listens to
the queues these tests use, so nothing here races a real dispatcher.
"""

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import func, insert, select, update

from common.outbox import outbox_row
from common.webhook_signing import new_secret
from models import WebhookDelivery, WebhookEndpoint, WebhookEvent


@pytest.fixture()
def quiet(sql_engine):
    """No enabled endpoint and no undispatched event: each test starts from a drained outbox."""
    from workers.dispatcher import dispatch_batch

    def drain():
        with sql_engine.begin() as conn:
            conn.execute(update(WebhookEndpoint).values(enabled=False, disabled_reason="test"))
        while True:
            with sql_engine.begin() as conn:
                claimed, _ = dispatch_batch(conn)
            if not claimed:
                return

    drain()
    yield
    drain()


@pytest.fixture()
def private_queue(settings):
    from workers.queues import rq_connection

    q = Queue(f"webhooks-dispatcher-test-{os.getpid()}", connection=rq_connection(settings.redis_url))
    yield q
    q.empty()


def _events(sql_engine, event_type: str, count: int) -> list[int]:
    rows = [outbox_row(event_type, {"n": n}) for n in range(count)]
    with sql_engine.begin() as conn:
        return list(conn.execute(insert(WebhookEvent).returning(WebhookEvent.id), rows).scalars())


def _endpoint(sql_engine, *, events: list[str] | None = None, enabled: bool = True) -> int:
    from common.webhook_signing import key_material, seal
    from config import get_settings

    settings = get_settings()
    sealed = seal(new_secret(), key_material(settings.data_encryption_key, settings.secret_key))
    with sql_engine.begin() as conn:
        return int(
            conn.execute(
                insert(WebhookEndpoint)
                .values(url="http://127.0.0.1:9/nobody", secret_enc=sealed, events=events, enabled=enabled)
                .returning(WebhookEndpoint.id)
            ).scalar_one()
        )


def _undispatched(sql_engine) -> int:
    with sql_engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.dispatched_at.is_(None))
            ).scalar_one()
        )


def test_a_batch_counts_the_events_it_claimed_not_only_the_deliveries_it_made(quiet, sql_engine):
    from workers.dispatcher import dispatch_batch

    endpoint_id = _endpoint(sql_engine, events=["kyc.*"])
    try:
        _events(sql_engine, "user.created", 3)
        wanted = _events(sql_engine, "kyc.status_changed", 1)
        with sql_engine.begin() as conn:
            claimed, delivery_ids = dispatch_batch(conn, limit=10)
        assert claimed == 4
        assert len(delivery_ids) == 1
        with sql_engine.connect() as conn:
            made = conn.execute(
                select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id).where(
                    WebhookDelivery.id.in_(delivery_ids)
                )
            ).one()
        assert tuple(made) == (wanted[0], endpoint_id)
        assert _undispatched(sql_engine) == 0
    finally:
        with sql_engine.begin() as conn:
            conn.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(enabled=False))


class _FirstPause(threading.Event):
    """A stop event that ends the loop at its first pause and remembers what was left then."""

    def __init__(self, sql_engine) -> None:
        super().__init__()
        self.sql_engine = sql_engine
        self.left_at_first_pause: int | None = None

    def wait(self, timeout: float | None = None) -> bool:
        if self.left_at_first_pause is None:
            self.left_at_first_pause = _undispatched(self.sql_engine)
        self.set()
        return True


def test_the_loop_drains_a_backlog_that_makes_no_deliveries_before_it_pauses(quiet, sql_engine, test_env, caplog):
    """A backlog (events made while no endpoint wanted them) must not drain one batch per poll."""
    from workers.dispatcher import BATCH, dispatcher_loop

    _events(sql_engine, "order.placed", BATCH * 2 + 50)
    stop = _FirstPause(sql_engine)
    dispatcher_loop(stop)  # get_settings() reads the test database from test_env
    assert not [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert stop.left_at_first_pause == 0


def test_the_sweep_cancels_overdue_deliveries_of_a_disabled_endpoint_without_a_job(quiet, sql_engine, private_queue):
    from workers.dispatcher import sweep_once

    disabled = _endpoint(sql_engine, enabled=False)
    live = _endpoint(sql_engine)
    try:
        event_id = _events(sql_engine, "user.created", 1)[0]
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        with sql_engine.begin() as conn:
            conn.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(dispatched_at=long_ago))
            ids = dict(
                conn.execute(
                    insert(WebhookDelivery)
                    .values(
                        [
                            {
                                "event_id": event_id,
                                "endpoint_id": disabled,
                                "status": "pending",
                                "created_at": long_ago,
                            },
                            {"event_id": event_id, "endpoint_id": live, "status": "pending", "created_at": long_ago},
                        ]
                    )
                    .returning(WebhookDelivery.endpoint_id, WebhookDelivery.id)
                ).all()
            )
        assert sweep_once(sql_engine, private_queue, [1], 2) == 1  # only the live endpoint's delivery
        assert private_queue.count == 1
        with sql_engine.connect() as conn:
            rows = dict(
                conn.execute(
                    select(WebhookDelivery.id, WebhookDelivery.status).where(WebhookDelivery.id.in_(ids.values()))
                ).all()
            )
        assert rows == {ids[disabled]: "cancelled", ids[live]: "pending"}
    finally:
        with sql_engine.begin() as conn:
            conn.execute(update(WebhookEndpoint).where(WebhookEndpoint.id.in_([disabled, live])).values(enabled=False))
