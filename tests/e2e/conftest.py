"""Browser tests: the built SPA in Debian's Chromium against the whole platform.

One platform per test package run (package scope): its own database (migrated and seeded) and
Redis database, a real SMTP server, and every process of the Procfile (marketsim, feed, engine,
worker, web under gunicorn) as real subprocesses. Failed tests leave a screenshot, a trace and the
process logs under test-artifacts/e2e/ (git-ignored); the dashboard screenshots always land there.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRETS, _create_database, _drop_database, migrate
from tests.smtp import SmtpSink, smtp_sink
from tests.support import Proc, free_port, redis_db_index, wait_for

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
REQUIRED_PROCESSES = ("web", "engine", "feed", "marketsim", "worker")
DESKTOP = {"width": 1440, "height": 900}


@dataclass
class Platform:
    base_url: str
    env: dict[str, str]
    mail: SmtpSink
    procs: dict[str, Proc] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=5) as res:  # noqa: S310 - our local server
            return json.loads(res.read())

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{proc.log_tail(40)}" for name, proc in self.procs.items())


def _procfile() -> dict[str, str]:
    entries: dict[str, str] = {}
    # E2E_PROCFILE: another Procfile, for trying the tests against processes not yet listed.
    for line in Path(os.environ.get("E2E_PROCFILE", ROOT / "Procfile")).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def _ensure_build() -> None:
    """`make test` builds the SPA first; a bare pytest run builds it here if it is missing."""
    if (DIST / "index.html").is_file():
        return
    frontend = ROOT / "frontend"
    if not (frontend / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=frontend, check=True)
    subprocess.run(["npm", "run", "build"], cwd=frontend, check=True)


def _redis_url(base: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    # A database index of its own, clear of the one the rest of the suite uses.
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{redis_db_index(7)}", "", ""))


def _run_flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


@pytest.fixture(scope="package")
def platform(redis_server_url: str) -> Iterator[Platform]:
    """The whole platform on fresh storage, for every browser test of this package."""
    import redis

    _ensure_build()
    entries = _procfile()
    # E2E_PROCESSES narrows the set while developing against a partial backend; CI runs all.
    wanted = [n for n in os.environ.get("E2E_PROCESSES", ",".join(REQUIRED_PROCESSES)).split(",") if n]
    missing = [name for name in wanted if name not in entries]
    assert not missing, f"the Procfile lacks {missing}: the browser tests need the whole platform"

    db_server = os.environ.get("TEST_DATABASE_SERVER_URL") or os.environ.get("DATABASE_URL")
    if not db_server:
        import launcher

        db_server = launcher.embedded_postgres_url()
    redis_server = redis_server_url  # this test process's server (tests/conftest.py)
    database_url = _create_database(db_server)
    migrate(database_url)
    redis_url = _redis_url(redis_server)
    redis.Redis.from_url(redis_url).flushdb()
    var_dir = Path(tempfile.mkdtemp(prefix="trading-e2e-var-"))
    log_dir = var_dir / "proc-logs"
    log_dir.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    with smtp_sink() as mail:
        env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "TWELVEDATA_", "SMTP_"))
            },
            **TEST_SECRETS,
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "COOKIE_SECURE": "false",
            "VAR_DIR": str(var_dir),
            "APP_BASE_URL": base_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MARKETSIM_PORT": str(free_port()),
            "SMTP_URL": mail.url,
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        _run_flask(env, "seed")
        plat = Platform(base_url=base_url, env=env, mail=mail)
        try:
            for name in ("marketsim", "engine", "feed", "worker", "web"):
                if name in wanted:
                    plat.procs[name] = Proc(name, shlex.split(entries[name]), env, log_dir).start()
            wait_for(lambda: plat.get_json("/api/readyz")["status"] == "ok", timeout=60, what="the web process")
            wait_for(
                lambda: all(s.get("quote") for s in plat.get_json("/api/market/symbols") if s["symbol"] == "BTCUSD"),
                timeout=60,
                what="live quotes from the feed",
            )
            yield plat
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "platform-logs.txt").write_text(plat.logs())
            raise
        finally:
            for proc in plat.procs.values():
                proc.stop()
            from models.session import engine_for

            engine_for.cache_clear()
            _drop_database(database_url)
            shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def fresh_rate_limits(platform: Platform) -> None:
    """Every browser test module starts with fresh per-IP budgets (logins, registrations, mails).

    All browser traffic comes from 127.0.0.1 and the platform lives for the whole package, so one
    module's sign-ins and sign-ups would otherwise spend the next module's budget (10 sign-ups an
    hour per IP) and make the tests depend on their order. The limits themselves stay on: the
    web enforces them exactly as in production, and their own tests live in tests/integration.
    """
    import redis

    client = redis.Redis.from_url(platform.env["REDIS_URL"])
    try:
        keys = list(client.scan_iter(match="LIMITS:*", count=1000))  # flask-limiter's Redis storage
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def new_context(browser: Any, platform: Platform, **options: Any) -> Any:
    """A fresh browser profile (no cookies, no storage) on the platform."""
    opts = {"viewport": DESKTOP, "base_url": platform.base_url, "locale": "en-GB", "timezone_id": "UTC", **options}
    context = browser.new_context(**opts)
    context.set_default_timeout(15_000)
    context.tracing.start(screenshots=True, snapshots=True)
    return context


@pytest.fixture()
def context(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = new_context(browser, platform)
    yield ctx
    finish_context(ctx, request, platform)


def finish_context(ctx: Any, request: pytest.FixtureRequest, platform: Platform) -> None:
    """Keep a trace, screenshots and logs of a failed test; then close the profile."""
    failed = request.node.stash.get(_FAILED, False)
    name = request.node.name.replace("/", "_")
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(ctx.pages):
            if not page.is_closed():
                page.screenshot(path=str(ARTIFACTS / f"{name}-failure-{i}.png"), full_page=True)
        ctx.tracing.stop(path=str(ARTIFACTS / f"{name}-trace.zip"))
        (ARTIFACTS / f"{name}-platform-logs.txt").write_text(platform.logs())
    else:
        ctx.tracing.stop()
    ctx.close()


@pytest.fixture()
def page(context: Any) -> Any:
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    assert not errors, f"uncaught errors in the page: {errors}"
