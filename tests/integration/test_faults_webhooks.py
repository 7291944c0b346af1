"""Fault: the CRM's webhook receiver fails for a while (503s, then its port refuses connections).

Events keep being written to the outbox meanwhile (profile changes over HTTP); the worker retries
on its schedule. Once the receiver is back every event is delivered, each accepted exactly once,
every request verifies with the standardwebhooks library, and the delivery log shows the retries.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.test_faults_support import (
    Platform,
    PrivateRedis,
    drop_database,
    new_database,
    report_recovery,
    rows,
    verified_ids,
    wait_logged,
)
from tests.webhook_receiver import Reply, WebhookReceiver

pytestmark = pytest.mark.slow

CLIENTS = 3
CHANGES_PER_CLIENT = 8


class ScoredReceiver(WebhookReceiver):
    """The test receiver, also noting which webhook ids it accepted (2xx)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[str] = []
        self._noted = threading.Lock()

    def _record(self, path, headers, body):  # type: ignore[no-untyped-def]
        reply = super()._record(path, headers, body)
        if 200 <= reply.status < 300:
            with self._noted:
                self.accepted.append(headers.get("webhook-id", ""))
        return reply


@pytest.fixture(scope="module")
def platform(test_env, proc_log_dir, database_url):
    server = PrivateRedis(proc_log_dir, aof=False).start()
    db_url = new_database(database_url)
    receiver = ScoredReceiver().start()
    plat = Platform(test_env, proc_log_dir, db_url, server.url)
    plat.crm(receiver.url)
    plat.worker()
    plat.web()
    yield plat, receiver
    plat.stop()
    receiver.close()
    server.close()
    drop_database(db_url)


def _user_updated_ids(plat: Platform) -> set[str]:
    return {r[0] for r in rows(plat.sql, "SELECT msg_id FROM webhook_events WHERE type = 'user.updated'")}


def test_a_failing_receiver_gets_every_event_once_it_recovers(platform):
    plat, receiver = platform
    procs = list(plat.procs.values())
    clients = [plat.client()[1] for _ in range(CLIENTS)]
    receiver.always(Reply(status=503, body=b"down for maintenance"))
    outage_at = time.monotonic()
    for n in range(CHANGES_PER_CLIENT // 2):
        for client in clients:
            assert client.patch("/api/auth/me", {"first_name": f"Before{n}"}).status_code == 200
    wait_logged(lambda: len(receiver.requests) >= CLIENTS, 30, "failed attempts", procs)
    receiver.close()  # then the receiver is gone altogether: connections are refused
    for n in range(CHANGES_PER_CLIENT // 2, CHANGES_PER_CLIENT):
        for client in clients:
            assert client.patch("/api/auth/me", {"first_name": f"During{n}"}).status_code == 200
    events = _user_updated_ids(plat)
    assert len(events) == CLIENTS * CHANGES_PER_CLIENT
    wait_logged(
        lambda: rows(plat.sql, "SELECT 1 FROM webhook_attempts WHERE error LIKE 'ConnectionError%' LIMIT 1"),
        60,
        "attempts refused at the TCP level",
        procs,
    )
    wait_logged(
        lambda: rows(plat.sql, "SELECT 1 FROM webhook_deliveries WHERE attempts >= 3 LIMIT 1"),
        60,
        "three failed attempts of one delivery",
        procs,
    )
    assert receiver.accepted == []

    receiver.always(Reply())
    receiver.start()  # same port
    back_at = time.monotonic()
    done_at = wait_logged(
        lambda: events <= set(receiver.accepted) and time.monotonic(), 120, "every event delivered", procs
    )
    delivered = [r for r in receiver.requests if r.webhook_id in events]
    assert set(verified_ids(delivered, plat.secret)) == events
    assert sorted(receiver.accepted) == sorted(events)  # each event accepted exactly once
    query = (
        "SELECT d.status, d.attempts FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        " WHERE e.type = 'user.updated'"
    )
    # The worker records the success once the receiver's answer is in.
    wait_logged(lambda: {s for s, _ in rows(plat.sql, query)} == {"succeeded"}, 30, "the delivery log", procs)
    attempts = rows(plat.sql, query)
    assert len(attempts) == len(events)
    assert max(n for _, n in attempts) > 1  # the delivery log shows the failed attempts before success

    report_recovery(
        "webhook_receiver_outage",
        events=len(events),
        receiver_down_s=round(back_at - outage_at, 2),
        all_delivered_after_receiver_back_s=round(done_at - back_at, 2),
        attempts_max=max(n for _, n in attempts),
        retry_schedule=plat.env["WEBHOOK_RETRY_SCHEDULE"],
    )
