"""Client deposits and withdrawals with the CRM's decisions, through a real engine process."""

from __future__ import annotations

import threading

import pytest

from tests.factories import login, make_user
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

pytestmark = pytest.mark.usefixtures("engine_proc")


@pytest.fixture(scope="module")
def funds_key(app) -> str:
    return make_key(app, "funds")


@pytest.fixture()
def trader(app):
    """A client with a funded live account (1000.00 USD) and an empty demo account."""
    user = make_user(app)
    live = open_account(app, user.id, "live", deposit="1000.00")
    demo = open_account(app, user.id, "demo", deposit="10000.00")
    return user, live, demo


def _client(app, user):
    return login(app.test_client(), app, user)


def _deposit(client, account_id: int, amount: str = "250.00", **extra):
    body = {"account_id": account_id, "amount": amount, "currency": "USD", "method": "bank_transfer", **extra}
    return client.post("/api/deposits", json=body)


def _withdraw(client, account_id: int, amount: str, **extra):
    body = {"account_id": account_id, "amount": amount, "currency": "USD", "method": "bank_transfer", **extra}
    return client.post("/api/withdrawals", json=body)


def _decide(app, key: str, kind: str, row_id: int, status: str, **extra):
    return app.test_client().patch(f"/api/crm/{kind}/{row_id}", json={"status": status, **extra}, headers=bearer(key))


# --- deposits --------------------------------------------------------------------------------


def test_a_deposit_request_is_pending_and_announced(app, trader, sql_engine):
    user, live, _ = trader
    client = _client(app, user)
    response = _deposit(client, live)
    assert response.status_code == 201, response.json
    deposit = response.json
    assert (deposit["status"], deposit["amount"], deposit["account_id"]) == ("pending", "250.00", live)
    assert account_money(sql_engine, live) == (1000, 0)  # nothing moves before approval
    (event,) = events(sql_engine, "deposit.requested", id=deposit["id"])
    assert event["data"]["amount"] == "250.00" and event["data"]["user_id"] == user.id
    listed = client.get("/api/deposits?status=pending").json
    assert [d["id"] for d in listed["items"]] == [deposit["id"]]
    assert listed["total"] == 1
    assert client.get(f"/api/deposits/{deposit['id']}").json == deposit


