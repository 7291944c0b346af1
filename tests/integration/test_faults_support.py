"""Helpers of the ops tests (faults, roles, metrics): private servers, the platform as real processes.

No tests here. Private Redis and PostgreSQL servers run on free ports with their own data
directories, so a test can restart them without touching the servers other tests (and other
engineers) use. Recovery times are printed and written to test-artifacts/recovery/<name>.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from tests.integration.test_engine_support import reconcile  # noqa: F401 - re-exported for the fault tests
from tests.support import ROOT, PrivateRedis, Proc, free_port, python_module, wait_for  # noqa: F401 - re-exported
from tests.webhook_receiver import Received

ARTIFACTS = ROOT / "test-artifacts" / "recovery"
VENV_BIN = str(Path(sys.executable).parent)
PASSWORD = "Correct-Horse-Battery-9"


def report_recovery(name: str, **figures: Any) -> None:
    """Print a fault test's recovery figures and keep them as a JSON artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    record = {"test": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **figures}
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"\nRECOVERY {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.start, 2)


# --- private servers ------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of our own on a free TCP port (pgserver's binaries; a system user when root)."""

    def __init__(self, log_dir: Path) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.log_dir = log_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ops-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"  # beside the data: the server's user may not reach log_dir
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb refuses root
            from pgserver.utils import ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            shutil.chown(self.root, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, exe: str, *args: str) -> None:
        done = subprocess.run([str(self.bin / exe), *args], capture_output=True, timeout=120, user=self.user)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{exe} failed: {done.stdout!r} {done.stderr!r}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash: no checkpoint, WAL replayed at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    # Enough of Proc's interface for wait_logged to show this server's log on a failure.
    name = "postgres"

    def alive(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log_tail(self, lines: int = 60) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])

    def close(self) -> None:
        try:
            self.stop("fast")
        except AssertionError:
            pass
        if self.log.exists():  # kept with the other logs of the run
            shutil.copy(self.log, self.log_dir / f"postgres-{self.port}.log")
        shutil.rmtree(self.root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new, migrated database on a PostgreSQL server; return its URL."""
    from tests.conftest import _create_database, migrate

    url = _create_database(server_url)
    migrate(url)
    return url


def drop_database(url: str) -> None:
    from tests.conftest import _drop_database

    _drop_database(url)


# --- data through the real models -----------------------------------------------------------------


def seed_instruments(sql_engine: Engine) -> None:
    from models import Instrument
    from web.seed_data import INSTRUMENTS

    with Session(sql_engine) as session:
        have = set(session.execute(select(Instrument.symbol)).scalars())
        session.add_all(Instrument(**spec) for spec in INSTRUMENTS if spec["symbol"] not in have)
        session.commit()


def create_user(sql_engine: Engine, role: str = "client") -> tuple[int, str]:
    """A verified, active user with PASSWORD; return (id, e-mail)."""
    from datetime import UTC, datetime

    from models import User
    from web.services.passwords import hash_password

    email = f"ops-{uuid.uuid4().hex[:10]}@example.test"
    with Session(sql_engine) as session:
        user = User(
            email=email,
            password_hash=hash_password(PASSWORD),
            first_name="Ops",
            last_name="Test",
            role=role,
            status="active",
            email_verified_at=datetime.now(UTC),
            flags={},
            limits={},
            preferences={},
        )
        session.add(user)
        session.commit()
        return int(user.id), email


def scalar(sql_engine: Engine, sql: str, **params: Any) -> Any:
    with sql_engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(sql_engine: Engine, sql: str, **params: Any) -> list[Any]:
    with sql_engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


# --- the web as a client sees it ------------------------------------------------------------------


class WebClient:
    """A browser-like HTTP client of the real web process: cookie session and the CSRF header."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def login(self, email: str, password: str = PASSWORD) -> WebClient:
        self.refresh_csrf()
        response = self.http.post(
            f"{self.base}/api/auth/login", json={"email": email, "password": password}, timeout=20
        )
        assert response.status_code == 200, response.text
        self.refresh_csrf()
        return self

    def refresh_csrf(self) -> None:
        token = self.http.get(f"{self.base}/api/auth/csrf", timeout=10).json()["csrf_token"]
        self.http.headers["X-CSRFToken"] = token

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(f"{self.base}{path}", timeout=kw.pop("timeout", 20), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.post(f"{self.base}{path}", json=body, timeout=kw.pop("timeout", 20), **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.patch(f"{self.base}{path}", json=body, timeout=kw.pop("timeout", 20), **kw)


@dataclass
class OrderLoad:
    """Clients placing market orders, each with its own Idempotency-Key, retried until the engine answers.

    A retry reuses the key, so however often a request is repeated (errors, 202s, outages) the
    order exists once. `results` maps each key to its final HTTP status.
    """

    client: WebClient
    account_id: int
    symbol: str = "BTCUSD"
    keys: list[str] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    attempts: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    pace: threading.Event = field(default_factory=threading.Event)

    def place(self, key: str, deadline_s: float = 120.0) -> int:
        """Send one order until it has a final answer (201/422); 202, 5xx and network errors are retried."""
        body = {"account_id": self.account_id, "symbol": self.symbol, "side": "buy", "type": "market"}
        body["volume"] = "0.01"
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.attempts += 1
            try:
                response = self.client.post("/api/orders", body, headers={"Idempotency-Key": key}, timeout=15)
                status = response.status_code
            except requests.RequestException:
                status = 599
            if status in (201, 422):
                self.results[key] = status
                self.answered_at[key] = time.monotonic()
                return status
            self.errors[status] = self.errors.get(status, 0) + 1
            self.pace.wait(0.2)  # a client's back-off between retries (never set: a pause, not a sync)
        raise AssertionError(f"order {key} got no final answer in {deadline_s}s (errors {self.errors})")

    def run(self, count: int, pause_s: float = 0.02) -> None:
        """Place `count` orders one after another (or until stopped)."""
        for _ in range(count):
            if self.stop.is_set():
                return
            key = f"ops-{uuid.uuid4().hex}"
            self.keys.append(key)
            self.place(key)
            self.pace.wait(pause_s)

    def thread(self, count: int) -> threading.Thread:
        worker = threading.Thread(target=self.run, args=(count,), daemon=True)
        worker.start()
        return worker


def order_command_ids(user_id: int, keys: list[str]) -> list[str]:
    """The engine command ids the web derives from (user, Idempotency-Key)."""
    import hashlib

    return [f"idem-{hashlib.sha256(f'{user_id}:{key}'.encode()).hexdigest()[:32]}" for key in keys]


def assert_each_order_once(sql_engine: Engine, user_id: int, load: OrderLoad, other_fills: int = 0) -> None:
    """Every key was processed exactly once; each filled order made exactly one trade (plus `other_fills`)."""
    ids = order_command_ids(user_id, load.keys)
    processed = rows(
        sql_engine,
        "SELECT command_id, count(*) FROM processed_commands WHERE command_id = ANY(:ids) GROUP BY command_id",
        ids=ids,
    )
    assert len(processed) == len(ids), f"{len(ids) - len(processed)} accepted orders were lost"
    assert all(n == 1 for _, n in processed)
    filled = sum(1 for status in load.results.values() if status == 201)
    trades = scalar(
        sql_engine,
        "SELECT count(*) FROM trades t JOIN orders o ON o.id = t.order_id WHERE o.account_id = :a",
        a=load.account_id,
    )
    assert trades == filled + other_fills, f"{filled} + {other_fills} orders filled but {trades} trades exist"


# --- processes ------------------------------------------------------------------------------------


def start_engine(
    env: dict[str, str], log_dir: Path, r: redis.Redis, name: str = "engine", lease_ms: int = 3000
) -> Proc:
    """`python -m engine` until it publishes engine:status:0 as a new owner."""
    from engine.contracts import engine_status_key

    started = int(time.time() * 1000)
    proc = Proc(name, python_module("engine", "--lease-ms", str(lease_ms)), env, log_dir).start()
    _wait_alive(
        proc,
        lambda: (
            int(r.hget(engine_status_key(0), "started_at") or 0) >= started
            and int(r.hget(engine_status_key(0), "updated_at") or 0) >= started
        ),
        60,
        "the engine to take its shard",
    )
    return proc


def start_worker(env: dict[str, str], log_dir: Path, name: str = "worker") -> Proc:
    """`python -m workers` until it registered as an RQ worker."""
    proc = Proc(name, python_module("workers"), env, log_dir).start()
    _wait_alive(proc, lambda: proc.pid in rq_worker_pids(env["REDIS_URL"]), 60, "the RQ worker to register")
    return proc


def rq_worker_pids(redis_url: str) -> set[int]:
    """Pids of the RQ workers registered in this Redis (RQ needs a client without decode_responses)."""
    from rq import Worker

    client = redis.Redis.from_url(redis_url)
    try:
        return {int(w.pid) for w in Worker.all(connection=client) if w.pid}
    finally:
        client.close()


def start_web(env: dict[str, str], log_dir: Path, name: str = "web", **overrides: str) -> tuple[Proc, str]:
    """gunicorn (one gevent worker) as the Procfile runs it; return it and its base URL."""
    port = free_port()
    web_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "RATELIMIT_ENABLED": "false", **overrides}
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    proc = Proc(name, args, web_env, log_dir).start()
    base = f"http://127.0.0.1:{port}"
    _wait_alive(proc, lambda: requests.get(f"{base}/api/healthz", timeout=2).status_code == 200, 60, "gunicorn")
    return proc, base


def _wait_alive(proc: Proc, predicate: Callable[[], Any], timeout: float, what: str) -> None:
    def check() -> Any:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited")
        return predicate()

    try:
        wait_for(check, timeout=timeout, what=what)
    except AssertionError as exc:
        proc.stop()
        raise AssertionError(f"{exc}\n--- {proc.name} ---\n{proc.log_tail()}") from None


def fresh_quotes(
    r: redis.Redis, stop: threading.Event, symbol: str = "BTCUSD", every_s: float = 0.5
) -> threading.Thread:
    """Keep a symbol's quote fresh the way the feed writes it, until `stop` is set (Redis errors are ridden out)."""
    from engine.contracts import MD_LAST, TICKS_MAXLEN, TICKS_STREAM

    def loop() -> None:
        while not stop.is_set():
            stamp = int(time.time() * 1000)
            quote = {"symbol": symbol, "bid": "50000.00", "ask": "50020.00", "ts": stamp}
            try:
                pipe = r.pipeline(transaction=False)
                pipe.xadd(TICKS_STREAM, {k: str(v) for k, v in quote.items()}, maxlen=TICKS_MAXLEN, approximate=True)
                pipe.hset(MD_LAST, symbol, json.dumps(quote))
                pipe.execute()
            except (redis.RedisError, OSError):
                pass
            stop.wait(every_s)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def open_funded_account(sql_engine: Engine, r: redis.Redis, user_id: int, deposit: str = "1000000") -> int:
    """A live account opened and funded through engine commands (the engine must be running)."""
    from tests.integration.test_engine_support import open_account

    return open_account(sql_engine, r, user_id, deposit=deposit)


# --- metrics and webhooks -------------------------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A /metrics page as {(sample name, sorted labels): value}."""
    body = requests.get(url, timeout=5).text
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def verified_ids(received: list[Received], secret: str) -> Iterator[str]:
    """The webhook-id of every request, each checked with the standardwebhooks library (raises if forged)."""
    hook = Webhook(secret)
    for item in received:
        hook.verify(item.body, item.headers)
        yield item.webhook_id


def decimal(value: Any) -> Decimal:
    return Decimal(str(value))


# --- the platform on its own database and Redis ------------------------------------------------

WEBHOOK_RETRIES = "1s,1s,1s,2s,2s,3s,3s,5s,5s,5s,10s,10s"  # about 48 s of retries: longer than any outage here


class Platform:
    """engine, worker and web (and whatever a test adds) on a database and a Redis of their own."""

    def __init__(self, base_env: dict[str, str], log_dir: Path, database_url: str, redis_url: str, **env: str) -> None:
        from common.webhook_signing import new_secret
        from models.session import make_engine

        self.log_dir = log_dir
        self.secret = new_secret()
        self.env = {
            **base_env,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_JSON": "true",
            "WEBHOOK_RETRY_SCHEDULE": WEBHOOK_RETRIES,
            "WEBHOOK_TIMEOUT_S": "2",
            **env,
        }
        self.r = redis.Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=30)
        self.sql = make_engine(database_url, pool_size=2, max_overflow=2)
        self.procs: dict[str, Proc] = {}
        self.clients: list[WebClient] = []
        self.base = ""

    def crm(self, url: str) -> None:
        """Deliver webhooks to this receiver (the CRM_WEBHOOK_URL endpoint the worker creates)."""
        self.env["CRM_WEBHOOK_URL"] = url
        self.env["CRM_WEBHOOK_SECRET"] = self.secret

    def engine(self, name: str = "engine") -> Proc:
        self.procs[name] = start_engine(self.env, self.log_dir, self.r, name=name)
        return self.procs[name]

    def worker(self) -> Proc:
        self.procs["worker"] = start_worker(self.env, self.log_dir)
        if "CRM_WEBHOOK_URL" in self.env:
            wait_for(
                lambda: scalar(self.sql, "SELECT count(*) FROM webhook_endpoints WHERE enabled"),
                timeout=30,
                what="the CRM endpoint",
            )
        return self.procs["worker"]

    def web(self) -> str:
        self.procs["web"], self.base = start_web(self.env, self.log_dir)
        return self.base

    def client(self) -> tuple[int, WebClient]:
        """A new client user, signed in over HTTP."""
        user_id, email = create_user(self.sql)
        self.clients.append(WebClient(self.base).login(email))
        return user_id, self.clients[-1]

    def stop(self) -> None:
        for client in self.clients:
            client.http.close()  # idle keep-alive connections would hold up gunicorn's graceful stop
        for proc in self.procs.values():
            proc.stop()
        self.r.close()
        self.sql.dispose()

    def events_of(self, account_id: int, event_type: str) -> list[str]:
        """msg_ids of the outbox events of one account."""
        found = rows(
            self.sql,
            "SELECT msg_id FROM webhook_events"
            " WHERE type = :t AND (payload::json -> 'data' ->> 'account_id')::bigint = :a",
            t=event_type,
            a=account_id,
        )
        return [r[0] for r in found]

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            response = requests.get(f"{self.base}/api/readyz", timeout=5)
            return response.status_code, response.json()
        except requests.RequestException:
            return 599, {}


@dataclass
class Probe:
    """Polls a condition in the background and keeps every observation (to find recovery moments)."""

    check: Callable[[], bool]
    every_s: float = 0.1
    seen: list[tuple[float, bool]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Probe:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                ok = bool(self.check())
            except Exception:
                ok = False
            self.seen.append((time.monotonic(), ok))
            self.stop.wait(self.every_s)

    def first(self, value: bool, after: float) -> float | None:
        """When the condition was first observed to be `value` at or after `after`."""
        return next((t for t, ok in list(self.seen) if ok == value and t >= after), None)


def wait_logged(predicate: Callable[[], Any], timeout: float, what: str, procs: list[Any]) -> Any:
    """wait_for; on a timeout the processes' last log lines (shortened) are part of the failure."""
    try:
        return wait_for(predicate, timeout=timeout, what=what)
    except AssertionError as exc:
        tails = []
        for proc in procs:
            lines = [line[:400] for line in proc.log_tail(400).splitlines()[-15:]]
            tails.append(f"--- {proc.name} ({'alive' if proc.alive() else 'exited'}) ---\n" + "\n".join(lines))
        raise AssertionError(f"{exc}\n" + "\n".join(tails)) from None
