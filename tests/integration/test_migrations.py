"""Migrations: one head, upgrade from empty to head on PostgreSQL, models and migrations agree."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import models

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ScriptDirectory:
    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg)


def test_there_is_exactly_one_head():
    assert len(_script().get_heads()) == 1


def test_upgrade_from_empty_reaches_head(sql_engine):
    with sql_engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert current == _script().get_current_head()
    tables = set(inspect(sql_engine).get_table_names())
    expected = {t.name for t in models.Base.metadata.sorted_tables}
    assert expected <= tables


def test_models_and_migrations_agree(sql_engine):
    with sql_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, models.Base.metadata)
    assert diff == []


def test_money_and_prices_are_numeric(sql_engine):
    columns = {
        (t, c["name"]): str(c["type"])
        for t in ("accounts", "ledger_entries", "positions", "trades", "orders", "deposits", "withdrawals")
        for c in inspect(sql_engine).get_columns(t)
    }
    for key in [
        ("accounts", "balance"),
        ("accounts", "credit"),
        ("ledger_entries", "amount"),
        ("ledger_entries", "balance_after"),
        ("positions", "open_price"),
        ("trades", "profit"),
        ("orders", "price"),
        ("deposits", "amount"),
        ("withdrawals", "amount"),
    ]:
        assert columns[key].startswith("NUMERIC"), key


def test_engine_write_costs_schema(sql_engine):
    """Migration d7a3e5c1f9b2: room for HOT updates of accounts; no index entry per command or per
    audit row without an impersonator."""
    with sql_engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'accounts'")).scalar_one()
        indexes = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('audit_logs', 'processed_commands')"
                )
            ).all()
        )
    assert "fillfactor=50" in (options or [])
    assert "WHERE (impersonator_id IS NOT NULL)" in indexes["ix_audit_logs_impersonator_id"]
    assert "ix_processed_commands_created_at" not in indexes
