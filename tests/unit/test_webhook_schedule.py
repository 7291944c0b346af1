"""Retry schedule, jitter, Retry-After parsing and event filters of outgoing webhooks."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from config import Settings
from workers.dispatcher import EVENT_TYPES, matches, validate_patterns
from workers.webhooks import jittered, parse_schedule, retry_after_seconds


def test_the_default_schedule_retries_for_more_than_a_day():
    schedule = parse_schedule(Settings().webhook_retry_schedule)
    assert schedule == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert sum(schedule) >= 24 * 3600
    assert min(jittered(schedule, random.Random(1))) >= 4  # even with -10 % jitter


def test_schedule_units_and_bad_entries():
    assert parse_schedule(["1", "2s", "3m", "1h", "1d"]) == [1, 2, 180, 3600, 86400]
    with pytest.raises(ValueError):
        parse_schedule(["soon"])


def test_jitter_stays_within_ten_percent_and_never_reaches_zero():
    rng = random.Random(7)
    for _ in range(200):
        value = jittered([100, 1], rng)
        assert 90 <= value[0] <= 110
        assert value[1] == 1


def test_retry_after_in_seconds_or_as_an_http_date_capped_at_a_day():
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=3), usegmt=True), now) == 180
    assert retry_after_seconds("999999", now) == 24 * 3600
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_endpoint_filters_match_exact_types_prefixes_and_everything():
    assert matches(None, "order.placed") and matches([], "order.placed")
    assert matches(["deposit.*"], "deposit.status_changed")
    assert not matches(["deposit.*"], "withdrawal.requested")
    assert matches(["margin_call"], "margin_call") and not matches(["margin_call"], "stop_out")
    assert all(matches(["*"], t) for t in EVENT_TYPES)


def test_unknown_event_filters_are_refused():
    assert validate_patterns(["deposit.*", "user.created", "deposit.*"]) == ["deposit.*", "user.created"]
    with pytest.raises(ValueError):
        validate_patterns(["deposit.aproved"])
    with pytest.raises(ValueError):
        validate_patterns(["Deposit Requested"])


def test_receiver_tokens_in_urls_stay_out_of_logs_and_audit_rows():
    from workers.webhooks import _safe_error, safe_url

    assert safe_url("https://crm.example.com/hooks?token=s3cret") == "https://crm.example.com/hooks?…"
    assert safe_url("https://crm.example.com/hooks") == "https://crm.example.com/hooks"
    error = _safe_error("Max retries exceeded with url: /hooks?token=s3cret (Caused by NewConnectionError)")
    assert "s3cret" not in error and "/hooks?…" in error
