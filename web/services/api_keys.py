"""CRM service API keys: shown once, stored hashed, scoped, revocable, rate-limited per key, audited.

A key reads `bkr_<key id: 12 base62>_<secret: 40 base62><checksum: 6 base62>`. The key id is
public (stored as `api_keys.prefix`, used for the lookup); the whole key is stored only as its
SHA-256 (the secret has ~238 bits of entropy, so a fast hash is enough) and compared in constant
time. The checksum (CRC-32 of the rest) lets secret scanners and our parser reject typos offline.

Views use `@require_api_key("users")`: `Authorization: Bearer <key>`, cookies are ignored.
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from limits import parse as parse_limit
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from common.audit import AuditEntry, write_audit
from common.crypto import constant_time_equal, token_hash
from models import ApiKey
from web.errors import ApiError
from web.extensions import db, limiter

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
DbSession = Session | scoped_session[Session]

SCOPES = ("users", "sso", "funds", "kyc")
KEY_PREFIX = "bkr"
KEY_ID_LEN = 12
SECRET_LEN = 40
CHECKSUM_LEN = 6
LAST_USED_EVERY = timedelta(seconds=60)
RATE_LIMIT_SCOPE = "crm-api-key"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --- the key format --------------------------------------------------------------------------


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def _checksum(text: str) -> str:
    value = zlib.crc32(text.encode())
    chars = []
    for _ in range(CHECKSUM_LEN):
        value, rem = divmod(value, 62)
        chars.append(_BASE62[rem])
    return "".join(reversed(chars))


def generate_key() -> tuple[str, str]:
    """A new (key id, full key); the full key is shown once and never stored."""
    key_id = _random_base62(KEY_ID_LEN)
    body = f"{KEY_PREFIX}_{key_id}_{_random_base62(SECRET_LEN)}"
    return key_id, body + _checksum(body)


def parse_key(key: str) -> str | None:
    """The key id of a well-formed key (format and checksum hold), else None."""
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key_id, tail = parts[1], parts[2]
    if len(key_id) != KEY_ID_LEN or len(tail) != SECRET_LEN + CHECKSUM_LEN:
        return None
    if not all(c in _BASE62 for c in key_id + tail):
        return None
    body = key[:-CHECKSUM_LEN]
    if not constant_time_equal(_checksum(body), key[-CHECKSUM_LEN:]):
        return None
    return key_id


def display_prefix(key_id: str) -> str:
    """How a key is shown once created: enough to recognise it, nothing secret."""
    return f"{KEY_PREFIX}_{key_id}_…"


def normalise_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate scope names; raise ValueError naming the unknown ones."""
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)} (known: {', '.join(SCOPES)})")
    if not wanted:
        raise ValueError(f"at least one scope is required (known: {', '.join(SCOPES)})")
    return wanted


# --- lifecycle (CLI and admin tools) ------------------------------------------------------------


def _audit(session: DbSession, action: str, key: ApiKey | None, actor: dict[str, Any], **details: Any) -> None:
    write_audit(
        session.connection(),
        [
            AuditEntry(
                action=action,
                outcome=details.pop("outcome", "success"),
                actor_type=actor.get("type") or "system",
                actor_id=actor.get("id"),
                target_type="api_key",
                target_id=None if key is None else str(key.id),
                ip=actor.get("ip"),
                request_id=actor.get("request_id"),
                details=details,
            )
        ],
    )


def create_key(session: DbSession, name: str, scopes: Iterable[str], actor: dict[str, Any]) -> tuple[ApiKey, str]:
    """Create a key; return the row and the full key (to show once). The caller commits."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("the name must be 1 to 100 characters")
    wanted = normalise_scopes(scopes)
    key_id, full_key = generate_key()
    row = ApiKey(name=name, prefix=key_id, key_hash=token_hash(full_key), scopes=wanted)
    session.add(row)
    session.flush()
    _audit(session, "api_key.created", row, actor, name=name, scopes=wanted, prefix=key_id)
    return row, full_key


def find_key(session: DbSession, ref: str) -> ApiKey | None:
    """A key by numeric id, key id (prefix) or its displayed form `bkr_<id>_…`."""
    ref = ref.strip().removesuffix("…").removesuffix("_")
    if ref.startswith(KEY_PREFIX + "_"):
        ref = ref.split("_")[1]
    if ref.isdigit():
        found = session.get(ApiKey, int(ref))
        if found is not None:
            return found
    return session.execute(select(ApiKey).where(ApiKey.prefix == ref)).scalar_one_or_none()


def revoke_key(session: DbSession, key: ApiKey, actor: dict[str, Any]) -> bool:
    """Revoke at once (False if it was revoked already). The caller commits."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = datetime.now(UTC)
    _audit(session, "api_key.revoked", key, actor, name=key.name, prefix=key.prefix)
    return True


