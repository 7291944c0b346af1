"""The audit log is append-only and hash-chained: tampering shows at the row that was changed."""

import subprocess
import sys

from sqlalchemy import select, text

from common.audit import AuditEntry, chain_head, verify_chain, write_audit
from models import AuditLog
from tests.integration.test_faults_support import start_worker
from tests.support import ROOT, wait_for


def _write(sql_engine, n: int, prefix: str) -> list[int]:
    with sql_engine.begin() as conn:
        write_audit(
            conn,
            [
                AuditEntry(
                    f"{prefix}.{i}",
                    actor_type="user",
                    actor_id=str(i),
                    ip="10.0.0.1",
                    details={"i": i, "password": "hunter2"},
                )
                for i in range(n)
            ],
        )
        return list(
            conn.execute(select(AuditLog.id).where(AuditLog.action.like(f"{prefix}.%")).order_by(AuditLog.id)).scalars()
        )


def _flask(test_env, *args):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=test_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_chain_verifies_and_secrets_are_not_stored(sql_engine, test_env):
    ids = _write(sql_engine, 5, "chain-ok")
    with sql_engine.connect() as conn:
        assert verify_chain(conn).ok
        details = conn.execute(select(AuditLog.details).where(AuditLog.id == ids[0])).scalar_one()
    assert details == {"i": 0, "password": "[redacted]"}
    result = _flask(test_env, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout


def test_altered_row_breaks_the_chain_at_that_row(sql_engine, test_env):
    ids = _write(sql_engine, 4, "chain-tamper")
    victim = ids[2]
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE audit_logs SET ip = '6.6.6.6' WHERE id = :id"), {"id": victim})
    try:
        with sql_engine.connect() as conn:
            report = verify_chain(conn)
        assert not report.ok
        assert report.broken_at == victim
        result = _flask(test_env, "audit", "verify")
        assert result.returncode == 1
        assert f"row id {victim}" in result.stdout
    finally:
        with sql_engine.begin() as conn:
            conn.execute(text("UPDATE audit_logs SET ip = '10.0.0.1' WHERE id = :id"), {"id": victim})


def test_deleted_row_breaks_the_chain_at_the_next_row(sql_engine):
    ids = _write(sql_engine, 3, "chain-delete")
    with sql_engine.begin() as conn:
        saved = conn.execute(select(AuditLog.__table__).where(AuditLog.id == ids[1])).mappings().one()
        conn.execute(text("DELETE FROM audit_logs WHERE id = :id"), {"id": ids[1]})
    try:
        with sql_engine.connect() as conn:
            report = verify_chain(conn)
        assert not report.ok
        assert report.broken_at == ids[2]
    finally:
        with sql_engine.begin() as conn:
            conn.execute(AuditLog.__table__.insert(), [dict(saved)])
        with sql_engine.connect() as conn:
            assert verify_chain(conn).ok


def test_removed_newest_rows_still_link_up_but_fail_against_a_published_head(sql_engine, test_env):
    ids = _write(sql_engine, 3, "chain-truncate")
    with sql_engine.connect() as conn:
        head = chain_head(conn)
    assert head is not None and head[0] == ids[-1]
    published = f"{head[0]}:{head[1]}"
    assert _flask(test_env, "audit", "verify", "--head", published).returncode == 0
    with sql_engine.begin() as conn:
        saved = conn.execute(select(AuditLog.__table__).where(AuditLog.id.in_(ids[1:]))).mappings().all()
        conn.execute(text("DELETE FROM audit_logs WHERE id = ANY(:ids)"), {"ids": ids[1:]})
    try:
        with sql_engine.connect() as conn:
            assert verify_chain(conn).ok  # what is left links up: the chain alone cannot tell
            report = verify_chain(conn, heads=[head])
        assert not report.ok
        assert report.broken_at == head[0]
        assert "newest rows were removed" in (report.reason or "")
        result = _flask(test_env, "audit", "verify", "--head", published)
        assert result.returncode == 1
        assert f"row id {head[0]}" in result.stdout
    finally:
        with sql_engine.begin() as conn:
            conn.execute(AuditLog.__table__.insert(), [dict(row) for row in saved])
        with sql_engine.connect() as conn:
            assert verify_chain(conn, heads=[head]).ok


def test_a_published_head_with_another_hash_means_the_chain_was_rewritten(sql_engine, test_env):
    ids = _write(sql_engine, 2, "chain-rewrite")
    with sql_engine.connect() as conn:
        report = verify_chain(conn, heads=[(ids[0], "f" * 64)])
    assert not report.ok
    assert report.broken_at == ids[0]
    assert "rewritten" in (report.reason or "")
    bad = _flask(test_env, "audit", "verify", "--head", "12:not-a-hash")
    assert bad.returncode == 2
    assert "ID:HASH" in bad.stderr


def test_the_worker_logs_the_chain_head_as_it_starts(sql_engine, test_env, proc_log_dir):
    _write(sql_engine, 1, "chain-head")
    with sql_engine.connect() as conn:
        head = chain_head(conn)
    assert head is not None
    worker = start_worker(test_env, proc_log_dir, name="worker-audit-head")
    try:
        line = f"audit chain head id={head[0]} hash={head[1]}"
        wait_for(lambda: line in worker.log_path.read_text(), timeout=30, what="the worker to log the chain head")
    finally:
        worker.stop()
