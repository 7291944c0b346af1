"""The phone layout, an accessibility scan with axe, and dashboard screenshots (light, dark, phone)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Platform, finish_context, new_context
from tests.e2e.helpers import login, run_axe, screenshot, settle, toast, wait_for_account
from web.seed_data import DEMO_CLIENT

pytestmark = pytest.mark.e2e

DEMO_EMAIL = DEMO_CLIENT["email"]  # the seeded demo client of `flask seed`
DEMO_PASSWORD = DEMO_CLIENT["password"]
PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture()
def phone_page(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Any:
    ctx = new_context(browser, platform, **PHONE)
    yield ctx.new_page()
    finish_context(ctx, request, platform)


def _no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_phone_layout_cards_bottom_tabs_and_ticket_drawer(phone_page: Any) -> None:
    page = phone_page
    login(page, DEMO_EMAIL, DEMO_PASSWORD)
    wait_for_account(page)
    sections = page.get_by_role("navigation", name="Dashboard sections")
    assert sections.is_visible()
    assert _no_horizontal_scroll(page), "the dashboard is wider than a 360 px phone"
    # Markets tab: the watchlist; picking a symbol goes back to its chart.
    sections.get_by_role("button", name="Markets").click()
    page.get_by_role("list", name="Watchlist").wait_for()
    page.get_by_test_id("watch-BTCUSD").get_by_role("button").first.click()
    page.get_by_role("heading", name="BTCUSD").wait_for()
    page.get_by_test_id("price-chart").locator("canvas").first.wait_for()
    # No ticket on the page: Buy opens it as a bottom drawer, and it trades from there.
    assert page.get_by_role("form", name="Order ticket for BTCUSD").count() == 0
    page.get_by_role("button", name="Buy").click()
    drawer = page.get_by_role("dialog", name="New order")
    drawer.get_by_role("form", name="Order ticket for BTCUSD").wait_for()
    assert _no_horizontal_scroll(page)
    drawer.get_by_role("button", name="Buy 0.01 BTCUSD").click()
    toast(page, "Buy 0.01 BTCUSD filled")
    drawer.wait_for(state="detached")
    # Portfolio tab: positions are cards (a list of label/value pairs), not a wide table.
    sections.get_by_role("button", name="Portfolio").click()
    card = page.get_by_role("list", name="Positions").get_by_role("listitem").filter(has_text="BTCUSD").first
    card.wait_for()
    assert "Open price" in card.inner_text()
    assert page.get_by_role("table").count() == 0
    assert _no_horizontal_scroll(page)
    settle(page)
    screenshot(page, "dashboard-phone-portfolio")
    sections.get_by_role("button", name="Chart").click()
    page.get_by_test_id("price-chart").locator("canvas").first.wait_for()
    settle(page)
    screenshot(page, "dashboard-phone")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_dashboard_screenshot_in_both_themes(page: Any, theme: str) -> None:
    login(page, DEMO_EMAIL, DEMO_PASSWORD)
    wait_for_account(page)
    page.evaluate(f"localStorage.setItem('theme', '{theme}')")
    page.reload()
    wait_for_account(page)
    is_dark = page.evaluate("document.documentElement.classList.contains('dark')")
    assert is_dark == (theme == "dark")
    page.get_by_test_id("price-chart").locator("canvas").first.wait_for()
    page.get_by_test_id("bid-EURUSD").filter(has_text="1.").wait_for()
    settle(page)
    path = screenshot(page, f"dashboard-{theme}")
    assert path.stat().st_size > 20_000


def test_theme_toggle_is_remembered_and_follows_the_system_at_first(
    browser: Any, platform: Platform, request: pytest.FixtureRequest
) -> None:
    ctx = new_context(browser, platform, color_scheme="dark")
    try:
        page = ctx.new_page()
        page.goto("/login")
        assert page.evaluate("document.documentElement.classList.contains('dark')"), (
            "should follow the dark system theme"
        )
        page.get_by_role("button", name="Switch to the light theme").click()
        assert not page.evaluate("document.documentElement.classList.contains('dark')")
        page.reload()
        page.get_by_role("heading", name="Log in").wait_for()
        assert not page.evaluate("document.documentElement.classList.contains('dark')"), "the choice was not remembered"
    finally:
        finish_context(ctx, request, platform)


def _axe_pages(browser: Any, platform: Platform, theme: str) -> dict[str, list[dict[str, Any]]]:
    ctx = new_context(browser, platform, color_scheme=theme, bypass_csp=True)  # axe is injected inline
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page = ctx.new_page()
        page.goto("/login")
        page.get_by_role("heading", name="Log in").wait_for()
        found["login"] = run_axe(page)
        page.goto("/register")
        page.get_by_role("heading", name="Create your account").wait_for()
        page.get_by_role("button", name="Create account").click()  # scan with error messages shown
        page.get_by_role("alert").first.wait_for()
        found["register"] = run_axe(page)
        login(page, DEMO_EMAIL, DEMO_PASSWORD)
        wait_for_account(page)
        page.get_by_test_id("price-chart").locator("canvas").first.wait_for()
        settle(page)
        found["dashboard"] = run_axe(page)
        for path, heading in (
            ("/funds", "Deposits and withdrawals"),
            ("/kyc", "Identity verification"),
            ("/settings", "Settings"),
        ):
            page.goto(path)
            page.get_by_role("heading", name=heading, exact=True).wait_for()
            settle(page)
            found[path] = run_axe(page)
        page.goto("/")
        wait_for_account(page)
        page.get_by_role("button", name="Add").click()
        page.get_by_role("dialog").wait_for()
        found["symbol search"] = run_axe(page)
    finally:
        ctx.close()
    return found


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_accessibility_scan_has_no_serious_or_critical_violations(browser: Any, platform: Platform, theme: str) -> None:
    found = _axe_pages(browser, platform, theme)
    assert set(found) >= {"login", "register", "dashboard", "/funds", "/kyc", "/settings", "symbol search"}
    problems = {page: v for page, v in found.items() if v}
    assert not problems, f"axe found serious/critical violations ({theme}): {problems}"


def test_keyboard_only_user_can_reach_the_ticket_and_the_main_navigation(page: Any) -> None:
    login(page, DEMO_EMAIL, DEMO_PASSWORD)
    wait_for_account(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused
    # Every interactive control is reachable by Tab; walk until the ticket's submit button.
    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "(document.activeElement.getAttribute('aria-label') || document.activeElement.innerText || '').trim()"
            )
        )
        if any(r.startswith("Buy 0.01") for r in reached):
            break
    assert any(r.startswith("Buy 0.01") for r in reached), sorted(reached)[:40]
    assert "Trade" in reached and "Funds" in reached
