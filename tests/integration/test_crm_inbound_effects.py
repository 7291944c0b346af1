"""Inbound CRM webhooks that move money, through a real engine process: each applied once when sent twice,
with the same effect and the same answer as the matching service-API call."""

import pytest
from sqlalchemy import text

from tests.factories import login, make_user
from tests.integration.test_crm_inbound_helpers import make_inbound_app, post, signed
from tests.integration.test_funds_helpers import (
    account_money,
    bearer,
    engine_proc,  # noqa: F401 - fixture
    events,
    ledger,
    make_key,
    open_account,
    wait_money,
)
from tests.support import wait_for

pytestmark = pytest.mark.usefixtures("engine_proc")


@pytest.fixture(scope="module")
def inbound_app(settings, var_dir):
    return make_inbound_app(settings, var_dir)


@pytest.fixture(scope="module")
def funds_key(inbound_app):
    return make_key(inbound_app, "funds", "users")


@pytest.fixture()
def trader(inbound_app):
    """A client with a live account holding 1000.00 USD, signed in."""
    user = make_user(inbound_app)
    live = open_account(inbound_app, user.id, "live", deposit="1000.00")
    return user, live, login(inbound_app.test_client(), inbound_app, user)


def _request(client, kind, account_id, amount):
    body = {"account_id": account_id, "amount": amount, "currency": "USD", "method": "bank_transfer"}
    answer = client.post(f"/api/{kind}", json=body)
    assert answer.status_code == 201, answer.json
    return answer.json


def _twice(app, event_type, data):
    """Send an event, then the CRM's retry of it (same webhook-id and body, fresh signature)."""
    headers, body = signed(event_type, data)
    first = post(app, headers, body)
    again_headers, _ = signed(event_type, data, msg_id=headers["webhook-id"], body=body)
    again = post(app, again_headers, body)
    assert first.status_code == again.status_code == 200, (first.json, again.json)
    assert (first.json["status"], again.json["status"]) == ("applied", "duplicate")
    assert again.json["result"] == first.json["result"]
    return first.json["result"]


def test_deposit_approved_twice_credits_once(inbound_app, trader, funds_key, sql_engine):
    _, live, client = trader
    deposit = _request(client, "deposits", live, "250.00")
    result = _twice(inbound_app, "deposit.approved", {"deposit_id": deposit["id"], "external_id": "psp-42"})
    assert result["status"] == "approved" and result["external_id"] == "psp-42"
    wait_money(sql_engine, live, "1250.00")
    credits = [r for r in ledger(sql_engine, live) if r.external_id == f"deposit:{deposit['id']}"]
    assert len(credits) == 1 and credits[0].amount == 250
    changes = events(sql_engine, "deposit.status_changed", id=deposit["id"])
    assert [e["data"]["status"] for e in changes] == ["approved"]
    # The same answer the service API gives for this deposit.
    api = inbound_app.test_client().get(f"/api/crm/deposits/{deposit['id']}", headers=bearer(funds_key))
    assert api.json == result


def test_deposit_declined_moves_nothing(inbound_app, trader, sql_engine):
    _, live, client = trader
    deposit = _request(client, "deposits", live, "300.00")
    result = _twice(inbound_app, "deposit.declined", {"deposit_id": deposit["id"], "reason": "Card chargeback"})
    assert (result["status"], result["reason"]) == ("declined", "Card chargeback")
    assert account_money(sql_engine, live)[0] == 1000


def test_withdrawal_approved_twice_debits_the_held_amount_once(inbound_app, trader, sql_engine):
    _, live, client = trader
    withdrawal = _request(client, "withdrawals", live, "100.00")
    wait_money(sql_engine, live, "1000.00", held="100.00")
    result = _twice(inbound_app, "withdrawal.approved", {"withdrawal_id": withdrawal["id"]})
    assert result["status"] == "approved"
    wait_money(sql_engine, live, "900.00", held="0.00")
    assert len(events(sql_engine, "withdrawal.status_changed", id=withdrawal["id"])) == 1


def test_withdrawal_declined_releases_the_hold(inbound_app, trader, sql_engine):
    _, live, client = trader
    withdrawal = _request(client, "withdrawals", live, "150.00")
    wait_money(sql_engine, live, "1000.00", held="150.00")
    result = _twice(inbound_app, "withdrawal.declined", {"withdrawal_id": withdrawal["id"], "reason": "KYC missing"})
    assert result["status"] == "declined"
    wait_money(sql_engine, live, "1000.00", held="0.00")


def test_balance_operation_twice_changes_the_balance_once(inbound_app, trader, funds_key, sql_engine):
    _, live, _ = trader
    data = {"account_id": live, "type": "deposit", "amount": "75.00", "external_id": "wire-2026-001", "comment": "Wire"}
    result = _twice(inbound_app, "balance.operation", data)
    assert result["external_id"] == "wire-2026-001" and result["amount"] == "75.00"
    wait_money(sql_engine, live, "1075.00")
    assert [r.amount for r in ledger(sql_engine, live) if r.external_id == "wire-2026-001"] == [75]
    # The service API with the same operation is the same engine command: nothing more happens.
    api = inbound_app.test_client().post(
        f"/api/crm/accounts/{live}/balance",
        json={k: v for k, v in data.items() if k != "account_id"},
        headers=bearer(funds_key),
    )
    assert api.status_code == 200 and api.json["command_id"] == result["command_id"]
    assert account_money(sql_engine, live)[0] == 1075


def test_user_updated_reaches_the_accounts_through_the_engine(inbound_app, trader, sql_engine):
    user, live, _ = trader
    result = _twice(inbound_app, "user.updated", {"user_id": user.id, "leverage": 50, "trading_rights": "close_only"})
    assert {c["status"] for c in result["engine_commands"]} <= {"applied", "pending"}

    def settled():
        with sql_engine.connect() as conn:
            row = conn.execute(text("SELECT leverage, trading_rights FROM accounts WHERE id = :a"), {"a": live}).one()
        return (row.leverage, row.trading_rights) == (50, "close_only")

    wait_for(settled, timeout=15, what="the engine to apply the account settings")
