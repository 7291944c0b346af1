"""The commit thread: batches in order, one in flight, and `idle()` telling the engine thread when a
small batch may be written directly (nothing submitted is still being written)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from engine.committer import Committer, CommitterFailed, PreparedBatch
from engine.core.journal import Changes


class FakeDb:
    """Stands in for the SQLAlchemy Engine: the committer only opens one connection from it."""

    def connect(self) -> Any:
        class Conn:
            def __enter__(self) -> Conn:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

        return Conn()


def _batch(tag: str) -> PreparedBatch:
    return PreparedBatch(Changes(), command_ids=[tag])


def test_idle_only_when_every_submitted_batch_is_written() -> None:
    release = threading.Event()
    written: list[str] = []

    def write(conn: Any, batch: PreparedBatch) -> None:
        release.wait(10)
        written.append(batch.command_ids[0])

    committer = Committer(FakeDb(), write, "test-committer")  # type: ignore[arg-type]
    try:
        assert committer.idle()
        committer.submit(_batch("a"))
        assert not committer.idle()  # being written
        committer.submit(_batch("b"))
        assert not committer.idle()
        release.set()
        committer.flush()
        assert committer.idle()
        assert written == ["a", "b"]  # in order
    finally:
        committer.close()


def test_a_failed_commit_is_never_idle_and_stops_the_engine() -> None:
    def write(conn: Any, batch: PreparedBatch) -> None:
        raise RuntimeError("PostgreSQL went away")

    committer = Committer(FakeDb(), write, "test-committer")  # type: ignore[arg-type]
    committer.submit(_batch("a"))
    committer.thread.join(timeout=10)  # the thread stops on the failure
    assert not committer.thread.is_alive() and committer.error is not None
    assert not committer.idle()  # the engine thread must not write after a failed batch
    with pytest.raises(CommitterFailed):
        committer.check()
    committer.close()
