from datetime import UTC, datetime

from common.audit import GENESIS_HASH, row_hash, scrub


def _row(**overrides):
    row = {
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "actor_type": "user",
        "actor_id": "7",
        "impersonator_id": None,
        "action": "auth.login",
        "target_type": "user",
        "target_id": "7",
        "ip": "10.0.0.1",
        "user_agent": "pytest",
        "request_id": "r1",
        "outcome": "success",
        "details": {"b": 1, "a": "x"},
    }
    row.update(overrides)
    return row


def test_hash_depends_on_every_field_and_the_previous_hash():
    base = row_hash(GENESIS_HASH, _row())
    assert base == row_hash(GENESIS_HASH, _row(details={"a": "x", "b": 1}))
    assert base != row_hash("1" * 64, _row())
    for field, value in [
        ("actor_id", "8"),
        ("action", "auth.logout"),
        ("ip", "10.0.0.2"),
        ("outcome", "failure"),
        ("details", {"a": "y", "b": 1}),
    ]:
        assert row_hash(GENESIS_HASH, _row(**{field: value})) != base, field


def test_scrub_removes_secrets_at_any_depth():
    clean = scrub({"password": "p", "nested": {"refresh_token": "t"}, "email": "a@b.c", "reject_code": "x"})
    assert clean == {
        "password": "[redacted]",
        "nested": {"refresh_token": "[redacted]"},
        "email": "a@b.c",
        "reject_code": "x",
    }
