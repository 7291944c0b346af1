"""The worker process puts back the job a lost Redis orphaned, and survives doing it.

`workers.__main__._requeue_orphan` runs after RQ's work loop quit on a Redis error. The job it
names may still have a work horse running (kill it, so the job does not run twice at once), or the
horse may have finished already and only the bookkeeping after it failed (RQ then holds horse
pid 0, and killing "the horse's process group" would have been the worker's own).
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import redis
from rq import Queue
from rq.job import Job

from tests.conftest import ROOT
from tests.support import wait_for

# Runs in its own session (process group): a worker that signals its own group dies with it.
ORPHAN_OF_A_FINISHED_HORSE = """
import sys
import redis
from rq import Queue
from rq.job import Job
from workers.__main__ import _requeue_orphan
from workers.metrics import MeteredWorker

url, name, job_id = sys.argv[1:]
conn = redis.Redis.from_url(url)
q = Queue(name, connection=conn)
worker = MeteredWorker([q], connection=conn)
assert worker.horse_pid == 0  # what RQ holds once the horse has exited
worker.in_flight = (Job.fetch(job_id, connection=conn), q)
_requeue_orphan(worker)
print("worker alive")
"""


def _orphan(url: str) -> tuple[redis.Redis, Queue, Job]:
    """A job taken off its queue (as a worker's dequeue does) and not finished."""
    conn = redis.Redis.from_url(url)
    q = Queue(f"orphans-{uuid.uuid4().hex[:8]}", connection=conn)
    job = q.enqueue("os.getpid")
    assert q.dequeue_any([q], None, connection=conn) is not None
    assert job.id not in q.job_ids
    return conn, q, job


def test_an_orphan_whose_horse_has_finished_is_requeued_and_the_worker_lives(redis_url: str) -> None:
    conn, q, job = _orphan(redis_url)
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN_OF_A_FINISHED_HORSE, redis_url, q.name, job.id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert done.returncode == 0, f"the worker died (exit {done.returncode}): {done.stderr}"
    assert "worker alive" in done.stdout
    assert q.job_ids == [job.id]
    conn.close()


def test_an_orphan_whose_horse_still_runs_has_the_horse_killed_and_is_requeued(redis_url: str) -> None:
    from workers.__main__ import _requeue_orphan
    from workers.metrics import MeteredWorker

    conn, q, job = _orphan(redis_url)
    # A stand-in horse: RQ forks its horse into a process group of its own, as here.
    horse = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"], start_new_session=True)
    try:
        worker = MeteredWorker([q], connection=conn)
        worker._horse_pid = horse.pid
        worker.in_flight = (job, q)
        _requeue_orphan(worker)
        wait_for(lambda: horse.poll() is not None, timeout=10, what="the horse to be killed")
        assert horse.returncode < 0  # by a signal
        assert q.job_ids == [job.id]
        assert worker.in_flight is None
    finally:
        if horse.poll() is None:
            horse.kill()
        horse.wait(timeout=10)
        conn.close()
