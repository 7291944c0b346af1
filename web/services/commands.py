"""Sending commands to the engine and waiting for its reply (the web never writes account state)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session

from engine.contracts import Command, commands_stream, reply_key, shard_for

DEFAULT_WAIT_S = 5.0


def new_command_id(scope: str | None = None, idempotency_key: str | None = None) -> str:
    """A fresh command id, or a stable one derived from (scope, Idempotency-Key)."""
    if idempotency_key:
        digest = hashlib.sha256(f"{scope}:{idempotency_key}".encode()).hexdigest()[:32]
        return f"idem-{digest}"
    return uuid.uuid4().hex


def allocate_account_id(session: Session | scoped_session[Session]) -> int:
    """Reserve the id of an account the engine will open (it picks the shard)."""
    return int(session.execute(text("SELECT nextval('accounts_id_seq')")).scalar_one())


def send(r: redis.Redis, command: Command, shards: int) -> str:
    """XADD the command to its shard's stream; return the stream entry id."""
    if not command.ts:
        command = Command(
            command.command_id,
            command.type,
            command.account_id,
            command.payload,
            command.actor,
            int(time.time() * 1000),
        )
    fields: dict[Any, Any] = dict(command.to_fields())
    return str(r.xadd(commands_stream(shard_for(command.account_id, shards)), fields))


def wait_reply(r: redis.Redis, command_id: str, timeout_s: float = DEFAULT_WAIT_S) -> dict[str, Any] | None:
    """Block until the engine replies (or None after the timeout)."""
    item = r.blpop([reply_key(command_id)], timeout=timeout_s)
    if item is None:
        return None
    return json.loads(item[1])


def submit(r: redis.Redis, command: Command, shards: int, timeout_s: float = DEFAULT_WAIT_S) -> dict[str, Any] | None:
    """Send a command and wait for its result; None means it is still in flight (answer 202)."""
    send(r, command, shards)
    return wait_reply(r, command.command_id, timeout_s)


def request_open_account(
    r: redis.Redis,
    session: Session | scoped_session[Session],
    shards: int,
    *,
    user_id: int,
    account_type: str,
    actor: dict[str, Any],
    currency: str = "USD",
    leverage: int = 100,
    initial_deposit: str | None = None,
    command_id: str | None = None,
) -> Command:
    """Ask the engine to open an account (live at registration/CRM creation, demo on request).

    The account id is reserved here so the command lands on the shard that will own it.
    """
    from engine.contracts import OPEN_ACCOUNT

    account_id = allocate_account_id(session)
    payload: dict[str, Any] = {"user_id": user_id, "type": account_type, "currency": currency, "leverage": leverage}
    if initial_deposit is not None:
        payload["initial_deposit"] = initial_deposit
    command = Command(command_id or new_command_id(), OPEN_ACCOUNT, account_id, payload, actor)
    send(r, command, shards)
    return command
