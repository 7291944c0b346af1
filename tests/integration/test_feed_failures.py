"""The feed when the provider says no: a bad key, symbols outside the plan, a second feed process."""

from __future__ import annotations

import pytest

from tests.integration.test_market_support import (
    clear_market_keys,
    ensure_instruments,
    last_quote,
    md_status,
    start_feed,
    start_sim,
    with_logs,
)

SECRET_KEY = "td-key-not-for-logs-4f9a"


@pytest.fixture(scope="module")
def sim(test_env, proc_log_dir):
    simulator = start_sim(test_env, proc_log_dir)
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def _clean(sim, sql_engine, redis_client):
    ensure_instruments(sql_engine)
    clear_market_keys(redis_client)
    sim.reset()
    yield
    clear_market_keys(redis_client)


def _provider_env(sim, key: str) -> dict[str, str]:
    """Production settings (a real key and URLs) pointed at the simulator."""
    return {
        "TWELVEDATA_API_KEY": key,
        "TWELVEDATA_WS_URL": sim.ws_url,
        "TWELVEDATA_REST_URL": sim.base,
    }


def test_a_bad_key_is_fatal_reported_as_down_and_never_logged(sim, procs, test_env, proc_log_dir, redis_client):
    feed = start_feed(test_env, proc_log_dir, sim, **_provider_env(sim, SECRET_KEY))
    procs.append(feed)
    with_logs(lambda: "auth_failed" in str(md_status(redis_client).get("error")), 15, "auth failure reported", feed)
    with_logs(lambda: md_status(redis_client)["mode"] == "down", 10, "mode down", feed)
    status = md_status(redis_client)
    assert status["source"] == "twelvedata" and status["ws_connected"] is False
    assert redis_client.hlen("md:last") == 0
    handshakes = sim.stat("ws_auth_refused")
    assert handshakes == 1  # fatal: not retried in a loop (next try after MD_AUTH_RETRY_S)
    with_logs(lambda: sim.stat("rest/api_usage") + sim.stat("rest/quote") >= 1, 10, "REST tried once", feed)
    assert feed.alive()
    feed.stop()
    assert SECRET_KEY not in feed.log_path.read_text()
    assert sim.stat("ws_auth_refused") == handshakes


def test_symbols_outside_the_plan_are_reported_served_by_rest_and_not_retried_in_a_loop(
    sim, procs, test_env, proc_log_dir, redis_client
):
    sim.add_keys(**{"basic-key": "basic"})  # WebSocket trial: 8 trial symbols; WTI/USD is paid-only on REST
    feed = start_feed(test_env, proc_log_dir, sim, **_provider_env(sim, "basic-key"))
    procs.append(feed)
    with_logs(lambda: md_status(redis_client).get("mode") == "ws", 15, "WebSocket live for trial symbols", feed)
    with_logs(
        lambda: {"GBPUSD", "WTI"} <= set(md_status(redis_client).get("failed_symbols", [])),
        10,
        "failed symbols reported",
        feed,
    )
    with_logs(lambda: last_quote(redis_client, "GBPUSD") is not None, 20, "GBPUSD from REST", feed)
    with_logs(
        lambda: "not available with your plan" in md_status(redis_client)["failures"].get("WTI", ""),
        20,
        "WTI refused by REST too",
        feed,
    )
    assert last_quote(redis_client, "WTI") is None
    assert last_quote(redis_client, "EURUSD") is not None  # a trial symbol streams
    status = md_status(redis_client)
    assert "GBPUSD" in status["rest_symbols"] and "EURUSD" not in status["rest_symbols"]
    assert sim.stat("subscribe_messages") == 1  # the failures were not re-subscribed in a loop


def test_a_second_feed_stands_by_while_the_first_holds_the_upstream(sim, procs, test_env, proc_log_dir, redis_client):
    first = start_feed(test_env, proc_log_dir, sim, name="feed-a")
    procs.append(first)
    with_logs(lambda: md_status(redis_client).get("mode") == "ws", 15, "first feed live", first)
    second = start_feed(test_env, proc_log_dir, sim, name="feed-b")
    procs.append(second)
    with_logs(lambda: "standing by" in second.log_path.read_text(), 15, "second feed on standby", second)
    assert len(sim.state()["connections"]) == 1
    first.stop()
    with_logs(lambda: len(sim.state()["connections"]) == 1 and second.alive(), 20, "standby takes over", second)
    with_logs(lambda: md_status(redis_client).get("mode") == "ws", 20, "second feed live", second)
