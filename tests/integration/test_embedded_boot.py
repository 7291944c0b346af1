"""The embedded default: with no DATABASE_URL/REDIS_URL the launcher starts PostgreSQL and Redis
under var/, the web answers /api/readyz, and the data survives a restart of the services."""

import os
import subprocess
import sys

import pytest
import requests

from tests.support import ROOT, Proc, free_port, wait_for


@pytest.fixture()
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "EMBEDDED_REDIS_PORT": str(free_port()), "APP_ENV": "development"})
    yield env
    subprocess.run([sys.executable, "launcher.py", "stop"], cwd=ROOT, env=env, timeout=60)


def _launcher(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "launcher.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_embedded_default_boots_and_keeps_data(embedded_env, tmp_path):
    setup = _launcher(embedded_env, "setup")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "embedded PostgreSQL" in setup.stderr and "embedded Redis" in setup.stderr

    port = free_port()
    web = Proc(
        "web-embedded",
        [
            sys.executable,
            "launcher.py",
            "exec",
            "--",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--workers",
            "1",
            "wsgi:app",
        ],
        {**embedded_env, "PORT": str(port)},
        tmp_path,
    ).start()
    try:
        ready = wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/api/readyz", timeout=2),
            timeout=60,
            what="embedded web readiness",
        )
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    finally:
        web.stop()

    marker = _launcher(
        embedded_env,
        "exec",
        "--",
        sys.executable,
        "-c",
        "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL']).set('boot-marker','kept')",
    )
    assert marker.returncode == 0, marker.stderr
    assert _launcher(embedded_env, "stop").returncode == 0

    check = _launcher(
        embedded_env,
        "exec",
        "--",
        sys.executable,
        "-c",
        "import os, redis, sqlalchemy as sa\n"
        "from models.session import make_engine\n"
        "e = make_engine(os.environ['DATABASE_URL'])\n"
        "print(e.connect().execute(sa.text('select count(*) from instruments')).scalar())\n"
        "print(redis.Redis.from_url(os.environ['REDIS_URL']).get('boot-marker').decode())",
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.split() == ["7", "kept"]
