"""Append-only, hash-chained audit rows, written by web and engine alike.

Each row's hash covers its own fields and the previous row's hash, so changing or deleting
any row breaks the chain at that row. Writers serialise on a PostgreSQL advisory lock held
until their transaction commits, so ids and the chain always agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, select

from common.pgcopy import insert_rows
from models.audit import AuditLog

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 0x41554449  # "AUDI"
SECRET_KEYS = ("password", "token", "secret", "code", "key", "otp")


class AuditEntry(NamedTuple):
    """What happened, who did it, to what, from where, and how it ended (details None = {})."""

    action: str
    outcome: str = "success"
    actor_type: str = "system"
    actor_id: str | None = None
    impersonator_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None
    created_at: datetime | None = None


_SECRET_KEY = re.compile("|".join(SECRET_KEYS))
_NOT_SECRET = ("reject_code", "error_code")


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
_secret_keys: dict[str, bool] = {}  # key -> names a secret (the keys in use are few: looked up once)


def _is_secret(key: str) -> bool:
    secret = _secret_keys.get(key)
    if secret is None:
        lower = key.lower()
        secret = bool(_SECRET_KEY.search(lower)) and lower not in _NOT_SECRET
        if len(_secret_keys) < 10_000:
            _secret_keys[key] = secret
    return secret


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    """Drop values whose keys name a secret; an audit row never holds one."""
    return _scrub(details)[0]


def _scrub(details: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """scrub(), and whether the result is plain (see _plain): found on the same walk."""
    clean: dict[str, Any] = {}
    plain = True
    for key, value in details.items():
        if type(key) is not str:
            plain = False
            key_text = str(key)
        else:
            key_text = key
        secret = _secret_keys.get(key_text)
        if secret is None:
            secret = _is_secret(key_text)
        if secret:
            clean[key] = "[redacted]"
        elif isinstance(value, dict):
            clean[key], nested_plain = _scrub(value)
            plain = plain and nested_plain
        else:
            clean[key] = value
            if plain and type(value) not in _PLAIN_SCALARS:
                plain = _plain(value)
    return clean, plain


def _canonical(row: Any) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)


def _plain(value: Any) -> bool:
    """True when `value` holds only str, int, bool, None, lists, tuples and dicts with str keys:
    values that orjson writes exactly as _canonical does, apart from the escapes _orjson_canonical
    checks for."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False


def _orjson_canonical(value: Any, option: int = orjson.OPT_SORT_KEYS) -> str | None:
    """_canonical's text, written by orjson, or None where the two could differ.

    For plain values (_plain) the two differ only in how a string is escaped: json.dumps writes
    everything outside printable ASCII as \\uXXXX, orjson writes UTF-8 and DEL as they are. Both
    write the same short escapes (\\" \\\\ \\n ...), so an all-ASCII text without \\u or
    DEL is the same text (checked against json.dumps in tests/unit/test_audit_hash.py).
    """
    try:
        raw = orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:  # an int beyond 64 bits
        return None
    if not raw.isascii() or b"\\u" in raw or b"\x7f" in raw:
        return None
    return raw.decode()


_json_string = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str (ensure_ascii)
# The canonical JSON of a row's hashed fields (keys in sorted order, as _canonical writes them),
# with each value already encoded: the details arrive as canonical text of their own.
_HASHED = (
    '{{"action":{action},"actor_id":{actor_id},"actor_type":{actor_type},"created_at":{created_at},'
    '"details":{details},"impersonator_id":{impersonator_id},"ip":{ip},"outcome":{outcome},'
    '"request_id":{request_id},"target_id":{target_id},"target_type":{target_type},"user_agent":{user_agent}}}'
)
_HASHED_FIELDS = (
    "action",
    "actor_id",
    "actor_type",
    "impersonator_id",
    "ip",
    "outcome",
    "request_id",
    "target_id",
    "target_type",
    "user_agent",
)


def _value_json(value: Any) -> str:
    if value is None:
        return "null"
    return _json_string(value) if type(value) is str else _canonical(value)


