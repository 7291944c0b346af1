"""Session fixtures: a fresh PostgreSQL database and a Redis database for this run.

With DATABASE_URL / REDIS_URL set, the test database is created on that server; otherwise the
embedded servers of the launcher are used (the same code path as `make run`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import PrivateRedis, Proc, redis_db_index  # noqa: E402

TEST_SECRETS = {
    "SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
    "JWT_SECRET_KEY": "test-jwt-secret-0123456789abcdef0123456789",
    "DATA_ENCRYPTION_KEY": "test-data-key-0123456789abcdef0123456789ab",
}


def _create_database(server_url: str) -> str:
    import psycopg2
    from sqlalchemy.engine import make_url

    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = make_url(server_url)
    admin = psycopg2.connect(
        url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg2", "")
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_database(db_url: str) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    admin = psycopg2.connect(
        url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg2", "")
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.close()


def _redis_db_url(base: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{redis_db_index()}", parts.query, parts.fragment))


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations to a database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, revision)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = os.environ.get("TEST_DATABASE_SERVER_URL") or os.environ.get("DATABASE_URL")
    if not server:
        import launcher

        server = launcher.embedded_postgres_url()
    url = _create_database(server)
    migrate(url)
    yield url
    from models.session import engine_for

    engine_for.cache_clear()
    _drop_database(url)


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis server of this test process.

    The first (or only) pytest process uses the configured server (TEST_REDIS_SERVER_URL or
    REDIS_URL, else the embedded one). Further pytest-xdist workers get a private redis-server
    (tests.support.PrivateRedis): Pub/Sub channels are server-wide, the
    database index does not separate them, so two workers' quote and account events would mix.
    """

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = os.environ.get("TEST_REDIS_SERVER_URL") or os.environ.get("REDIS_URL")
    if worker == "gw0":
        if not base:
            import launcher

            base = launcher.embedded_redis_url()
        yield base
        return
    server = PrivateRedis(tmp_path_factory.mktemp("redis"), aof=False).start()
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def redis_url(redis_server_url: str) -> str:
    import redis

    url = _redis_db_url(redis_server_url)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="session")
def var_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="trading-test-var-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def test_env(database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of this test run, for in-process code and for the processes tests start."""
    env = {
        **TEST_SECRETS,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "COOKIE_SECURE": "false",
        "VAR_DIR": str(var_dir),
        "APP_BASE_URL": "http://127.0.0.1:8000",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    from config import get_settings

    get_settings.cache_clear()
    return {**os.environ, **env}


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from config import from_env

    return from_env(test_env)


@pytest.fixture(scope="session")
def app(settings):  # type: ignore[no-untyped-def]
    from web import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture(scope="session")
def redis_client(redis_url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture(scope="session")
def sql_engine(database_url: str):  # type: ignore[no-untyped-def]
    from models.session import engine_for

    return engine_for(database_url)


@pytest.fixture()
def db_session(sql_engine):  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    with Session(sql_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(scope="session")
def proc_log_dir(var_dir: Path) -> Path:
    path = var_dir / "proc-logs"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture()
def procs(test_env: dict[str, str], proc_log_dir: Path) -> Iterator[list[Proc]]:
    """Processes started by a test; all stopped at its end (their logs shown if it failed)."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()
