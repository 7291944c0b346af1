"""Fault: the feed's upstream goes away (the provider simulator stops) and comes back.

While it is gone the feed reports `down`, quotes age past the instrument's max_quote_age and market
orders are refused (no fill at a stale price), readyz stays 200 but lists the degraded feed. When
the provider returns, the feed reconnects by itself and orders fill at fresh prices again.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import text

from tests.integration.test_faults_support import (
    Platform,
    PrivateRedis,
    drop_database,
    new_database,
    open_funded_account,
    reconcile,
    report_recovery,
    seed_instruments,
    wait_logged,
)
from tests.integration.test_market_support import FAST_FEED
from tests.support import Proc, free_port, python_module

pytestmark = pytest.mark.slow

MAX_QUOTE_AGE_S = 3  # BTCUSD's limit in this test's database (the seed's is 30 s)


class Provider:
    """The simulator on a fixed port, so it can be stopped and started again where the feed expects it."""

    def __init__(self, env: dict[str, str], log_dir) -> None:
        self.port = free_port()
        self.env, self.log_dir = env, log_dir
        self.proc: Proc | None = None

    def start(self) -> None:
        args = python_module("feed.marketsim", "--port", str(self.port))
        self.proc = Proc(f"marketsim-{self.port}", args, self.env, self.log_dir).start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def answers(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/_sim/state", timeout=1).status_code == 200
        except requests.RequestException:
            return False


@pytest.fixture(scope="module")
def platform(test_env, proc_log_dir, database_url):
    server = PrivateRedis(proc_log_dir, aof=False).start()
    db_url = new_database(database_url)
    plat = Platform(test_env, proc_log_dir, db_url, server.url)
    seed_instruments(plat.sql)
    with plat.sql.begin() as conn:
        conn.execute(
            text("UPDATE instruments SET max_quote_age_s = :a WHERE symbol = 'BTCUSD'"), {"a": MAX_QUOTE_AGE_S}
        )
    provider = Provider(plat.env, proc_log_dir)
    provider.start()
    wait_logged(provider.answers, 30, "the simulator", [provider.proc])
    feed_env = {**plat.env, **FAST_FEED, "MARKETSIM_PORT": str(provider.port), "TWELVEDATA_API_KEY": ""}
    plat.procs["feed"] = Proc("feed", python_module("feed"), feed_env, proc_log_dir).start()
    wait_logged(lambda: plat.r.hget("md:status", "mode") == "ws", 30, "the feed", [plat.procs["feed"]])
    plat.engine()
    plat.web()
    yield plat, provider
    plat.stop()
    provider.stop()
    server.close()
    drop_database(db_url)


def _order(client, account: int) -> tuple[int, dict]:
    body = {"account_id": account, "symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"}
    response = client.post("/api/orders", body)
    return response.status_code, response.json()


def _quote_age_s(plat: Platform) -> float:
    quote = json.loads(plat.r.hget("md:last", "BTCUSD") or "{}")
    return time.time() - int(quote.get("ts", 0)) / 1000


def test_losing_the_upstream_refuses_stale_fills_and_recovers_by_itself(platform):
    plat, provider = platform
    procs = list(plat.procs.values())
    user_id, client = plat.client()
    account = open_funded_account(plat.sql, plat.r, user_id)
    status, body = _order(client, account)
    assert status == 201, body

    provider.stop()
    cut_at = time.monotonic()
    down = wait_logged(lambda: plat.r.hget("md:status", "mode") == "down" and time.monotonic(), 30, "down", procs)
    status_code, ready = plat.readyz()
    assert status_code == 200 and ready["feed"]["mode"] == "down"
    assert "feed down" in ready["degraded"]
    wait_logged(lambda: _quote_age_s(plat) > MAX_QUOTE_AGE_S + 1, 30, "the last quote to go stale", procs)
    status, body = _order(client, account)
    assert status == 422 and body["error"]["code"] == "stale_quote", body
    trades_before = _trades(plat, account)

    provider.start()
    back_at = time.monotonic()
    ws_at = wait_logged(lambda: plat.r.hget("md:status", "mode") == "ws" and time.monotonic(), 60, "ws again", procs)
    fresh_at = wait_logged(lambda: _quote_age_s(plat) < 1 and time.monotonic(), 30, "fresh quotes", procs)
    status, body = wait_logged(lambda: (r := _order(client, account))[0] == 201 and r, 30, "a fill", procs)
    filled_at = time.monotonic()
    assert _trades(plat, account) == trades_before + 1
    assert plat.readyz()[1]["feed"]["mode"] == "ws"
    for name, proc in plat.procs.items():
        assert proc.alive(), f"{name} died:\n{proc.log_tail()}"
    result = reconcile(plat.env)
    assert result.returncode == 0, result.stdout + result.stderr

    report_recovery(
        "feed_upstream_cut",
        down_reported_after_cut_s=round(down - cut_at, 2),
        ws_after_provider_back_s=round(ws_at - back_at, 2),
        fresh_quotes_after_provider_back_s=round(fresh_at - back_at, 2),
        first_fill_after_provider_back_s=round(filled_at - back_at, 2),
        max_quote_age_s=MAX_QUOTE_AGE_S,
    )


def _trades(plat: Platform, account: int) -> int:
    with plat.sql.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM trades t JOIN orders o ON o.id = t.order_id WHERE o.account_id = :a"),
                {"a": account},
            ).scalar_one()
        )
