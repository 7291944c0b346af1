"""`flask seed` is idempotent and asks the engine (never the database) for accounts."""

import subprocess
import sys

from sqlalchemy import func, select

from engine.contracts import OPEN_ACCOUNT, commands_stream
from models import Account, Instrument, ProcessedCommand, User
from tests.support import ROOT


def _seed(test_env):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "seed"],
        cwd=ROOT,
        env=test_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_seed_creates_instruments_users_and_account_commands(test_env, db_session, redis_client, settings):
    _seed(test_env)
    _seed(test_env)
    symbols = set(db_session.execute(select(Instrument.symbol)).scalars())
    assert {"EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "WTI", "BTCUSD", "ETHUSD"} <= symbols
    assert db_session.execute(select(func.count()).select_from(Instrument)).scalar_one() == 7
    emails = {u.email: u for u in db_session.execute(select(User)).scalars()}
    assert emails["admin@example.com"].role == "admin"
    assert emails["demo@example.com"].email_verified
    seeded = [emails["demo@example.com"].id, emails["admin@example.com"].id]
    # The web tier never inserts accounts: any account of a seeded user was opened by the engine
    # from a seed command (an engine started by another test may have run them by now).
    accounts = db_session.execute(select(Account).where(Account.user_id.in_(seeded))).scalars().all()
    for account in accounts:
        processed = (
            db_session.execute(select(ProcessedCommand).where(ProcessedCommand.account_id == account.id))
            .scalars()
            .all()
        )
        assert any(p.command_id.startswith("seed-") for p in processed), account.id
    entries = redis_client.xrange(commands_stream(0))
    opens = [
        fields for _, fields in entries if fields["type"] == OPEN_ACCOUNT and fields["command_id"].startswith("seed-")
    ]
    assert {f["command_id"] for f in opens} == {
        f"seed-seed:{emails['demo@example.com'].id}:live",
        f"seed-seed:{emails['demo@example.com'].id}:demo",
        f"seed-seed:{emails['admin@example.com'].id}:live",
    }