def list_keys(session: DbSession) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


# --- authentication of a request --------------------------------------------------------------


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _request_actor() -> dict[str, Any]:
    return {"type": "anonymous", "id": None, "ip": request.remote_addr, "request_id": g.get("request_id")}


def _refuse(status: int, code: str, message: str, key: ApiKey | None, reason: str, **details: Any) -> ApiError:
    """Audit a refused request (its own transaction) and make the error to raise."""
    db.rollback()
    actor = _request_actor() if key is None else {**_request_actor(), "type": "crm", "id": f"key:{key.id}"}
    _audit(
        db,
        "api_key.refused",
        key,
        actor,
        outcome="denied",
        reason=reason,
        method=request.method,
        path=request.path,
        **details,
    )
    db.commit()
    headers = {"WWW-Authenticate": 'Bearer realm="crm"'} if status == 401 else None
    return ApiError(status, code, message, headers=headers)


def authenticate(required: tuple[str, ...]) -> ApiKey:
    """Find the request's key and check it; raise 401 invalid_api_key or 403 insufficient_scope."""
    presented = _bearer()
    if presented is None:
        raise _refuse(401, "invalid_api_key", "Send Authorization: Bearer <API key>.", None, "missing")
    key_id = parse_key(presented)
    if key_id is None:
        raise _refuse(401, "invalid_api_key", "The API key is not valid.", None, "malformed")
    key = db.execute(select(ApiKey).where(ApiKey.prefix == key_id)).scalar_one_or_none()
    if key is None or not constant_time_equal(key.key_hash, token_hash(presented)):
        raise _refuse(401, "invalid_api_key", "The API key is not valid.", None, "unknown", prefix=key_id)
    if key.revoked_at is not None:
        raise _refuse(401, "invalid_api_key", "The API key is not valid.", key, "revoked", prefix=key_id)
    missing = [s for s in required if s not in (key.scopes or [])]
    if missing:
        raise _refuse(
            403,
            "insufficient_scope",
            f"This API key lacks the scope: {', '.join(missing)}.",
            key,
            "scope",
            required=list(required),
        )
    return key


def _record_use(key: ApiKey) -> None:
    """Audit the use and refresh last-used (at most once a minute per key, or on a new IP)."""
    now = datetime.now(UTC)
    ip = request.remote_addr
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY or key.last_used_ip != ip:
        key.last_used_at = now
        key.last_used_ip = ip
    _audit(
        db,
        "api_key.used",
        key,
        {**_request_actor(), "type": "crm", "id": f"key:{key.id}"},
        method=request.method,
        path=request.path,
    )
    db.commit()


def _check_rate_limit(key: ApiKey) -> None:
    """CRM_API_RATE_LIMIT per key, shared by every route (Redis storage of flask-limiter); 429 when spent."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = parse_limit(str(current_app.config["SETTINGS"].crm_api_rate_limit))
    try:
        allowed = limiter.limiter.hit(item, RATE_LIMIT_SCOPE, str(key.id))
        if allowed:
            return
        reset_at = limiter.limiter.get_window_stats(item, RATE_LIMIT_SCOPE, str(key.id)).reset_time
    except Exception:  # like RATELIMIT_SWALLOW_ERRORS: a Redis hiccup must not stop the CRM
        log.exception("rate limit storage failed; request allowed")
        return
    retry_after = max(1, math.ceil(reset_at - time.time()))
    _audit(
        db,
        "api_key.rate_limited",
        key,
        {**_request_actor(), "type": "crm", "id": f"key:{key.id}"},
        outcome="denied",
        method=request.method,
        path=request.path,
        limit=str(item),
    )
    db.commit()
    raise ApiError(
        429,
        "rate_limited",
        f"Too many requests for this API key ({item}); retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def authenticate_request(*scopes: str) -> ApiKey:
    """Authenticate, rate-limit and record the use of the request's key; set g.api_key and g.actor_override.

    For views that pick their authentication at run time; otherwise use @require_api_key.
    """
    key = authenticate(scopes)
    g.api_key = key
    g.actor_override = {"type": "crm", "id": f"key:{key.id}"}
    _check_rate_limit(key)
    _record_use(key)
    return key


def require_api_key(*scopes: str) -> Callable[[F], F]:
    """Authenticate the view with a CRM API key holding every given scope (cookies are ignored).

    Sets g.api_key and g.actor_override ({"type": "crm", "id": "key:<id>"}) so web.security.actor()
    and audit() attribute the action to the key; CRM_API_RATE_LIMIT applies per key across routes.
    """
    for scope in scopes:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate_request(*scopes)
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def current_api_key() -> ApiKey:
    """The key of the current request (inside a @require_api_key view)."""
    return cast(ApiKey, g.api_key)
