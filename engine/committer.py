"""The commit stage of the engine loop, on its own thread.

The engine thread applies batch N+1 in memory while batch N is being written: PostgreSQL's and
Redis's time overlaps the rules' time. Batches are committed strictly in order on one
connection; each batch's acknowledgements, replies and events go out only after its own
commit. A failure stops the engine (which restarts from PostgreSQL): batches applied in memory
but not committed are simply read again from the stream.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from engine.core.journal import Changes
from engine.persist import Processed

log = logging.getLogger("engine")


@dataclass
class PreparedBatch:
    """Everything one batch changed and must send, ready to be written."""

    changes: Changes
    processed: list[Processed] = field(default_factory=list)
    replies: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    command_ids: list[str] = field(default_factory=list)
    tick_ids: list[str] = field(default_factory=list)
    last_command: str | None = None
    last_tick: str | None = None


class CommitterFailed(RuntimeError):
    """The commit thread stopped on an error; the engine must restart from PostgreSQL."""


class Committer:
    """One thread, one connection, one batch in flight and one waiting (back-pressure)."""

    def __init__(self, db: Engine, write: Callable[[Connection, PreparedBatch], None], name: str) -> None:
        self.db = db
        self.write = write
        self.queue: queue.Queue[PreparedBatch | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def check(self) -> None:
        if self.error is not None:
            raise CommitterFailed(f"the commit thread failed: {self.error!r}") from self.error

    def submit(self, batch: PreparedBatch) -> None:
        """Hand a batch over (waits while the previous one is still queued)."""
        while True:
            self.check()
            try:
                self.queue.put(batch, timeout=0.25)
                return
            except queue.Full:
                continue

    def idle(self) -> bool:
        """Nothing submitted is still being written (a batch written now would be next in order)."""
        return self.queue.unfinished_tasks == 0 and self.error is None

    def flush(self) -> None:
        """Wait until every submitted batch is committed, acknowledged and published."""
        while self.queue.unfinished_tasks:
            self.check()
            threading.Event().wait(0.002)
        self.check()

    def close(self) -> None:
        """Finish what was submitted (unless failed), then stop the thread."""
        if self.error is None and self.thread.is_alive():
            self.queue.put(None)
        self.thread.join(timeout=30)

    def _run(self) -> None:
        try:
            with self.db.connect() as conn:
                while True:
                    batch = self.queue.get()
                    try:
                        if batch is None:
                            return
                        self.write(conn, batch)
                    finally:
                        self.queue.task_done()
        except BaseException as exc:  # reported to the engine thread, which stops
            log.exception("commit failed")
            self.error = exc
            # Unblock a producer waiting on a full queue.
            while not self.queue.empty():
                self.queue.get_nowait()
                self.queue.task_done()
