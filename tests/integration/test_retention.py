"""Retention: spent one-time tokens, SSO hand-offs and refresh tokens of ended sessions are deleted.

Against the real PostgreSQL: `purge_once` directly (what goes, what a day's grace keeps, chunks),
then the real worker process, whose background loop makes a pass as it starts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OneTimeToken, RefreshToken, SsoToken, UserSession
from tests.factories import make_user
from tests.integration.test_faults_support import start_worker
from tests.support import wait_for
from workers import retention

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=2)  # past the day of grace
LATELY = NOW - timedelta(hours=1)  # expired, but within the grace
LATER = NOW + timedelta(hours=1)


def _one_time(s: Session, user_id: int, expires_at: datetime) -> int:
    row = OneTimeToken(user_id=user_id, purpose="verify_email", token_hash=uuid.uuid4().hex * 2, email="x@example.test")
    row.expires_at = expires_at
    s.add(row)
    s.flush()
    return row.id


def _sso(s: Session, user_id: int, expires_at: datetime) -> int:
    row = SsoToken(token_hash=uuid.uuid4().hex * 2, admin_id="crm-admin-1", user_id=user_id, reason="support call")
    row.expires_at = expires_at
    s.add(row)
    s.flush()
    return row.id


def _session_with_tokens(
    s: Session, user_id: int, expires_at: datetime, revoked_at: datetime | None = None
) -> tuple[uuid.UUID, list[int]]:
    session = UserSession(user_id=user_id, expires_at=expires_at, revoked_at=revoked_at)
    s.add(session)
    s.flush()
    tokens = [RefreshToken(session_id=session.id, token_hash=uuid.uuid4().hex * 2) for _ in range(3)]
    s.add_all(tokens)
    s.flush()
    return session.id, [t.id for t in tokens]


def _left(s: Session, model: type, ids: list[int]) -> set[int]:
    return set(s.execute(select(model.id).where(model.id.in_(ids))).scalars())  # type: ignore[attr-defined]


def test_a_pass_deletes_what_cannot_authenticate_any_more_and_keeps_the_rest(app, sql_engine, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 2)  # several chunks per table
    user = make_user(app)
    with Session(sql_engine) as s, s.begin():
        spent = [_one_time(s, user.id, LONG_AGO) for _ in range(5)]
        kept = [_one_time(s, user.id, LATELY), _one_time(s, user.id, LATER)]
        sso_spent = [_sso(s, user.id, LONG_AGO) for _ in range(3)]
        sso_kept = [_sso(s, user.id, LATELY), _sso(s, user.id, LATER)]
        expired_session, expired_tokens = _session_with_tokens(s, user.id, LONG_AGO)
        revoked_session, revoked_tokens = _session_with_tokens(s, user.id, LATER, revoked_at=LONG_AGO)
        lately_session, lately_tokens = _session_with_tokens(s, user.id, LATER, revoked_at=LATELY)
        live_session, live_tokens = _session_with_tokens(s, user.id, LATER)

    counts = retention.purge_once(sql_engine)

    assert counts["one_time_tokens"] >= 5 and counts["sso_tokens"] >= 3 and counts["refresh_tokens"] >= 6
    with Session(sql_engine) as s:
        assert _left(s, OneTimeToken, spent + kept) == set(kept)
        assert _left(s, SsoToken, sso_spent + sso_kept) == set(sso_kept)
        assert _left(s, RefreshToken, expired_tokens + revoked_tokens + lately_tokens + live_tokens) == set(
            lately_tokens + live_tokens
        )
        sessions = [expired_session, revoked_session, lately_session, live_session]
        # The sessions stay: they are the login history.
        assert len(s.execute(select(UserSession.id).where(UserSession.id.in_(sessions))).all()) == 4
    assert retention.purge_once(sql_engine) == {"one_time_tokens": 0, "sso_tokens": 0, "refresh_tokens": 0}


@pytest.mark.usefixtures("sql_engine")
def test_the_worker_process_purges_as_it_starts(app, test_env, proc_log_dir, sql_engine):
    user = make_user(app)
    with Session(sql_engine) as s, s.begin():
        spent = _one_time(s, user.id, LONG_AGO)
        kept = _one_time(s, user.id, LATER)
    worker = start_worker(test_env, proc_log_dir, name="worker-retention")
    try:
        with Session(sql_engine) as s:
            wait_for(lambda: not _left(s, OneTimeToken, [spent]), timeout=30, what="the worker's retention pass")
            assert _left(s, OneTimeToken, [kept]) == {kept}
    finally:
        worker.stop()
