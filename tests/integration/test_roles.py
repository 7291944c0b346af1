"""Every container role of docker/entrypoint.sh, run as a subprocess without Docker, does its job.

The roles run as the image runs them (`docker/entrypoint.sh ROLE`, APP_ENV=production, JSON logs)
against a fresh database and a private Redis, in deployment order: migrate, seed, then engine,
marketsim, feed, worker and web. docker-compose.yml is checked as far as is possible without Docker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml
from sqlalchemy import select, text

from config import Settings
from engine.contracts import MD_LAST, engine_status_key
from tests.integration.test_faults_support import (
    VENV_BIN,
    PrivateRedis,
    drop_database,
    rq_worker_pids,
    scalar,
)
from tests.support import ROOT, Proc, free_port, wait_for

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
COMPOSE = ROOT / "docker-compose.yml"
ROLES = ("web", "engine", "feed", "worker", "marketsim", "migrate", "seed")
# Variables only compose reads (the bundled PostgreSQL container's password), not the application.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
SECRETS = {"SECRET_KEY", "JWT_SECRET_KEY", "DATA_ENCRYPTION_KEY", "POSTGRES_PASSWORD"}
PROCESS_ONLY = {"HOST", "FORWARDED_ALLOW_IPS", "METRICS_HOST", "ACCESS_LOG", "PROMETHEUS_MULTIPROC_DIR"}


def _role(env: dict[str, str], role: str, *args: str) -> list[str]:
    return ["sh", str(ENTRYPOINT), role, *args]


def _run(env: dict[str, str], role: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_role(env, role, *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


# --- the deployment, step by step -------------------------------------------------------------


@pytest.fixture(scope="module")
def private_redis(proc_log_dir):
    server = PrivateRedis(proc_log_dir, aof=True).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def role_env(test_env, private_redis, database_url) -> Iterator[dict[str, str]]:
    """The image's environment: production, JSON logs, tools on PATH, services from the settings."""
    from tests.conftest import _create_database

    fresh = _create_database(database_url)  # empty: the migrate role builds the schema
    env = {
        **test_env,
        "APP_ENV": "production",
        "LOG_JSON": "true",
        "COOKIE_SECURE": "true",
        "DATABASE_URL": fresh,
        "REDIS_URL": private_redis.url,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOST": "127.0.0.1",
        "MARKETSIM_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
    }
    yield env
    drop_database(fresh)


@pytest.fixture(scope="module")
def migrated(role_env) -> subprocess.CompletedProcess[str]:
    return _run(role_env, "migrate")


@pytest.fixture(scope="module")
def seeded(role_env, migrated) -> subprocess.CompletedProcess[str]:
    assert migrated.returncode == 0, migrated.stderr
    return _run(role_env, "seed")


