"""The audit log is append-only and hash-chained: tampering shows at the row that was changed."""

import subprocess
import sys

from sqlalchemy import select, text

from common.audit import AuditEntry, verify_chain, write_audit
from models import AuditLog
from tests.support import ROOT


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