_STR_OR_NONE = frozenset({str, type(None)})


@lru_cache(maxsize=4096)  # a batch stamps its rows with a few instants
def _utc_text(moment: datetime) -> str:
    # Equal instants in any zone have the same UTC text, so caching on equality is exact.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _hashed_text(row: dict[str, Any], details_json: str) -> str:
    """The canonical JSON of the row's hashed fields (what follows the previous hash)."""
    created = _utc_text(row["created_at"])
    for name in _HASHED_FIELDS:
        if type(row[name]) not in _STR_OR_NONE:
            break
    else:
        # One orjson call over the fields in their sorted order (the details already encoded).
        fast = _orjson_canonical(
            {
                "action": row["action"],
                "actor_id": row["actor_id"],
                "actor_type": row["actor_type"],
                "created_at": created,
                "details": orjson.Fragment(details_json),
                "impersonator_id": row["impersonator_id"],
                "ip": row["ip"],
                "outcome": row["outcome"],
                "request_id": row["request_id"],
                "target_id": row["target_id"],
                "target_type": row["target_type"],
                "user_agent": row["user_agent"],
            },
            option=0,
        )
        if fast is not None:
            return fast
    encoded = {name: _value_json(row[name]) for name in _HASHED_FIELDS}
    return _HASHED.format(created_at=_json_string(created), details=details_json, **encoded)


def _link(prev_hash: str, text: str) -> str:
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


def _hash(prev_hash: str, row: dict[str, Any], details_json: str) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the row's fields."""
    return _link(prev_hash, _hashed_text(row, details_json))


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain hash of a row: SHA-256 over the previous hash and the row's canonical fields."""
    return _hash(prev_hash, row, _canonical(row["details"]))


def _str_keys(value: Any) -> bool:
    """True when every dict inside `value` has only str keys (their JSON text then sorts the same
    before and after a round trip through json.loads; an int key sorts as a number before)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str or (isinstance(item, _NESTED) and not _str_keys(item)):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(_str_keys(item) for item in value if isinstance(item, _NESTED))
    return True


_NESTED = (dict, list, tuple)


def _search_text(row: dict[str, Any], details_json: str) -> str:
    parts = [row["action"], row["actor_id"], row["target_id"], row["ip"], details_json]
    return " ".join(str(p) for p in parts if p)[:4000]


_COLUMNS = (
    "created_at",
    "actor_type",
    "actor_id",
    "impersonator_id",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "outcome",
    "details",
    "prev_hash",
    "hash",
    "search_text",
)


AUDIT_COLUMNS = ", ".join(_COLUMNS)
# One round trip: the lock, then the chain's tail. In READ COMMITTED each statement of a
# multi-statement query takes its own snapshot, so the SELECT sees every row committed before
# the lock was granted.
LOCK_AND_TAIL_SQL = (
    f"SELECT pg_advisory_xact_lock({AUDIT_LOCK_KEY}); SELECT hash FROM audit_logs ORDER BY id DESC LIMIT 1"
)


class PreparedRow(NamedTuple):
    """An audit row ready to be chained: everything but its link to the previous row."""

    cells: tuple[Any, ...]  # the first 12 AUDIT_COLUMNS (up to the details)
    text: str  # what the row's hash covers after the previous hash
    search_text: str


def prepare_rows(entries: Iterable[AuditEntry], now: datetime | None = None) -> list[PreparedRow]:
    """Scrub, serialise and lay out entries; done before the chain's lock is taken, which every
    writer of the chain waits on, so only the hashes are computed while it is held."""
    stamp = now or datetime.now(UTC)
    prepared: list[PreparedRow] = []
    for entry in entries:
        clean, plain = _scrub(entry.details or {})
        fast = _orjson_canonical(clean) if plain else None
        details_json = fast if fast is not None else _canonical(clean)
        row = {
            "created_at": entry.created_at or stamp,
            "actor_type": entry.actor_type,
            "actor_id": entry.actor_id,
            "impersonator_id": entry.impersonator_id,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": None if entry.target_id is None else str(entry.target_id),
            "ip": entry.ip,
            "user_agent": (entry.user_agent or None) and entry.user_agent[:512],
            "request_id": entry.request_id,
            "outcome": entry.outcome,
        }
        # The hash covers the details as they read back from the database; with str keys only,
        # that is details_json itself (an int key sorts differently once it has become a string).
        hashed_details = details_json if fast is not None or _str_keys(clean) else _canonical(json.loads(details_json))
        prepared.append(
            PreparedRow(
                (*(row[c] for c in _COLUMNS[:11]), details_json),
                _hashed_text(row, hashed_details),
                _search_text(row, details_json),
            )
        )
    return prepared


def link_rows(prev: str | None, prepared: Iterable[PreparedRow]) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The rows (in AUDIT_COLUMNS order) and hashes of prepared rows appended after the hash `prev`."""
    prev = prev or GENESIS_HASH
    rows: list[tuple[Any, ...]] = []
    hashes: list[str] = []
    for item in prepared:
        digest = _link(prev, item.text)
        rows.append((*item.cells, prev, digest, item.search_text))
        hashes.append(digest)
        prev = digest
    return rows, hashes


