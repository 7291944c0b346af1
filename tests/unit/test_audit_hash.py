import json
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


# --- the orjson shortcut to the canonical text -----------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_any_text = st.text(st.characters(codec="utf-8"), max_size=12)  # control characters, DEL, non-ASCII
_ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _any_text | _ascii_text
_plain_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_any_text | _ascii_text, inner, max_size=4)
    ),
    max_leaves=12,
)


@given(_plain_values)
def test_orjson_shortcut_writes_the_canonical_text_or_declines(value):
    from common.audit import _canonical, _orjson_canonical, _plain

    assert _plain(value)
    fast = _orjson_canonical(value)
    assert fast is None or fast == _canonical(value)


# A backslash followed by "u" reads like an escape: the shortcut declines such (rare) text.
_no_backslash = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="\\"), max_size=12)


@given(st.dictionaries(_no_backslash, _no_backslash | st.integers(-(2**62), 2**62) | st.booleans() | st.none()))
def test_orjson_shortcut_takes_printable_ascii(value):
    from common.audit import _canonical, _orjson_canonical

    assert _orjson_canonical(value) == _canonical(value)


@given(
    st.fixed_dictionaries(
        {
            "actor_id": st.none() | _any_text,
            "ip": st.none() | _ascii_text,
            "user_agent": st.none() | _any_text,
            "target_id": st.none() | _any_text,
            "details": st.dictionaries(_any_text | _ascii_text, _plain_values, max_size=4),
        }
    )
)
def test_prepared_rows_hash_what_verification_recomputes_whichever_path_they_take(fields):
    import json

    from common.audit import _COLUMNS, AuditEntry, link_rows, prepare_rows

    entry = AuditEntry("order.place", actor_type="user", target_type="order", **fields)
    rows, hashes = link_rows(None, prepare_rows([entry], now=datetime(2026, 1, 2, tzinfo=UTC)))
    stored = dict(zip(_COLUMNS, rows[0], strict=True))
    stored["details"] = json.loads(stored["details"])
    assert row_hash(GENESIS_HASH, stored) == hashes[0]


def test_engine_rows_take_the_orjson_shortcut(monkeypatch):
    """An order's audit row (ASCII text, ints, None) is written without json.dumps at all."""
    import common.audit as audit

    def slow(*args, **kwargs):
        raise AssertionError("the slow path was taken")

    monkeypatch.setattr(audit, "_canonical", slow)
    monkeypatch.setattr(audit, "_value_json", slow)
    details = {"account_id": 1, "position_id": 5, "side": "buy", "symbol": "EURUSD", "volume": "0.01", "sl": None}
    entry = audit.AuditEntry("order.place", actor_type="user", actor_id="7", target_type="order", details=details)
    rows, _ = audit.link_rows(None, audit.prepare_rows([entry], now=datetime(2026, 1, 2, tzinfo=UTC)))
    assert json.loads(rows[0][11]) == details