@pytest.fixture(scope="module")
def rdb(private_redis):
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sql(role_env, seeded):
    from models.session import make_engine

    engine = make_engine(role_env["DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def platform(role_env, seeded, proc_log_dir, rdb):
    """engine, marketsim, feed, worker and web, each started through the entrypoint."""
    assert seeded.returncode == 0, seeded.stderr
    sim_port, web_port = free_port(), free_port()
    env = {**role_env, "PORT": str(web_port)}
    # The feed reaches the simulator like a provider (how compose's `sim` profile wires it).
    feed_env = {
        **env,
        "TWELVEDATA_API_KEY": "marketsim",
        "TWELVEDATA_WS_URL": f"ws://127.0.0.1:{sim_port}/v1/quotes/price",
        "TWELVEDATA_REST_URL": f"http://127.0.0.1:{sim_port}",
    }
    procs = {
        "engine": Proc("role-engine", _role(env, "engine"), env, proc_log_dir),
        "marketsim": Proc("role-marketsim", _role(env, "marketsim", "--port", str(sim_port)), env, proc_log_dir),
        "feed": Proc("role-feed", _role(feed_env, "feed"), feed_env, proc_log_dir),
        "worker": Proc("role-worker", _role(env, "worker"), env, proc_log_dir),
        "web": Proc("role-web", _role(env, "web"), env, proc_log_dir),
    }
    for proc in procs.values():
        proc.start()
    yield {"procs": procs, "sim": f"http://127.0.0.1:{sim_port}", "web": f"http://127.0.0.1:{web_port}"}
    for proc in procs.values():
        proc.stop()


def _alive_or_log(platform: dict[str, Any], name: str) -> Proc:
    proc: Proc = platform["procs"][name]
    assert proc.alive(), proc.log_tail()
    return proc


# --- one test per role --------------------------------------------------------------------------


def test_migrate_role_builds_a_fresh_database_to_the_head_and_is_idempotent(role_env, migrated):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    assert migrated.returncode == 0, migrated.stderr
    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    from models.session import make_engine

    engine = make_engine(role_env["DATABASE_URL"])
    try:
        assert scalar(engine, "SELECT version_num FROM alembic_version") == head
    finally:
        engine.dispose()
    again = _run(role_env, "migrate")
    assert again.returncode == 0, again.stderr


def test_seed_role_creates_instruments_and_users_and_asks_the_engine_for_accounts(seeded, sql, rdb):
    from models import Instrument, User

    assert seeded.returncode == 0, seeded.stderr
    with sql.connect() as conn:
        assert conn.execute(select(text("count(*)")).select_from(Instrument)).scalar() == 7
        roles = dict(conn.execute(select(User.email, User.role)).all())
    assert roles["admin@example.com"] == "admin" and roles["demo@example.com"] == "client"
    assert rdb.xlen("engine:commands:0") == 3  # live + demo for the client, live for the admin


def test_engine_role_takes_the_shard_lease_and_opens_the_seeded_accounts(platform, rdb, sql):
    wait_for(lambda: rdb.hget(engine_status_key(0), "owner"), timeout=60, what="engine:status:0")
    _alive_or_log(platform, "engine")
    assert rdb.get("engine:lease:0") == rdb.hget(engine_status_key(0), "owner")
    wait_for(lambda: scalar(sql, "SELECT count(*) FROM accounts") == 3, timeout=30, what="the seeded accounts")
    demo = scalar(sql, "SELECT balance FROM accounts WHERE type = 'demo'")
    assert demo > 0  # the demo money is a ledger entry made by the engine


def test_marketsim_role_answers_like_the_provider(platform):
    response = wait_for(
        lambda: requests.get(
            f"{platform['sim']}/price", params={"symbol": "EUR/USD", "apikey": "marketsim"}, timeout=2
        ),
        timeout=30,
        what="marketsim",
    )
    assert response.status_code == 200
    assert "price" in response.json()
    _alive_or_log(platform, "marketsim")


def test_feed_role_streams_quotes_from_the_simulator(platform, rdb):
    wait_for(lambda: rdb.hget("md:status", "mode") == "ws", timeout=60, what="feed mode ws")
    wait_for(lambda: rdb.hlen(MD_LAST) >= 5, timeout=30, what="quotes in md:last")
    quote = json.loads(rdb.hget(MD_LAST, "EURUSD") or "{}")
    assert set(quote) == {"symbol", "bid", "ask", "ts"}
    _alive_or_log(platform, "feed")


def test_worker_role_registers_as_an_rq_worker_on_both_queues(platform, role_env):
    from rq import Worker

    proc = _alive_or_log(platform, "worker")
    wait_for(lambda: proc.pid in rq_worker_pids(role_env["REDIS_URL"]), timeout=60, what="the RQ worker")
    client = redis.Redis.from_url(role_env["REDIS_URL"])
    try:
        worker = next(w for w in Worker.all(connection=client) if w.pid == proc.pid)
        assert set(worker.queue_names()) == {"webhooks", "mail"}
    finally:
        client.close()


def test_web_role_is_ready_and_reports_engine_and_feed(platform):
    url = f"{platform['web']}/api/readyz"

    def ready() -> dict[str, Any] | None:
        body = requests.get(url, timeout=3).json()
        shards = body.get("engine", {}).get("shards", [])
        live = body.get("feed", {}).get("mode") == "ws" and shards and shards[0]["alive"]
        return body if body["status"] == "ok" and live else None

    body = wait_for(ready, timeout=60, what="readyz with a live engine and feed")
    assert body["checks"] == {"database": "ok", "redis": "ok"}
    assert body["degraded"] == []
    # Production: plain HTTP is redirected, probes are not.
    other = requests.get(f"{platform['web']}/api/market/symbols", allow_redirects=False, timeout=5)
    assert other.status_code == 308
    _alive_or_log(platform, "web")


def test_roles_log_json_lines(platform, rdb):
    wait_for(lambda: rdb.hget("md:status", "mode") == "ws", timeout=60, what="feed mode ws")
    for name in ("engine", "feed", "worker"):
        lines = [line for line in platform["procs"][name].log_path.read_text().splitlines() if line.startswith("{")]
        assert lines, f"{name} wrote no JSON log line"
        entry = json.loads(lines[0])
        assert {"ts", "level", "process", "logger", "message"} <= set(entry)


def test_unknown_role_runs_the_given_command():
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    result = subprocess.run(["sh", str(ENTRYPOINT), "python", "-c", "print('ok')"], env=env, capture_output=True)
    assert result.stdout.strip() == b"ok"


# --- docker-compose.yml without Docker ----------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _documented() -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.M))


def test_compose_runs_every_role_from_the_one_image(compose):
    services = compose["services"]
    for name in ("web", "engine", "feed", "worker", "migrate"):
        assert services[name]["command"][0] in ROLES, name
        assert services[name]["image"] == services["web"]["image"]
    entry = ENTRYPOINT.read_text()
    for role in ROLES:
        assert re.search(rf"^\s+{role}\)", entry, flags=re.M), f"entrypoint.sh lacks the {role} role"


def test_compose_migrates_first_and_waits_for_healthy_services(compose):
    services = compose["services"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "engine", "feed", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
    for name in ("postgres", "redis", "web", "engine", "feed", "worker"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert "/api/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_redis_keeps_an_append_only_file_synced_every_second(compose):
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert compose["services"]["redis"]["volumes"]


def test_compose_secrets_are_required_and_every_variable_is_documented(compose):
    raw = COMPOSE.read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", raw))
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", raw))
    assert SECRETS <= required, f"not required: {SECRETS - required}"
    assert used - _documented() - COMPOSE_ONLY == set()
    settings = {f.name.upper() for f in fields(Settings)}
    app_env = compose["services"]["web"]["environment"]
    assert set(app_env) - settings - PROCESS_ONLY == set(), "compose sets variables no setting reads"
    assert app_env["APP_ENV"] == "production"


def test_dockerfile_entrypoint_and_healthcheck_match_the_roles():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile
    assert "/api/healthz" in dockerfile
    assert "USER app" in dockerfile  # never root at runtime
    assert os.access(ENTRYPOINT, os.X_OK) or Path(ENTRYPOINT).read_text().startswith("#!/bin/sh")
