"""Shared set-up of the engine benchmarks: a scratch database and Redis database, instruments,
users, accounts and a real engine process.

Benchmarks never touch the platform's data: they create `bench_<pid>` on the DATABASE_URL server
(dropped at the end) and use Redis database BENCH_REDIS_DB (default 15) of the REDIS_URL server,
which they flush. Instruments are the seed's with 24/7 sessions, so every run measures the same
work whatever the weekday.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.contracts import (  # noqa: E402
    MD_LAST,
    OPEN_ACCOUNT,
    TICKS_STREAM,
    Command,
    commands_stream,
    engine_status_key,
    open_account_payload,
    shard_for,
    ticks_group,
)

SECRETS = {
    "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
    "JWT_SECRET_KEY": "bench-jwt-secret-0123456789abcdef0123456789",
    "DATA_ENCRYPTION_KEY": "bench-data-key-0123456789abcdef0123456789ab",
}
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
PRICES = {
    "EURUSD": ("1.08490", "1.08500"),
    "GBPUSD": ("1.25000", "1.25012"),
    "USDJPY": ("150.000", "150.010"),
    "XAUUSD": ("2400.00", "2400.30"),
    "WTI": ("75.00", "75.04"),
    "BTCUSD": ("50000.00", "50020.00"),
    "ETHUSD": ("3000.00", "3001.50"),
}


@contextmanager
def quiet_gc() -> Iterator[None]:
    """No garbage-collector pauses in the load generator while it measures latency.

    A full collection in the generating process (measured: 133 ms) stalls every request in flight
    and would be counted as the platform's latency. The heap built so far is frozen and automatic
    collection is off for the measured load (a few thousand requests), then restored.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values_ms: list[float]) -> str:
    return f"p50 {statistics.median(values_ms):.2f} ms, p99 {pct(values_ms, 99):.2f} ms, max {max(values_ms):.2f} ms"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (independent of what else runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_named(name: str) -> list[int]:
    """Processes of this machine whose command name is `name` (e.g. every postgres backend)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def children(pid: int) -> list[int]:
    """Direct child processes of a process (e.g. gunicorn's workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_of(pids: list[int]) -> float:
    """CPU seconds used so far by processes that still exist."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue
    return total


def cpu_by_pid(name: str) -> dict[int, float]:
    """CPU seconds so far of every process named `name`, by pid (for deltas over a run)."""
    out = {}
    for pid in pids_named(name):
        try:
            out[pid] = cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_since(name: str, before: dict[int, float]) -> float:
    """CPU seconds processes named `name` spent since `before` (backends started since count whole)."""
    now = cpu_by_pid(name)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def rss_mib(pid: int) -> float:
    """Resident memory of a process (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Scratch:
    """A scratch PostgreSQL database and Redis database for one benchmark run."""

    def __init__(self, shards: int = 1) -> None:
        self.shards = shards  # engine shards; commands go to engine:commands:{account_id mod shards}
        base = os.environ.get("DATABASE_URL")
        redis_base = os.environ.get("REDIS_URL")
        if not base or not redis_base:
            raise SystemExit("set DATABASE_URL and REDIS_URL (make bench does)")
        self.db_name = f"bench_{os.getpid()}_{uuid.uuid4().hex[:4]}"
        self.server_url = make_url(base)
        self.database_url = self.server_url.set(database=self.db_name).render_as_string(hide_password=False)
        parts = urlsplit(redis_base)
        db_index = os.environ.get("BENCH_REDIS_DB", "15")
        self.redis_url = urlunsplit((parts.scheme, parts.netloc, f"/{db_index}", parts.query, parts.fragment))
        self.r = redis.Redis.from_url(self.redis_url, decode_responses=True)

    def _admin(self) -> Any:
        conn = psycopg2.connect(
            self.server_url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg2", "")
        )
        conn.autocommit = True
        return conn

    def create(self) -> None:
        conn = self._admin()
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        conn.close()
        from alembic import command
        from alembic.config import Config

        cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
        cfg.set_main_option("script_location", str(ROOT / "migrations"))
        cfg.attributes["database_url"] = self.database_url
        command.upgrade(cfg, "head")
        self.r.flushdb()

    def drop(self) -> None:
        from models.session import engine_for

        engine_for.cache_clear()
        conn = self._admin()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        conn.close()
        self.r.flushdb()

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            **SECRETS,
            "APP_ENV": "test",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "COOKIE_SECURE": "false",
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def sql(self) -> Any:
        from models.session import engine_for

        return engine_for(self.database_url)


@contextmanager
def scratch(shards: int = 1) -> Iterator[Scratch]:
    s = Scratch(shards)
    s.create()
    try:
        yield s
    finally:
        s.drop()


def seed_instruments(s: Scratch) -> None:
    from sqlalchemy.orm import Session

    from models import Instrument
    from web.seed_data import INSTRUMENTS

    with Session(s.sql()) as session:
        for spec in INSTRUMENTS:
            session.add(Instrument(**{**spec, "sessions": ALWAYS}))
        session.commit()


def make_users(s: Scratch, n: int) -> list[int]:
    with s.sql().begin() as conn:
        rows = conn.execute(
            text(
                "INSERT INTO users (email, first_name, last_name, role, status, flags, limits, preferences) "
                "SELECT 'bench-' || g || '@example.test', 'Bench', 'User', 'client', 'active', '{}', '{}', '{}' "
                "FROM generate_series(1, :n) g RETURNING id"
            ),
            {"n": n},
        )
        return sorted(int(r[0]) for r in rows)


def quotes(s: Scratch, prices: dict[str, tuple[str, str]] | None = None) -> None:
    pipe = s.r.pipeline(transaction=False)
    for symbol, (bid, ask) in (prices or PRICES).items():
        quote = {"symbol": symbol, "bid": bid, "ask": ask, "ts": now_ms()}
        pipe.xadd(TICKS_STREAM, {k: str(v) for k, v in quote.items()})
        pipe.hset(MD_LAST, symbol, json.dumps(quote))
    pipe.execute()


@contextmanager
def fresh_quotes(s: Scratch, every_s: float = 2.0) -> Iterator[None]:
    """Keep every symbol's quote fresh (the engine refuses orders on quotes older than 30 s)."""
    import threading

    done = threading.Event()

    def loop() -> None:
        while not done.wait(every_s):
            quotes(s)

    quotes(s)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def start_engine(s: Scratch, shard: int = 0, **env: str) -> subprocess.Popen[bytes]:
    started = now_ms()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "--shard", str(shard)],
        cwd=ROOT,
        env=s.env(ENGINE_SHARDS=str(s.shards), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while int(s.r.hget(engine_status_key(shard), "updated_at") or 0) < started:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the engine did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def send_all(s: Scratch, commands: list[Command], chunk: int = 500) -> None:
    """Encode and send commands now, `chunk` per pipeline (stamped with the time of sending)."""
    for start in range(0, len(commands), chunk):
        send_encoded(s, encode(s, commands[start : start + chunk]))


def encode(s: Scratch, commands: list[Command]) -> list[tuple[str, dict[Any, Any]]]:
    """Each command's stream and fields, encoded ahead of sending (send_encoded stamps `ts`)."""
    return [(commands_stream(shard_for(c.account_id, s.shards)), dict(c.to_fields())) for c in commands]


def send_encoded(s: Scratch, ready: list[tuple[str, dict[Any, Any]]]) -> None:
    """XADD encoded commands in one pipeline, each stamped with the time of sending."""
    stamp = str(now_ms())
    pipe = s.r.pipeline(transaction=False)
    for stream, fields in ready:
        fields["ts"] = stamp
        pipe.xadd(stream, fields)
    pipe.execute()


def _count_processed(s: Scratch, command_ids: list[str]) -> int:
    with s.sql().connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM processed_commands WHERE command_id = ANY(:ids)"), {"ids": command_ids}
            ).scalar_one()
        )


def wait_processed(s: Scratch, commands: list[Command], timeout: float = 600) -> float:
    """Wait until every command is processed; return the perf_counter() at which that was seen.

    An engine shard processes its stream in order, so only the last command sent to each shard is
    polled (a primary-key probe each): a count over processed_commands every 50 ms read the whole
    table each time, and its PostgreSQL time was counted as the engine's. Every command is checked
    once at the end, after the moment is taken.
    """
    last: dict[int, str] = {}
    for command in commands:
        last[shard_for(command.account_id, s.shards)] = command.command_id
    deadline = time.monotonic() + timeout
    while _count_processed(s, list(last.values())) < len(last):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {len(commands)} commands")
        time.sleep(0.05)
    done = time.perf_counter()
    missing = len(commands) - _count_processed(s, [c.command_id for c in commands])
    if missing:
        raise SystemExit(f"{missing} of {len(commands)} commands were not processed")
    return done


def open_accounts(s: Scratch, users: list[int], deposit: str = "1000000") -> list[int]:
    """Open (and fund) one live account per user through the engine."""
    with s.sql().connect() as conn:
        ids = [
            int(v)
            for v in conn.execute(
                text("SELECT nextval('accounts_id_seq') FROM generate_series(1, :n)"), {"n": len(users)}
            ).scalars()
        ]
    commands = [
        Command(
            f"open-{account_id}",
            OPEN_ACCOUNT,
            account_id,
            open_account_payload(user_id, "live", "USD", 100, deposit),
            {"type": "system", "id": "bench"},
            now_ms(),
        )
        for account_id, user_id in zip(ids, users, strict=True)
    ]
    send_all(s, commands)
    wait_processed(s, commands)
    return ids


def tick_lag(s: Scratch) -> int:
    """Ticks the engine has not yet read or acknowledged."""
    for group in s.r.xinfo_groups(TICKS_STREAM):
        if group["name"] == ticks_group(0):
            return int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return 0
