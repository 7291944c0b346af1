"""Money requests while the engine is down: nothing is half-done, and a retry finishes the job once."""

from __future__ import annotations

from pathlib import Path

from tests.factories import login, make_user
from tests.integration.test_funds_helpers import account_money, bearer, ledger, make_key, open_account, wait_money
from tests.support import Proc, python_module, wait_for


def _engine(test_env: dict[str, str], proc_log_dir: Path) -> Proc:
    return Proc("engine", python_module("engine"), test_env, proc_log_dir).start()


def test_decisions_wait_for_the_engine_and_apply_once(app, test_env, proc_log_dir, sql_engine):
    engine = _engine(test_env, proc_log_dir)
    try:
        user = make_user(app)
        live = open_account(app, user.id, "live", deposit="500.00")
        client = login(app.test_client(), app, user)
        deposit = client.post(
            "/api/deposits", json={"account_id": live, "amount": "80.00", "currency": "USD", "method": "card"}
        ).json
        engine.stop()

        key = make_key(app, "funds")
        crm = app.test_client()
        busy = crm.patch(f"/api/crm/deposits/{deposit['id']}", json={"status": "approved"}, headers=bearer(key))
        assert busy.status_code == 503
        assert busy.json["error"]["code"] == "engine_busy"
        assert busy.headers["Retry-After"]
        assert busy.json["error"]["command_id"] == f"dep-{deposit['id']}-approve"
        other = crm.patch(f"/api/crm/deposits/{deposit['id']}", json={"status": "declined"}, headers=bearer(key))
        assert other.status_code == 409
        assert other.json["error"]["code"] == "decision_in_progress"
        assert client.post(f"/api/deposits/{deposit['id']}/cancel").status_code == 409
        assert client.get(f"/api/deposits/{deposit['id']}").json["status"] == "pending"

        unconfirmed = client.post(
            "/api/withdrawals", json={"account_id": live, "amount": "100.00", "currency": "USD", "method": "card"}
        )
        assert unconfirmed.status_code == 503
        assert client.get("/api/withdrawals").json["items"] == []

        engine = _engine(test_env, proc_log_dir)
        # the approval queued while the engine was down is applied on start; the hold is released after it
        wait_money(sql_engine, live, "580.00", held="0.00")
        done = crm.patch(f"/api/crm/deposits/{deposit['id']}", json={"status": "approved"}, headers=bearer(key))
        assert done.status_code == 200, done.json
        assert done.json["status"] == "approved"
        assert account_money(sql_engine, live) == (580, 0)
        credits = [r for r in ledger(sql_engine, live) if r.external_id == f"deposit:{deposit['id']}"]
        assert len(credits) == 1
        wait_for(lambda: client.get("/api/deposits").json["items"][0]["status"] == "approved", what="status")
    finally:
        engine.stop()
