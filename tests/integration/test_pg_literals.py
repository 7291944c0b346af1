"""The engine's own SQL literals (common.pgcopy.values_sql): PostgreSQL reads back exactly what was
written, for every value the engine writes, including hostile text; the driver's quoting is used
when the server does not treat backslashes as ordinary characters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.pgcopy import values_sql

decimals = st.builds(
    lambda digits, exponent, negative: Decimal(digits).scaleb(exponent).copy_sign(Decimal(-1 if negative else 1)),
    st.integers(0, 10**20),
    st.integers(-30, 30),
    st.booleans(),
)
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))
hostile = st.lists(st.sampled_from(["'", "\\", '"', "-", ";", "%s", "%", "$$", "\n", "é", "E'", "x"])).map("".join)
COLUMNS = "t text, n numeric, i bigint, b boolean, d timestamptz"
TEMPLATE = "(%s::text, %s::numeric, %s::bigint, %s::boolean, %s::timestamptz)"


@pytest.fixture()
def cur(sql_engine) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    raw = sql_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"CREATE TEMP TABLE literal_check ({COLUMNS})")
        yield cursor
    finally:
        raw.rollback()
        raw.close()


def _round_trip(cur: Any, rows: list[tuple[Any, ...]], template: str | None = None) -> list[tuple[Any, ...]]:
    cur.execute("SAVEPOINT example")  # a failing example must not abort the next one's transaction
    try:
        cur.execute("DELETE FROM literal_check")
        cur.execute(f"INSERT INTO literal_check VALUES {values_sql(cur, rows, template)}")
        cur.execute("SELECT t, n, i, b, d FROM literal_check ORDER BY i")
        return list(cur.fetchall())
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT example")


row = st.tuples(
    texts | hostile | st.none(),
    decimals | st.none(),
    st.integers(-(2**63) + 1, 2**63 - 1),  # -2**63 is "- 9223372036854775808": out of range as a bigint (mogrify alike)
    st.booleans() | st.none(),
    st.datetimes(timezones=st.just(UTC)) | st.none(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=6, unique_by=lambda r: r[2]))
def test_values_read_back_exactly(cur: Any, rows: list[tuple[Any, ...]]) -> None:
    expected = sorted(rows, key=lambda r: r[2])
    assert _round_trip(cur, rows) == expected
    assert _round_trip(cur, rows, TEMPLATE) == expected


def test_examples_that_break_naive_quoting(cur: Any) -> None:
    rows = [
        ("'); DROP TABLE literal_check; --", Decimal("-1E+2"), -5, True, datetime(2026, 1, 2, 3, 4, 5, 6, UTC)),
        ("\\'", Decimal("0E-8"), 7, False, None),
        ("%s %% $$", Decimal("-0.0000001"), -(2**63) + 1, None, None),
    ]
    assert _round_trip(cur, rows) == sorted(rows, key=lambda r: r[2])
    assert "-(" not in values_sql(cur, rows) and "--" not in values_sql(cur, rows).replace(
        "'); DROP TABLE literal_check; --", ""
    )


def test_nul_in_text_is_refused(cur: Any) -> None:
    with pytest.raises(ValueError, match="NUL"):
        values_sql(cur, [("a\x00b", None, 1, None, None)])


def test_without_standard_conforming_strings_the_driver_quotes(cur: Any) -> None:
    cur.execute("SET LOCAL standard_conforming_strings = off")
    assert cur.connection.get_parameter_status("standard_conforming_strings") == "off"
    rows = [("back\\slash 'quote'", Decimal("1.5"), 1, True, None)]
    assert "back\\\\slash" in values_sql(cur, rows)  # the driver doubles the backslash
    assert _round_trip(cur, rows) == rows
