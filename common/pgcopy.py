"""Bulk inserts over psycopg2: COPY for large groups of rows, one multi-row INSERT for small ones."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def cell(value: Any) -> str:
    """One value in COPY's text format (\\N for NULL, escaped backslashes, tabs and newlines)."""
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPES)
    if value is None:
        return "\\N"
    if kind is Decimal:
        return format(value, "f")
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime:
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def copy_rows(cur: Any, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
    """Bulk-insert rows with COPY (an order of magnitude cheaper than INSERT for batches)."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(cell(v) for v in row))
        buffer.write("\n")
    if buffer.tell():
        buffer.seek(0)
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def values_sql(cur: Any, rows: Sequence[Sequence[Any]], template: str | None = None) -> str:
    """The VALUES list of rows, safely quoted by the driver (for one multi-row INSERT)."""
    template = template or "(" + ",".join(["%s"] * len(rows[0])) + ")"
    return ",".join(cur.mogrify(template, row).decode() for row in rows)


COPY_FROM_ROWS = 100  # below this, one INSERT ... VALUES is cheaper than starting a COPY


def insert_rows(cur: Any, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows in one round trip: COPY for large groups, INSERT ... VALUES otherwise."""
    if not rows:
        return
    if len(rows) >= COPY_FROM_ROWS:
        copy_rows(cur, table, columns, rows)
    else:
        cur.execute(f"INSERT INTO {table} ({columns}) VALUES {values_sql(cur, rows)}")