def test_a_deposit_approved_twice_reaches_the_balance_once(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    deposit = _deposit(_client(app, user), live, "250.00").json
    first = _decide(app, funds_key, "deposits", deposit["id"], "approved", external_id="psp-1")
    second = _decide(app, funds_key, "deposits", deposit["id"], "approved", external_id="psp-1")
    assert first.status_code == second.status_code == 200, (first.json, second.json)
    assert first.json == second.json
    assert first.json["status"] == "approved"
    assert first.json["external_id"] == "psp-1"
    wait_money(sql_engine, live, "1250.00")
    credits = [r for r in ledger(sql_engine, live) if r.external_id == f"deposit:{deposit['id']}"]
    assert len(credits) == 1 and credits[0].amount == 250
    changed = events(sql_engine, "deposit.status_changed", id=deposit["id"])
    assert [(e["data"]["previous_status"], e["data"]["status"]) for e in changed] == [("pending", "approved")]
    late_decline = _decide(app, funds_key, "deposits", deposit["id"], "declined")
    assert late_decline.status_code == 409
    assert late_decline.json["error"]["code"] == "already_decided"
    assert account_money(sql_engine, live)[0] == 1250


def test_concurrent_approvals_credit_once(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    deposit = _deposit(_client(app, user), live, "40.00").json
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(_decide(app, funds_key, "deposits", deposit["id"], "approved")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 4
    assert len({a.json["status"] for a in answers}) == 1
    wait_money(sql_engine, live, "1040.00")
    assert len([r for r in ledger(sql_engine, live) if r.kind == "deposit"]) == 2  # initial + this one


def test_a_declined_deposit_moves_nothing(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    deposit = _deposit(_client(app, user), live).json
    declined = _decide(app, funds_key, "deposits", deposit["id"], "declined", reason="Sender name mismatch")
    assert declined.status_code == 200
    assert (declined.json["status"], declined.json["reason"]) == ("declined", "Sender name mismatch")
    assert _decide(app, funds_key, "deposits", deposit["id"], "approved").status_code == 409
    assert account_money(sql_engine, live) == (1000, 0)
    assert len(ledger(sql_engine, live)) == 1


def test_the_client_can_cancel_a_pending_deposit_only(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    client = _client(app, user)
    deposit = _deposit(client, live).json
    cancelled = client.post(f"/api/deposits/{deposit['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/deposits/{deposit['id']}/cancel").json == cancelled.json
    assert _decide(app, funds_key, "deposits", deposit["id"], "approved").status_code == 409
    approved = _deposit(client, live, "5.00").json
    _decide(app, funds_key, "deposits", approved["id"], "approved")
    refused = client.post(f"/api/deposits/{approved['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "not_pending"
    changed = events(sql_engine, "deposit.status_changed", id=deposit["id"])
    assert [e["data"]["status"] for e in changed] == ["cancelled"]


# --- withdrawals -----------------------------------------------------------------------------


def test_a_withdrawal_holds_the_amount_until_decided(app, trader, sql_engine):
    user, live, _ = trader
    client = _client(app, user)
    response = _withdraw(client, live, "300.00", details="IBAN DE89 3704 0044 0532 0130 00")
    assert response.status_code == 201, response.json
    withdrawal = response.json
    assert withdrawal["status"] == "pending"
    assert withdrawal["details"].startswith("IBAN")
    wait_money(sql_engine, live, "1000.00", held="300.00")
    (event,) = events(sql_engine, "withdrawal.requested", id=withdrawal["id"])
    assert event["data"]["amount"] == "300.00"
    beyond = _withdraw(client, live, "700.01")
    assert beyond.status_code == 422
    assert beyond.json["error"]["code"] == "insufficient_funds"
    assert [w["id"] for w in client.get("/api/withdrawals").json["items"]] == [withdrawal["id"]]
    assert _withdraw(client, live, "700.00").status_code == 201  # exactly what is free
    wait_money(sql_engine, live, "1000.00", held="1000.00")


def test_approving_a_withdrawal_debits_the_held_amount_once(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    withdrawal = _withdraw(_client(app, user), live, "300.00").json
    first = _decide(app, funds_key, "withdrawals", withdrawal["id"], "approved")
    second = _decide(app, funds_key, "withdrawals", withdrawal["id"], "approved")
    assert first.status_code == second.status_code == 200, (first.json, second.json)
    assert first.json == second.json
    wait_money(sql_engine, live, "700.00", held="0.00")
    debits = [r for r in ledger(sql_engine, live) if r.kind == "withdrawal"]
    assert [(r.amount, r.external_id) for r in debits] == [(-300, f"withdrawal:{withdrawal['id']}")]
    changed = events(sql_engine, "withdrawal.status_changed", id=withdrawal["id"])
    assert [e["data"]["status"] for e in changed] == ["approved"]


def test_declining_or_cancelling_a_withdrawal_releases_the_hold(app, trader, funds_key, sql_engine):
    user, live, _ = trader
    client = _client(app, user)
    declined = _withdraw(client, live, "100.00").json
    cancelled = _withdraw(client, live, "200.00").json
    wait_money(sql_engine, live, "1000.00", held="300.00")
    answer = _decide(app, funds_key, "withdrawals", declined["id"], "declined", reason="KYC incomplete")
    assert answer.status_code == 200 and answer.json["status"] == "declined"
    wait_money(sql_engine, live, "1000.00", held="200.00")
    assert client.post(f"/api/withdrawals/{cancelled['id']}/cancel").json["status"] == "cancelled"
    wait_money(sql_engine, live, "1000.00", held="0.00")
    assert _decide(app, funds_key, "withdrawals", cancelled["id"], "approved").status_code == 409
    assert _decide(app, funds_key, "withdrawals", declined["id"], "approved").status_code == 409
    assert [r.kind for r in ledger(sql_engine, live)] == ["deposit"]
    assert _withdraw(client, live, "1000.00").status_code == 201  # all of it is free again


def test_a_withdrawal_limit_set_by_the_crm_applies(app, trader, sql_engine):
    user, live, _ = trader
    client = _client(app, user)  # first: factories.login merges the detached user, undoing later changes
    users_key = make_key(app, "users")
    patched = app.test_client().patch(
        f"/api/crm/users/{user.id}", json={"limits": {"withdrawal_max": "50.00"}}, headers=bearer(users_key)
    )
    assert patched.status_code == 200, patched.json
    refused = _withdraw(client, live, "50.01")
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "limit_exceeded"
    assert _withdraw(client, live, "50.00").status_code == 201


# --- who may ask for what ----------------------------------------------------------------------


def test_demo_accounts_cannot_move_real_money(app, trader, sql_engine):
    user, _, demo = trader
    client = _client(app, user)
    for response in (_deposit(client, demo), _withdraw(client, demo, "10.00")):
        assert response.status_code == 422
        assert response.json["error"]["code"] == "demo_account"
    assert account_money(sql_engine, demo) == (10000, 0)


def test_other_peoples_accounts_and_requests_are_404(app, trader):
    user, live, _ = trader
    deposit = _deposit(_client(app, user), live).json
    stranger = _client(app, make_user(app))
    assert _deposit(stranger, live).status_code == 404
    assert _withdraw(stranger, live, "1.00").status_code == 404
    assert stranger.get(f"/api/deposits/{deposit['id']}").status_code == 404
    assert stranger.post(f"/api/deposits/{deposit['id']}/cancel").status_code == 404
    assert stranger.get("/api/deposits").json["items"] == []
    assert _deposit(stranger, 99999999).status_code == 404


def test_bad_money_input_is_a_400_and_changes_nothing(app, trader, sql_engine):
    user, live, _ = trader
    client = _client(app, user)
    for amount in (10.5, "10.555", "-5", "0", "abc", "1e3", None, "NaN", "100000000.01"):
        response = _deposit(client, live, amount)  # type: ignore[arg-type]
        assert response.status_code == 400, amount
        assert "amount" in response.json["error"]["fields"], amount
    wrong_currency = _deposit(client, live, currency="EUR")
    assert wrong_currency.status_code == 422
    assert wrong_currency.json["error"]["code"] == "currency_mismatch"
    missing = client.post("/api/withdrawals", json={"amount": "5.00"})
    assert missing.status_code == 400
    assert {"account_id", "currency", "method"} <= set(missing.json["error"]["fields"])
    assert client.get("/api/deposits").json["items"] == []


def test_impersonating_admins_may_deposit_but_not_withdraw(app, trader, sql_engine):
    user, live, _ = trader
    client = login(app.test_client(), app, user, impersonator_id="crm-admin-1", impersonation_reason="help")
    assert _deposit(client, live).status_code == 201
    refused = _withdraw(client, live, "10.00")
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "impersonation_forbidden"
    assert account_money(sql_engine, live) == (1000, 0)


# --- the CRM's lists ----------------------------------------------------------------------------


def test_crm_lists_filter_and_paginate(app, trader, funds_key):
    user, live, _ = trader
    client = _client(app, user)
    ids = [_deposit(client, live, f"{n}.00").json["id"] for n in (1, 2, 3)]
    _decide(app, funds_key, "deposits", ids[0], "declined")
    crm = app.test_client()
    page = crm.get(f"/api/crm/deposits?user_id={user.id}&per_page=2", headers=bearer(funds_key)).json
    assert (page["total"], [d["id"] for d in page["items"]]) == (3, [ids[2], ids[1]])
    page2 = crm.get(f"/api/crm/deposits?user_id={user.id}&per_page=2&page=2", headers=bearer(funds_key)).json
    assert [d["id"] for d in page2["items"]] == [ids[0]]
    pending = crm.get(f"/api/crm/deposits?user_id={user.id}&status=pending", headers=bearer(funds_key)).json
    assert {d["id"] for d in pending["items"]} == set(ids[1:])
    future = crm.get(f"/api/crm/deposits?user_id={user.id}&from=2999-01-01T00:00:00Z", headers=bearer(funds_key))
    assert future.json["items"] == []
    assert crm.get(f"/api/crm/deposits/{ids[1]}", headers=bearer(funds_key)).json["amount"] == "2.00"
    withdrawal = _withdraw(client, live, "1.00").json
    listed = crm.get(f"/api/crm/withdrawals?account_id={live}", headers=bearer(funds_key)).json
    assert [w["id"] for w in listed["items"]] == [withdrawal["id"]]
    assert crm.get("/api/crm/deposits", headers=bearer(make_key(app, "kyc"))).status_code == 403
