"""Reconnect backoff, the client-event budget and REST credits, with time as an argument."""

import random

from feed.policy import Backoff, CreditBudget, EventBudget, next_day, next_minute


def test_backoff_doubles_from_one_second_up_to_the_cap_with_jitter():
    backoff = Backoff(cap=30, jitter=0.2, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, raw in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30], strict=True):
        assert raw * 0.8 <= delay <= raw * 1.2


def test_backoff_never_gives_up():
    backoff = Backoff(cap=5, jitter=0.0)
    assert [backoff.next_delay() for _ in range(100)][-1] == 5


def test_a_healthy_connection_resets_the_backoff_and_a_short_one_does_not():
    backoff = Backoff(jitter=0.0, healthy_after=60)
    for _ in range(4):
        backoff.next_delay()
    backoff.connection_ended(5)
    assert backoff.next_delay() == 16
    backoff.connection_ended(61)
    assert backoff.next_delay() == 1


def test_event_budget_stops_at_the_limit_within_a_minute():
    budget = EventBudget(limit=3)
    for t in (0.0, 1.0, 2.0):
        assert budget.can_send(t)
        budget.record(t)
    assert not budget.can_send(3.0)
    assert budget.wait_time(3.0) == 57.0
    assert budget.can_send(60.5)


def test_rate_limit_message_pauses_all_but_heartbeats_until_the_next_minute():
    budget = EventBudget(limit=90)
    budget.pause_to_next_minute(125.0)
    assert not budget.can_send(130.0)
    assert budget.can_send(130.0, heartbeat=True)
    assert budget.wait_time(130.0) == 50.0
    assert budget.can_send(180.0)


def test_credit_budget_resets_each_minute_and_pauses_after_a_429():
    credits = CreditBudget(per_minute=8)
    credits.spend(6, 10.0)
    assert credits.available(20.0) == 2
    assert credits.available(61.0) == 8
    credits.pause(next_minute(61.0))
    assert credits.available(90.0) == 0
    assert credits.available(120.0) == 8


def test_next_minute_and_next_day():
    assert next_minute(125.5) == 180
    assert next_day(90_000) == 172_800