def write_audit(conn: Connection, entries: Iterable[AuditEntry], now: datetime | None = None) -> list[str]:
    """Append entries to the chain inside the caller's transaction; return their hashes.

    Two round trips whatever the number of rows: the lock with the chain's tail, one bulk insert.
    """
    entries = list(entries)
    if not entries:
        return []
    prepared = prepare_rows(entries, now)
    cur = conn.connection.cursor()
    cur.execute(LOCK_AND_TAIL_SQL)
    tail = cur.fetchone()
    rows, hashes = link_rows(tail[0] if tail else None, prepared)
    insert_rows(cur, "audit_logs", AUDIT_COLUMNS, rows)
    return hashes


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None


def chain_head(conn: Connection) -> tuple[int, str] | None:
    """The newest row's id and hash: published outside the database, it makes truncation evident."""
    row = conn.execute(select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def parse_head(text: str) -> tuple[int, str]:
    """`ID:HASH` as the worker logs it ("audit chain head id=ID hash=HASH"); ValueError otherwise."""
    ident, _, digest = text.strip().partition(":")
    if not ident.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"not a chain head (ID:HASH, a 64-digit hex hash): {text!r}")
    return int(ident), digest


def verify_chain(conn: Connection, batch: int = 5000, heads: Iterable[tuple[int, str]] = ()) -> ChainReport:
    """Walk the chain in id order; report the first row whose link or hash does not hold.

    The chain alone cannot tell that its newest rows were deleted (the rows left still link up).
    `heads` are chain heads published earlier (id, hash): each row must still be there, with
    that hash.
    """
    expected = dict(heads)
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    columns = [c for c in AuditLog.__table__.c]
    while True:
        rows = (
            conn.execute(select(*columns).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch))
            .mappings()
            .all()
        )
        if not rows:
            if expected:  # the heads not met on the walk
                missing = min(expected)
                if missing > last_id:
                    reason = "rows up to this published chain head are missing (the newest rows were removed)"
                else:
                    reason = "this published chain head's row is missing (rows removed and the chain rewritten)"
                return ChainReport(False, checked, missing, reason)
            return ChainReport(ok=True, checked=checked)
        for row in rows:
            if row["prev_hash"] != prev:
                return ChainReport(False, checked, row["id"], "previous hash does not match (row removed or reordered)")
            if row_hash(prev, dict(row)) != row["hash"]:
                return ChainReport(False, checked, row["id"], "row content does not match its hash (row altered)")
            if row["id"] in expected and expected.pop(row["id"]) != row["hash"]:
                return ChainReport(False, checked, row["id"], "hash differs from the published chain head (rewritten)")
            prev = row["hash"]
            checked += 1
            last_id = row["id"]
