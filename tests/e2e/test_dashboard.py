"""Dashboard details: the watchlist remembered per user, pending orders edited and cancelled,
partial close and close-all, and the impersonation banner of a CRM support session."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, Platform
from tests.e2e.helpers import api_login, login, number, register_verified_user, toast, wait_for_account
from tests.support import wait_for

pytestmark = pytest.mark.e2e


def _demo_account(page: Any) -> None:
    """Open a demo account (the engine funds it) and trade on it."""
    page.get_by_role("button", name=re.compile("^Account: ")).click()
    page.get_by_role("menuitem", name="Open a demo account").click()
    toast(page, "Your demo account is open")
    wait_for(lambda: number(page.get_by_test_id("acct-balance").inner_text()) > 0, timeout=20, what="demo money")


def _pick(page: Any, symbol: str) -> Any:
    page.get_by_test_id(f"watch-{symbol}").get_by_role("button").first.click()
    ticket = page.get_by_role("form", name=f"Order ticket for {symbol}")
    ticket.wait_for()
    return ticket


def test_watchlist_add_and_remove_are_remembered(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "watch")
    login(page, email)
    wait_for_account(page)
    watchlist = page.get_by_role("list", name="Watchlist")
    watchlist.get_by_test_id("watch-GBPUSD").wait_for()
    for symbol in ("GBPUSD", "WTI"):
        if watchlist.get_by_test_id(f"watch-{symbol}").count():
            page.get_by_role("button", name=f"Remove {symbol} from the watchlist").click()
            watchlist.get_by_test_id(f"watch-{symbol}").wait_for(state="detached")
    page.get_by_role("button", name="Add", exact=True).click()
    search = page.get_by_role("dialog").get_by_role("combobox")
    search.fill("crude")
    page.get_by_role("option", name=re.compile("WTI")).click()
    watchlist.get_by_test_id("watch-WTI").wait_for()
    page.get_by_role("form", name="Order ticket for WTI").wait_for()  # the pick is shown at once
    # Another browser, same user: the list comes from the user's preferences on the server.
    # One sign-in, then poll: signing in on every poll would spend the per-IP login budget and
    # leave the next tests' logins answered 429.
    http, res = api_login(platform, email)
    assert res.status_code == 200, res.text
    with http:
        wait_for(lambda: "WTI" in saved_watchlist(platform, http), what="the saved watchlist")
    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    login(page, email)
    wait_for_account(page)
    watchlist.get_by_test_id("watch-WTI").wait_for()
    assert watchlist.get_by_test_id("watch-GBPUSD").count() == 0


def saved_watchlist(platform: Platform, http: requests.Session) -> list[str]:
    me = http.get(platform.url("/api/auth/me"), timeout=10).json()
    return list(me.get("preferences", {}).get("watchlist") or [])


def test_pending_order_edit_and_cancel(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "pending")
    login(page, email)
    wait_for_account(page)
    _demo_account(page)
    ticket = _pick(page, "ETHUSD")
    bid = number(page.get_by_test_id("bid-ETHUSD").inner_text())
    ticket.get_by_label("Order type").select_option("limit")
    ticket.get_by_label("Price").fill(str((bid * Decimal("1.2")).quantize(Decimal("0.01"))))
    ticket.get_by_role("button", name="Place Buy Limit").click()
    ticket.get_by_role("alert").filter(has_text="Must be below the market price").wait_for()
    limit = (bid * Decimal("0.8")).quantize(Decimal("0.01"))
    ticket.get_by_label("Price").fill(str(limit))
    ticket.get_by_role("button", name="Place Buy Limit").click()
    toast(page, "Buy Limit order on ETHUSD placed")

    page.get_by_role("tab", name=re.compile("^Orders")).click()
    orders = page.get_by_role("region", name="Orders")
    row = orders.get_by_role("row").filter(has_text="ETHUSD")
    row.wait_for()
    assert number(row.get_by_role("cell").nth(3).inner_text()) == limit

    lower = (bid * Decimal("0.7")).quantize(Decimal("0.01"))
    row.get_by_role("button", name=re.compile("^Edit ETHUSD")).click()
    dialog = page.get_by_role("dialog", name="Edit the ETHUSD order")
    dialog.get_by_label("Price").fill(str(lower))
    dialog.get_by_role("button", name="Save").click()
    toast(page, "Order on ETHUSD changed")
    wait_for(lambda: number(row.get_by_role("cell").nth(3).inner_text()) == lower, what="the new limit price")

    row.get_by_role("button", name=re.compile("^Cancel ETHUSD")).click()
    toast(page, "Order on ETHUSD cancelled")
    page.get_by_text("No pending orders.").wait_for()


def test_partial_close_then_close_all(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "partial")
    login(page, email)
    wait_for_account(page)
    _demo_account(page)
    ticket = _pick(page, "BTCUSD")
    ticket.get_by_label("Volume (lots)").fill("0.04")
    ticket.get_by_role("button", name="Buy 0.04 BTCUSD").click()
    toast(page, re.compile("Buy 0.04 BTCUSD filled"))
    positions = page.get_by_role("region", name="Positions")
    row = positions.get_by_role("row").filter(has_text="BTCUSD")
    row.wait_for()

    row.get_by_role("button", name=re.compile("^Close BTCUSD")).click()
    dialog = page.get_by_role("dialog", name="Close BTCUSD")
    dialog.get_by_label("Volume to close").fill("0.05")
    dialog.get_by_role("button", name="Close at market").click()
    dialog.get_by_role("alert").filter(has_text="More than the position's volume").wait_for()
    dialog.get_by_label("Volume to close").fill("0.01")
    dialog.get_by_role("button", name="Close at market").click()
    toast(page, "0.01 lots of BTCUSD closed")
    wait_for(lambda: "0.03" in row.inner_text(), what="the remaining 0.03 lots")

    ticket.get_by_label("Volume (lots)").fill("0.02")
    ticket.get_by_role("button", name="Sell").first.click()
    ticket.get_by_role("button", name="Sell 0.02 BTCUSD").click()
    toast(page, re.compile("Sell 0.02 BTCUSD filled"))
    wait_for(lambda: positions.get_by_role("row").filter(has_text="BTCUSD").count() == 2, what="two positions")

    page.get_by_role("button", name="Close all").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Close all positions").click()
    toast(page, "All positions closed")
    page.get_by_text("No open positions.").wait_for()

    # The statement lists the demo money and every realised result with the running balance.
    page.get_by_role("link", name="Funds").click()
    page.get_by_role("tab", name="Statement").click()
    statement = page.get_by_role("region", name="Account statement")
    statement.get_by_role("row").filter(has_text="Trade result").first.wait_for()
    assert statement.get_by_role("row").filter(has_text="Deposit").count() == 1
    assert statement.get_by_role("row").filter(has_text="Trade result").count() >= 1


def test_impersonation_banner_stays_while_an_admin_acts_as_the_client(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "imperson")
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "create-key", "--name", "e2e-sso", "--scopes", "sso"],
        cwd=ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = out.stdout.strip().splitlines()[-1]
    from sqlalchemy import text

    from models.session import engine_for

    with engine_for(platform.env["DATABASE_URL"]).connect() as conn:
        user_id = conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar_one()
    res = requests.post(
        platform.url("/api/sso/impersonate"),
        json={"admin_id": "crm-admin-7", "user_id": user_id, "reason": "Ticket 42: e2e check"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert res.status_code in (200, 201), res.text
    page.goto(res.json()["url"])
    banner = page.get_by_test_id("impersonation-banner")
    banner.wait_for()
    assert "crm-admin-7" in banner.inner_text() and email in banner.inner_text()
    assert banner.get_by_role("button").count() == 0, "the banner must not be dismissible"
    page.get_by_role("link", name="Settings").click()
    page.get_by_text("Security settings cannot be changed during a support session.").wait_for()
    assert page.get_by_role("button", name="Set up two-step verification").is_disabled()
    page.get_by_role("link", name="Funds").click()
    assert page.get_by_test_id("impersonation-banner").is_visible()
