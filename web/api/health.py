"""Liveness and readiness."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import text

from engine.contracts import MD_STATUS, engine_status_key
from feed.status import feed_mode
from web.extensions import db, limiter
from web.openapi import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api", description="Liveness and readiness probes")

_READY = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        "feed": {"type": "object", "properties": {"mode": {"type": "string", "enum": ["ws", "rest-fallback", "down"]}}},
        "engine": {
            "type": "object",
            "properties": {
                "shards": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "shard": {"type": "integer"},
                            "alive": {"type": "boolean"},
                            "lag_ms": {"type": "integer"},
                            "pending_commands": {"type": "integer"},
                        },
                    },
                }
            },
        },
        "degraded": {"type": "array", "items": {"type": "string"}},
    },
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@blp.route("/healthz", methods=["GET"])
@limiter.exempt
@blp.doc(responses={"200": _json("Alive", {"type": "object", "properties": {"status": {"type": "string"}}})})
def healthz() -> dict[str, Any]:
    """Answer 200 while the process is alive."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        db.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        db.rollback()
        return type(exc).__name__


def _check_redis() -> str | None:
    from web import get_redis

    try:
        get_redis().ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


ENGINE_SILENT_AFTER_MS = 10_000  # an engine refreshes engine:status:K every second while its loop runs


def _platform() -> dict[str, Any]:
    """Feed mode and engine liveness: informative only (see docs/OPERATIONS.md "Health checks")."""
    from web import get_redis

    r = get_redis()
    now = int(time.time() * 1000)
    shards = []
    for shard in range(current_app.config["SETTINGS"].engine_shards):
        status = r.hgetall(engine_status_key(shard))
        updated = int(status.get("updated_at") or 0)
        shards.append(
            {
                "shard": shard,
                "alive": now - updated <= ENGINE_SILENT_AFTER_MS,
                "lag_ms": int(status.get("lag_ms") or 0),
                "pending_commands": int(status.get("pending_commands") or 0),
            }
        )
    mode = feed_mode(r.hgetall(MD_STATUS), now)
    degraded = [f"engine shard {s['shard']} silent" for s in shards if not s["alive"]]
    if mode != "ws":
        degraded.append(f"feed {mode}")
    return {"feed": {"mode": mode}, "engine": {"shards": shards}, "degraded": degraded}


@blp.route("/readyz", methods=["GET"])
@limiter.exempt
@blp.doc(
    responses={
        "200": _json("PostgreSQL and Redis reachable (feed and engine state are informative)", _READY),
        "503": _json("PostgreSQL or Redis unreachable", _READY),
    }
)
def readyz() -> Any:
    """Answer 200 when PostgreSQL and Redis are reachable, 503 otherwise."""
    # Feed and engine state are reported, not gated on: taking every web replica out of the load
    # balancer because quotes are stale or an engine restarts would turn a degraded platform
    # (market orders refused, commands answered 202) into a total outage (no login, no positions).
    checks = {"database": _check_database(), "redis": _check_redis()}
    body: dict[str, Any] = {
        "status": "ok" if not any(checks.values()) else "unavailable",
        "checks": {name: ("ok" if err is None else f"error: {err}") for name, err in checks.items()},
    }
    if checks["redis"] is None:
        try:
            body.update(_platform())
        except Exception as exc:  # noqa: BLE001 - a malformed status hash must not fail the probe
            body["degraded"] = [f"platform status unreadable: {type(exc).__name__}"]
    return body, (200 if body["status"] == "ok" else 503)
