"""The hot-path formatters give exactly what the slow, obvious formats give."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from common.pgcopy import copy_rows, copy_text
from engine.core.money import fmt

# Prices, volumes and money: up to 20 digits, exponents from -30 to 30 (unbounded exponents would
# have format() write a million zeros, which says nothing more and takes seconds).
decimals = st.builds(
    lambda digits, exponent, negative: Decimal(digits).scaleb(exponent).copy_sign(Decimal(-1 if negative else 1)),
    st.integers(0, 10**20),
    st.integers(-30, 30),
    st.booleans(),
)


@given(decimals)
def test_fmt_is_plain_notation_like_format_f(value: Decimal) -> None:
    text = fmt(value)
    assert text == format(value, "f")
    assert "E" not in text and "e" not in text


def test_fmt_examples_with_exponents() -> None:
    assert fmt(Decimal("1E+2")) == "100"
    assert fmt(Decimal("0E-8")) == "0.00000000"
    assert fmt(Decimal("-0.0000001")) == "-0.0000001"
    assert fmt(None) is None


def _reference(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


@given(
    st.lists(
        st.tuples(
            st.none() | st.booleans() | st.integers() | decimals | st.text() | st.datetimes(timezones=st.just(UTC)),
            st.text(alphabet=st.sampled_from("ab\\\t\n\r'\"")),
        ),
        max_size=5,
    )
)
def test_copy_text_escapes_like_the_reference(rows: list[tuple[object, str]]) -> None:
    text = copy_text(rows)
    assert text == "".join("\t".join(_reference(v) for v in row) + "\n" for row in rows)


def test_copy_text_decimals_are_read_exactly_by_numeric_input() -> None:
    # str() of a Decimal may use an exponent; PostgreSQL's numeric input takes it exactly,
    # and so does Decimal(), which parses the same grammar.
    for value in (Decimal("1E+2"), Decimal("0E-8"), Decimal("-12.34500"), Decimal("123456789.123456789")):
        assert Decimal(copy_text([(value,)]).strip()) == value


def test_copy_rows_hands_the_driver_the_whole_batch_in_one_read() -> None:
    """psycopg2 reads COPY data in `size` pieces and needs the GIL back for each one; the engine
    thread holds it for up to the switch interval (5 ms) each time, so a 100 kB batch in 8 kB
    pieces spent most of its COPY waiting. One read, one send."""
    reads: list[int] = []

    class Cursor:
        def copy_expert(self, sql: str, file, size: int = 8192) -> None:  # type: ignore[no-untyped-def]
            while chunk := file.read(size):
                reads.append(len(chunk))

    rows = [(i, "EURUSD", Decimal("1.08490"), None, True) for i in range(2000)]
    copy_rows(Cursor(), "t", "a, b, c, d, e", rows)
    assert reads == [len(copy_text(rows))] and reads[0] > 8192


def test_copy_text_remembers_utc_instants_but_not_other_zones() -> None:
    from datetime import timedelta, timezone

    utc = datetime(2026, 12, 4, 18, 0, 0, 123000, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == paris  # the same instant: a cache keyed on equality alone would mix their texts
    assert copy_text([(utc,), (paris,), (utc,)]) == (
        "2026-12-04T18:00:00.123000+00:00\n2026-12-04T19:00:00.123000+01:00\n2026-12-04T18:00:00.123000+00:00\n"
    )
    assert copy_text([(paris,)]) == "2026-12-04T19:00:00.123000+01:00\n"
