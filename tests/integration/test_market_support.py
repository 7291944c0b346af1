"""Helpers of the market-data integration tests: the simulator, the feed and the web as real processes.

(No tests here; the test_feed_*, test_market_* and test_stream_* modules import these.)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.support import Proc, Timeout, free_port, python_module, wait_for

T = TypeVar("T")

# Fast liveness settings: a silent socket is noticed in 3 s, a lost one retried within about a second.
FAST_FEED = {
    "MD_HEARTBEAT_S": "1",
    "MD_PING_INTERVAL_S": "2",
    "MD_PONG_TIMEOUT_S": "2",
    "MD_IDLE_TIMEOUT_S": "3",
    "MD_BACKOFF_MAX_S": "1",
    "MD_FALLBACK_AFTER_S": "1",
    "MD_INSTRUMENTS_REFRESH_S": "1",
}
MD_KEYS = ("md:ticks", "md:last", "md:status", "md:feed:lease")


def ensure_instruments(sql_engine: Any) -> None:
    """The seed's instruments exist and are enabled (other tests may add more)."""
    from models import Instrument
    from web.seed_data import INSTRUMENTS

    with Session(sql_engine) as session:
        have = set(session.execute(select(Instrument.symbol)).scalars())
        for spec in INSTRUMENTS:
            if spec["symbol"] not in have:
                session.add(Instrument(**spec))
        session.execute(
            update(Instrument).where(Instrument.symbol.in_([s["symbol"] for s in INSTRUMENTS])).values(enabled=True)
        )
        session.commit()


def clear_market_keys(redis_client: Any) -> None:
    redis_client.delete(*MD_KEYS)
    for key in redis_client.scan_iter("md:candles:sync:*"):
        redis_client.delete(key)


def with_logs(predicate: Callable[[], T], timeout: float, what: str, *procs: Proc) -> T:
    """wait_for, and on failure show what the processes logged."""
    try:
        return wait_for(predicate, timeout=timeout, what=what)
    except Timeout as exc:
        logs = "\n".join(f"--- {p.name} ---\n{p.log_tail(40)}" for p in procs)
        raise Timeout(f"{exc}\n{logs}") from None


class Sim:
    """A running feed.marketsim process and its control endpoints."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/v1/quotes/price"

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.base}{path}", params=params, timeout=10)

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.base}/_sim/state", timeout=5).json()

    def stat(self, name: str) -> int:
        return int(self.state()["stats"].get(name, 0))

    def faults(self, **switches: Any) -> dict[str, Any]:
        response = requests.post(f"{self.base}/_sim/faults", json=switches, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def action(self, action: str, **extra: Any) -> int:
        response = requests.post(f"{self.base}/_sim/actions", json={"action": action, **extra}, timeout=5)
        assert response.status_code == 200, response.text
        return int(response.json()["connections"])

    def add_keys(self, **keys: str) -> None:
        assert requests.post(f"{self.base}/_sim/keys", json=keys, timeout=5).status_code == 200

    def reset(self) -> None:
        assert requests.post(f"{self.base}/_sim/reset", json={}, timeout=5).status_code == 200

    def stop(self) -> None:
        self.proc.stop()


def start_sim(env: dict[str, str], log_dir: Path, *args: str) -> Sim:
    port = free_port()
    proc = Proc("marketsim", python_module("feed.marketsim", "--port", str(port), *args), env, log_dir).start()
    sim = Sim(proc, port)
    with_logs(lambda: sim.state(), 30, "marketsim to answer", proc)
    return sim


def start_feed(env: dict[str, str], log_dir: Path, sim: Sim, name: str = "feed", **overrides: str) -> Proc:
    """The real feed process against the simulator (MARKETSIM_PORT, key "marketsim" unless overridden)."""
    feed_env = {**env, **FAST_FEED, "MARKETSIM_PORT": str(sim.port), "TWELVEDATA_API_KEY": "", **overrides}
    return Proc(name, python_module("feed"), feed_env, log_dir).start()


def start_web(env: dict[str, str], log_dir: Path, **overrides: str) -> tuple[Proc, int]:
    """gunicorn with one gevent worker, as the Procfile runs it."""
    port = free_port()
    web_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "RATELIMIT_ENABLED": "false", **overrides}
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    proc = Proc("web", args, web_env, log_dir).start()
    with_logs(
        lambda: requests.get(f"http://127.0.0.1:{port}/api/healthz", timeout=2).status_code == 200,
        60,
        "gunicorn to answer",
        proc,
    )
    return proc, port


def md_status(redis_client: Any) -> dict[str, Any]:
    """md:status with its JSON fields decoded."""
    raw = redis_client.hgetall("md:status")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def last_quote(redis_client: Any, symbol: str) -> dict[str, Any] | None:
    raw = redis_client.hget("md:last", symbol)
    return json.loads(raw) if raw else None
