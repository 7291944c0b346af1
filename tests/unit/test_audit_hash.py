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


def test_prepared_and_linked_rows_hash_what_verification_recomputes_from_the_stored_row():
    """prepare_rows takes a shortcut to each hash; verify_chain recomputes it with row_hash from the
    row as PostgreSQL gives it back (details parsed from JSON). Both must agree on every kind of row."""
    import json

    from common.audit import _COLUMNS, AuditEntry, link_rows, prepare_rows

    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    entries = [
        AuditEntry("order.place", actor_type="user", actor_id="7", target_type="order", target_id="9", details={}),
        AuditEntry(
            "auth.login",
            outcome="failure",
            actor_id='ünïcode "quoted" \\ back\tslash',
            ip="10.0.0.1",
            user_agent="Mozilla/5.0 (X11) — ✓",
            request_id="r-1",
            details={"b": [1, 2.5, None, {"z": True, "a": "é"}], "a": {"nested": "x"}, "token": "hidden"},
        ),
        # Int keys sort as numbers in the first dumps and as strings once read back: the slow path.
        AuditEntry("account.stop_out", details={"positions": {9: "a", 10: "b"}}),
        AuditEntry("account.stop_out", details={"batches": [[{"ok": 1}], {9: "a", 10: "b"}]}),
        # A non-str field (an int id from a careless caller) takes the slow path too.
        AuditEntry("x.y", actor_id=5, target_id=6, details={"amount": "1.50"}),  # type: ignore[arg-type]
    ]
    rows, hashes = link_rows(None, prepare_rows(entries, now=at))
    prev = GENESIS_HASH
    for row, digest in zip(rows, hashes, strict=True):
        stored = dict(zip(_COLUMNS, row, strict=True))
        stored["details"] = json.loads(stored["details"])  # JSONB hands back a dict
        assert stored["hash"] == digest
        assert stored["prev_hash"] == prev
        assert row_hash(prev, stored) == digest
        prev = digest
    assert "hidden" not in rows[1][11]
