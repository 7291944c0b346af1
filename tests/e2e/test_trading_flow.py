"""The client's whole journey: register → verify via the mail → log in → open a demo account →
buy at market → watch the position move with live prices → set TP/SL → close → see it in history."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.e2e.helpers import PASSWORD, number, toast, unique_email, wait_for_account, wait_until_changes
from tests.smtp import token_from
from tests.support import wait_for

pytestmark = pytest.mark.e2e

SYMBOL = "BTCUSD"  # trades every day of the week, so the test does not depend on forex hours


def _register_and_verify(page: Any, platform: Platform) -> str:
    email = unique_email("trader")
    page.goto("/register")
    page.get_by_label("First name").fill("Tess")
    page.get_by_label("Last name").fill("Trader")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Country (optional)").fill("gb")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    # Client-side rules first: nothing is sent while fields are invalid.
    page.get_by_role("alert").filter(has_text="Use at least 12 characters").wait_for()
    page.get_by_role("alert").filter(has_text="Please accept the terms").wait_for()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()

    mail = platform.mail.wait_for(email, "Confirm your e-mail")
    token = token_from(mail, "/verify-email")
    page.goto(f"/verify-email?token={token}")
    page.get_by_text("Your e-mail address is verified").wait_for()
    # The link is single use: opening it again says so.
    page.goto(f"/verify-email?token={token}")
    page.get_by_text("This link is invalid, expired or already used").wait_for()
    return email


def _log_in(page: Any, email: str) -> None:
    page.get_by_role("link", name="Go to login").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill("not-the-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="The e-mail address or the password is wrong").wait_for()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_for_account(page)


def _open_demo_account(page: Any) -> None:
    page.get_by_role("button", name=re.compile("^Account: ")).click()
    page.get_by_role("menuitem", name="Open a demo account").click()
    toast(page, "Your demo account is open")
    page.get_by_role("button", name=re.compile("^Account: Demo")).wait_for()
    wait_for(lambda: number(page.get_by_test_id("acct-balance").inner_text()) > 0, timeout=20, what="demo money")


def _select_symbol(page: Any) -> None:
    page.get_by_test_id(f"watch-{SYMBOL}").get_by_role("button").first.click()
    page.get_by_role("form", name=f"Order ticket for {SYMBOL}").wait_for()


def _bid(page: Any) -> Decimal:
    return number(page.get_by_test_id(f"bid-{SYMBOL}").inner_text())


def test_register_verify_trade_protect_close_and_review(page: Any, platform: Platform) -> None:
    email = _register_and_verify(page, platform)
    _log_in(page, email)
    _open_demo_account(page)
    _select_symbol(page)

    ticket = page.get_by_role("form", name=f"Order ticket for {SYMBOL}")
    # Required margin and costs are shown before anything is sent.
    assert number(ticket.get_by_test_id("required-margin").inner_text()) > 0
    ticket.get_by_label("Volume (lots)").fill("0.013")
    ticket.get_by_role("button", name=f"Buy 0.013 {SYMBOL}").click()
    ticket.get_by_role("alert").filter(has_text="Use a multiple of the volume step").wait_for()
    ticket.get_by_label("Volume (lots)").fill("0.05")
    ticket.get_by_role("button", name=f"Buy 0.05 {SYMBOL}").click()
    toast(page, re.compile(rf"Buy 0\.05 {SYMBOL} filled at [\d,]+\.\d\d"))

    positions = page.get_by_role("region", name="Positions")
    row = positions.get_by_role("row").filter(has_text=SYMBOL)
    row.wait_for()
    assert "0.05" in row.inner_text()
    position_id = row.get_attribute("data-testid").removeprefix("position-")

    # Live prices move the position's P/L without a reload.
    pl = page.get_by_test_id(f"pl-{position_id}")
    before, after = wait_until_changes(lambda: pl.inner_text(), what="the position's live P/L")
    assert number(before) != number(after)
    assert re.match(r"^[+\u2212]?[\d,]+\.\d\d", after.strip()), after

    # Protect it: stop loss below and take profit above the current bid.
    bid = _bid(page)
    sl, tp = (bid - 800).quantize(Decimal("0.01")), (bid + 800).quantize(Decimal("0.01"))
    row.get_by_role("button", name=f"Edit TP/SL of {SYMBOL}").click()
    dialog = page.get_by_role("dialog", name=f"Protection for {SYMBOL}")
    dialog.get_by_label("Stop loss").fill(str(bid + 100))  # the wrong side: refused in the form
    dialog.get_by_role("button", name="Save").click()
    dialog.get_by_role("alert").filter(has_text="Stop loss must be below the price").wait_for()
    dialog.get_by_label("Stop loss").fill(str(sl))
    dialog.get_by_label("Take profit").fill(str(tp))
    dialog.get_by_role("button", name="Save").click()
    toast(page, f"TP/SL of {SYMBOL} saved")
    wait_for(lambda: number(page.get_by_test_id(f"sl-{position_id}").inner_text()) == sl, what="the new stop loss")
    assert number(page.get_by_test_id(f"tp-{position_id}").inner_text()) == tp

    # Close it at market.
    row.get_by_role("button", name=re.compile(f"^Close {SYMBOL}")).click()
    dialog = page.get_by_role("dialog", name=f"Close {SYMBOL}")
    dialog.get_by_role("button", name="Close at market").click()
    toast(page, f"{SYMBOL} closed")
    positions.get_by_role("row").filter(has_text=SYMBOL).wait_for(state="detached")
    page.get_by_text("No open positions.").wait_for()

    # History has the opening and the closing fill.
    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("region", name="History")
    history.get_by_role("row").filter(has_text=SYMBOL).filter(has_text="Close").wait_for()
    rows = history.get_by_role("row").filter(has_text=SYMBOL)
    texts = rows.all_inner_texts()
    assert any("Open" in t for t in texts) and any("Close" in t for t in texts), texts
    page.get_by_label("Symbol").select_option("EURUSD")
    page.get_by_text("No trades in this period.").wait_for()
    page.get_by_label("Symbol").select_option(SYMBOL)
    rows.first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    csv_text = download.value.path().read_text()
    assert SYMBOL in csv_text
