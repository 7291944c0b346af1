"""The admin dashboard in the browser: an admin with 2FA filters the audit log to one client's logins
and exports them as CSV; manages users and webhook endpoints; reads impersonation history and system
status; sees a tampered audit row break the hash chain; every admin page passes axe in both themes.

One admin signs in once (with a TOTP code) for the whole module: a second sign-in within the same
30 s step would need a code the server has already seen.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
from sqlalchemy import text

from common.webhook_signing import sign
from tests.e2e.conftest import _FAILED, ARTIFACTS, ROOT, Platform, new_context
from tests.e2e.helpers import PASSWORD, api_login, http_session, run_axe, screenshot, settle, toast, unique_email
from tests.support import wait_for
from tests.webhook_receiver import Reply, WebhookReceiver
from web.seed_data import DEMO_CLIENT
from web.services.admin import CSV_COLUMNS

pytestmark = pytest.mark.e2e

# Sent as a client's User-Agent: a spreadsheet would run it if the export did not neutralise it.
FORMULA_UA = '=HYPERLINK("http://evil.example/x","Open")'


# --- the platform, outside the browser ---------------------------------------------------------


def sql(platform: Platform, statement: str, **params: Any) -> Any:
    from models.session import engine_for

    with engine_for(platform.env["DATABASE_URL"]).begin() as conn:
        return conn.execute(text(statement), params)


def user_id(platform: Platform, email: str) -> int:
    return int(sql(platform, "SELECT id FROM users WHERE email = :e", e=email).scalar_one())


def flask(platform: Platform, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=platform.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def make_client(platform: Platform, prefix: str) -> tuple[str, int]:
    """A verified client written straight to the database, as the seed does.

    Registering through the API would spend the per-IP registration budget (10 an hour) that the
    other browser tests of this package need.
    """
    from sqlalchemy.orm import Session

    from models import User
    from models.session import engine_for
    from web.services.passwords import hash_password

    email = unique_email(prefix)
    now = datetime.now(UTC)
    with Session(engine_for(platform.env["DATABASE_URL"])) as session:
        user = User(
            email=email,
            password_hash=hash_password(PASSWORD),
            first_name="Eve",
            last_name="Tester",
            country="GB",
            role="client",
            status="active",
            email_verified_at=now,
            password_changed_at=now,
            flags={},
            limits={},
            preferences={},
        )
        session.add(user)
        session.commit()
        return email, user.id


def create_admin_with_2fa(platform: Platform) -> tuple[str, pyotp.TOTP]:
    """An admin made with the CLI, who then turns on TOTP through the API (setup, then a first code)."""
    email = unique_email("admin")
    flask(platform, "create-admin", "--email", email, "--password", PASSWORD)
    http, res = api_login(platform, email)
    assert res.status_code == 200 and not res.json().get("mfa_required"), res.text
    csrf = http.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]
    setup = http.post(platform.url("/api/auth/2fa/setup"), headers={"X-CSRFToken": csrf}, timeout=10).json()
    totp = pyotp.TOTP(setup["secret"])
    res = http.post(
        platform.url("/api/auth/2fa/enable"), json={"code": totp.now()}, headers={"X-CSRFToken": csrf}, timeout=10
    )
    assert res.status_code == 200 and len(res.json()["backup_codes"]) == 10, res.text
    return email, totp


# --- one signed-in admin for the module --------------------------------------------------------


class AdminBrowser:
    def __init__(self, page: Any, email: str) -> None:
        self.page = page
        self.email = email
        self.errors: list[str] = []

    def open(self, section: str) -> Any:
        """Go to an admin section through its navigation link."""
        page = self.page
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
        page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=section).click()
        page.get_by_role(
            "heading", level=1, name=section if section != "Impersonations" else "Impersonation history"
        ).wait_for()
        return page


@pytest.fixture(scope="module")
def admin(browser: Any, platform: Platform) -> Iterator[AdminBrowser]:
    email, totp = create_admin_with_2fa(platform)
    ctx = new_context(browser, platform, bypass_csp=True)  # axe is injected inline
    page = ctx.new_page()
    admin = AdminBrowser(page, email)
    page.on("pageerror", lambda exc: admin.errors.append(str(exc)))
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Two-step verification").wait_for()
    # The next step's code: inside the ±1 step window, and never used (the setup used the current one).
    page.get_by_label("Verification code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("navigation", name="Main").wait_for()
    yield admin
    failed = any(item.stash.get(_FAILED, False) for item in admin_items)
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        ctx.tracing.stop(path=str(ARTIFACTS / "admin-dashboard-trace.zip"))
    else:
        ctx.tracing.stop()
    ctx.close()


admin_items: list[pytest.Item] = []


@pytest.fixture(autouse=True)
def _per_test(request: pytest.FixtureRequest, platform: Platform) -> Iterator[None]:
    """Keep evidence of a failure (screenshot, logs), and fail a test that left errors in the page."""
    admin_items.append(request.node)
    yield
    if "admin" not in request.fixturenames:
        return
    admin: AdminBrowser = request.getfixturevalue("admin")
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_")
        admin.page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        (ARTIFACTS / f"{name}-platform-logs.txt").write_text(platform.logs())
    errors, admin.errors[:] = list(admin.errors), []
    assert not errors, f"uncaught errors in the page: {errors}"


def apply_filters(page: Any, **fields: str) -> None:
    """Fill audit filters by label (empty string clears a field) and apply them with the Enter key."""
    labels = {"actor": "Actor", "action": "Action", "target": "Target", "ip": "IP address", "q": "Free text"}
    form = page.get_by_role("search", name="Filters")
    for key, value in fields.items():
        form.get_by_label(labels[key], exact=True).fill(value)
    form.get_by_label(labels[next(iter(fields))], exact=True).press("Enter")


def matching(page: Any, count: int) -> None:
    page.get_by_text(re.compile(rf"^{count} matching rows?$")).wait_for()


def audit_rows(page: Any) -> Any:
    return page.get_by_role("region", name="Audit rows").locator("tbody tr")


# --- the flows ---------------------------------------------------------------------------------


def test_admin_with_2fa_filters_one_clients_logins_and_exports_them_as_csv(
    admin: AdminBrowser, platform: Platform
) -> None:
    page = admin.page
    email, uid = make_client(platform, "audited")
    # One failed attempt, then two logins (one with a formula as its browser name); the demo client logs in too.
    _, res = api_login(platform, email, "Wrong-Password-123!")
    assert res.status_code == 401
    assert api_login(platform, email, user_agent=FORMULA_UA)[1].status_code == 200
    assert api_login(platform, email)[1].status_code == 200
    assert api_login(platform, DEMO_CLIENT["email"], DEMO_CLIENT["password"])[1].status_code == 200
    logins = sql(
        platform,
        "SELECT id, user_agent FROM audit_logs"
        " WHERE actor_type = 'user' AND actor_id = :u AND action = 'auth.login' ORDER BY id",
        u=str(uid),
    ).all()
    assert len(logins) == 2
    formula_row = next(row_id for row_id, ua in logins if ua == FORMULA_UA)

    # The admin area opens on the audit log, with the chain verified.
    admin.open("Audit log")
    assert page.url.endswith("/admin/audit")
    page.locator("[data-testid=chain-state][data-status=verified]").wait_for()

    # From the user's page to their audit trail (filtered by actor in the URL).
    admin.open("Users")
    search = page.get_by_role("search", name="Search users")
    search.get_by_label("Search", exact=True).fill(email)
    search.get_by_role("button", name="Search").click()
    page.get_by_role("region", name="Users", exact=True).get_by_role("link", name=email).click()
    page.get_by_role("heading", level=1, name="Eve Tester").wait_for()
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_role("heading", level=1, name="Audit log").wait_for()
    assert f"actor=user%3A{uid}" in page.url
    assert page.get_by_label("Actor", exact=True).input_value() == f"user:{uid}"

    # The failed attempt was anonymous: it is found by its target, with the Failure outcome.
    apply_filters(page, actor="", target=f"user:{uid}", action="auth.login_failed")
    matching(page, 1)
    assert "Failure" in audit_rows(page).first.inner_text()

    # Down to the client's logins: only their auth.login rows are listed.
    apply_filters(page, target="", actor=f"user:{uid}", action="auth.login")
    matching(page, 2)
    assert "target=" not in page.url and "action=auth.login" in page.url
    rows = audit_rows(page)
    assert rows.count() == 2
    for i in range(2):
        assert re.search(rf"user:{uid}\b", rows.nth(i).inner_text()) and "auth.login" in rows.nth(i).inner_text()
    assert {int(rows.nth(i).get_attribute("data-testid").split("-")[-1]) for i in range(2)} == {r for r, _ in logins}

    # The detail view has every field, the details JSON and the hashes.
    page.get_by_role("button", name=f"Details of row {formula_row}").click()
    dialog = page.get_by_role("dialog", name=f"Audit row {formula_row}")
    row_hash = sql(platform, "SELECT hash FROM audit_logs WHERE id = :i", i=formula_row).scalar_one()
    dialog.get_by_text(row_hash).wait_for()
    assert FORMULA_UA in dialog.inner_text() and '"method": "password"' in dialog.inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert "row=" not in page.url

    # The filters live in the URL: a reload keeps them.
    page.reload()
    matching(page, 2)
    assert page.get_by_label("Action", exact=True).input_value() == "auth.login"

    # The CSV export streams exactly the filtered rows, with the formula neutralised.
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert "/api/admin/audit.csv?" in download.url and f"actor=user%3A{uid}" in download.url
    content = Path(download.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(content)))
    assert table[0] == list(CSV_COLUMNS)
    body = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert sorted(int(r["id"]) for r in body) == [r for r, _ in logins]
    assert {(r["actor_type"], r["actor_id"], r["action"]) for r in body} == {("user", str(uid), "auth.login")}
    by_id = {int(r["id"]): r for r in body}
    assert by_id[formula_row]["user_agent"] == "'" + FORMULA_UA
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in body for cell in r.values())


def test_admin_ends_a_clients_sessions_then_disables_and_enables_them(admin: AdminBrowser, platform: Platform) -> None:
    page = admin.page
    email, uid = make_client(platform, "managed")
    client, res = api_login(platform, email)
    assert res.status_code == 200
    # A funded client first: accounts with the engine's live figures.
    admin.open("Users")
    search = page.get_by_role("search", name="Search users")
    search.get_by_label("Search", exact=True).fill(DEMO_CLIENT["email"])
    search.get_by_role("button", name="Search").click()
    page.get_by_role("region", name="Users", exact=True).get_by_role("link", name=DEMO_CLIENT["email"]).click()
    accounts = page.get_by_role("region", name="Trading accounts")
    demo = accounts.locator("tbody tr").filter(has_text="Demo")
    assert re.search(r"\$10,000\.00", demo.inner_text()), demo.inner_text()
    assert "1:100" in demo.inner_text()

    page.goto(f"/admin/users/{uid}")
    page.get_by_role("heading", level=1, name="Eve Tester").wait_for()
    page.get_by_role("region", name="Sessions", exact=True).get_by_text("Active", exact=True).first.wait_for()

    page.get_by_role("button", name="End sessions").click()
    dialog = page.get_by_role("dialog", name=f"End every session of {email}?")
    dialog.get_by_role("button", name="End sessions").click()
    toast(page, re.compile(r"^\d+ sessions? ended$"))
    assert client.get(platform.url("/api/auth/me"), timeout=10).status_code == 401

    page.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("dialog", name=f"Disable {email}?")
    dialog.get_by_label("Reason").fill("e2e: suspected account takeover")
    dialog.get_by_role("button", name="Disable").click()
    toast(page, f"{email} is disabled")
    page.get_by_text("Disabled", exact=True).first.wait_for()
    _, res = api_login(platform, email)
    assert res.status_code == 403 and res.json()["error"]["code"] == "account_disabled"

    page.get_by_role("button", name="Enable").click()
    page.get_by_role("dialog", name=f"Enable {email}?").get_by_role("button", name="Enable").click()
    toast(page, f"{email} is enabled")
    assert api_login(platform, email)[1].status_code == 200

    # Each change is in the audit log, with the reason.
    page.goto(f"/admin/audit?target=user%3A{uid}&action=admin.user_disabled")
    matching(page, 1)
    audit_rows(page).first.get_by_role("button").click()
    page.get_by_role("dialog").get_by_text("e2e: suspected account takeover").wait_for()
    page.keyboard.press("Escape")


def test_admin_manages_a_webhook_endpoint_and_redelivers_an_event(admin: AdminBrowser, platform: Platform) -> None:
    page = admin.page
    receiver = WebhookReceiver().start()
    receiver.always(Reply(status=503, body=b"unavailable"))
    try:
        admin.open("Webhooks")
        page.get_by_role("button", name="Add endpoint").click()
        form = page.get_by_role("dialog", name="Add a webhook endpoint")
        form.get_by_label("URL").fill("ftp://nope")
        form.get_by_role("button", name="Add endpoint").click()
        form.get_by_text("Enter an http(s) URL.").wait_for()
        form.get_by_label("URL").fill(receiver.url)
        form.get_by_label("Events").fill("user.updated")
        form.get_by_label("Description").fill("e2e receiver")
        form.get_by_role("button", name="Add endpoint").click()
        shown = page.get_by_role("dialog", name="The endpoint's signing secret")
        secret = shown.get_by_test_id("endpoint-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        assert "only time the secret is shown" in shown.inner_text()
        shown.get_by_role("button", name="I have stored it").click()
        shown.wait_for(state="detached")
        assert page.get_by_text(secret).count() == 0, "the secret must not stay on the page"
        endpoints = page.get_by_role("region", name="Endpoints", exact=True)
        row = endpoints.locator("tbody tr").filter(has_text=receiver.url)
        assert "Enabled" in row.inner_text() and "user.updated" in row.inner_text()

        # A client changes their phone number: the user.updated event goes to the endpoint, which keeps answering 503.
        email, _ = make_client(platform, "hooked")
        client, res = api_login(platform, email)
        assert res.status_code == 200
        csrf = client.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]
        res = client.patch(
            platform.url("/api/auth/me"), json={"phone": "+44 20 7946 0018"}, headers={"X-CSRFToken": csrf}, timeout=10
        )
        assert res.status_code == 200, res.text
        wait_for(lambda: receiver.requests, timeout=30, what="the first delivery")
        first = receiver.requests[0]
        msg_id = first.webhook_id
        events = page.get_by_role("search", name="Filter events")
        events.get_by_label("Event type").fill("user.updated")
        events.get_by_label("Endpoint").select_option(label=receiver.url)
        events.get_by_role("button", name="Apply filters").click()
        event_row = page.get_by_role("region", name="Events", exact=True).locator("tbody tr").filter(has_text=msg_id)
        event_row.wait_for()
        event_row.get_by_role("button", name=re.compile(r"^Details of event")).click()
        dialog = page.get_by_role("dialog", name=re.compile(r"^Webhook event \d+$"))
        assert email in dialog.get_by_label("Payload as sent").inner_text()
        delivery = dialog.get_by_role("region", name=f"Delivery to {receiver.url}")
        attempts = delivery.get_by_role("region", name="Attempts", exact=True).locator("tbody tr")
        # The worker retries once after 5 s; the next retry is minutes away, so a redelivery is what sends it now.
        wait_for(lambda: attempts.count() >= 2, timeout=30, what="two failed attempts")
        assert "503" in attempts.first.inner_text() and "Retrying" in delivery.inner_text()
        receiver.always(Reply())
        delivery.get_by_role("button", name="Redeliver").click()
        toast(page, "1 delivery queued")
        delivery.get_by_text("Succeeded", exact=True).first.wait_for(timeout=30_000)
        assert wait_for(lambda: attempts.count() >= 3, what="the redelivered attempt")
        # Same webhook-id, signed with the secret shown once.
        last = receiver.for_id(msg_id)[-1]
        expected = sign(secret, msg_id, int(last.headers["webhook-timestamp"]), last.body)
        assert expected in last.headers["webhook-signature"].split(" ")
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")

        # Rotate: a new secret, shown once; the old one keeps signing during the overlap.
        row.get_by_role("button", name=f"Rotate the secret of {receiver.url}").click()
        confirm = page.get_by_role("dialog", name="Rotate the signing secret?")
        confirm.get_by_label("Overlap (hours)").fill("2")
        confirm.get_by_role("button", name="Rotate secret").click()
        shown = page.get_by_role("dialog", name="The endpoint's signing secret")
        rotated = shown.get_by_test_id("endpoint-secret").inner_text().strip()
        assert rotated.startswith("whsec_") and rotated != secret
        shown.get_by_role("button", name="I have stored it").click()
        row.get_by_text(re.compile("^Still signing until")).wait_for()

        # Disable with a reason, enable, then redeliver everything that failed in the last hour.
        row.get_by_role("button", name=f"Disable {receiver.url}").click()
        confirm = page.get_by_role("dialog", name="Disable this endpoint?")
        confirm.get_by_label("Reason").fill("CRM maintenance window")
        confirm.get_by_role("button", name="Disable").click()
        toast(page, f"{receiver.url} is disabled")
        row.get_by_text("CRM maintenance window").wait_for()
        assert "Disabled" in row.inner_text()
        row.get_by_role("button", name=f"Enable {receiver.url}").click()
        toast(page, f"{receiver.url} is enabled")
        form = page.get_by_role("form", name="Redeliver failed deliveries")
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # the context's zone is UTC
        form.get_by_label("Failed since").fill(since)
        form.get_by_label("Endpoint").select_option(label=receiver.url)
        form.get_by_role("button", name="Redeliver failed").click()
        toast(page, re.compile(r"^(Nothing to redeliver|\d+ deliver(y|ies) queued)$"))

        # Leave it disabled: later browser tests register users, and nothing listens here after this test.
        row.get_by_role("button", name=f"Disable {receiver.url}").click()
        page.get_by_role("dialog", name="Disable this endpoint?").get_by_role("button", name="Disable").click()
        toast(page, f"{receiver.url} is disabled")
    finally:
        receiver.close()


def test_impersonation_history_shows_who_why_and_what_was_done(admin: AdminBrowser, platform: Platform) -> None:
    page = admin.page
    email, uid = make_client(platform, "impersonated")
    key = flask(platform, "crm", "create-key", "--name", "e2e-admin-sso", "--scopes", "sso").strip().splitlines()[-1]
    res = requests.post(
        platform.url("/api/sso/impersonate"),
        json={"admin_id": "crm-admin-42", "user_id": uid, "reason": "Ticket 4711: client cannot log in"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert res.status_code in (200, 201), res.text
    support, _ = http_session(platform)
    assert support.get(res.json()["url"], timeout=10).status_code == 200
    csrf = support.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]
    # Something the support session may not do: refused, and recorded against the impersonation.
    refused = support.post(platform.url("/api/auth/2fa/setup"), headers={"X-CSRFToken": csrf}, timeout=10)
    assert refused.status_code == 403

    admin.open("Impersonations")
    filters = page.get_by_role("search", name="Filter impersonations")
    filters.get_by_label("User id").fill("abc")
    filters.get_by_role("button", name="Apply filters").click()
    filters.get_by_text("Enter a user id (a number).").wait_for()
    filters.get_by_label("User id").fill(str(uid))
    filters.get_by_role("button", name="Apply filters").click()
    card = page.get_by_role("list", name="Impersonation sessions").get_by_role("listitem").filter(has_text=email).first
    card.get_by_role("heading", name=f"crm-admin-42 as {email}").wait_for()
    assert "Ticket 4711: client cannot log in" in card.inner_text()
    actions = card.get_by_role("list", name=f"Actions while acting as {email}")
    action = actions.get_by_role("listitem").filter(has_text="impersonation.forbidden_action")
    assert "Denied" in action.inner_text()
    action.get_by_role("link").click()
    dialog = page.get_by_role("dialog", name=re.compile(r"^Audit row \d+$"))
    dialog.get_by_text("crm-admin-42").first.wait_for()
    page.keyboard.press("Escape")

    # The CRM admin is an actor type of its own in the audit filters.
    page.get_by_role("search", name="Filters").get_by_label("Actor type").select_option("crm_admin")
    apply_filters(page, actor="", target=f"user:{uid}", action="sso.*")
    matching(page, 1)
    assert "sso.impersonation_started" in audit_rows(page).first.inner_text()


def test_system_status_shows_feed_engine_and_queues_and_refreshes_itself(admin: AdminBrowser) -> None:
    page = admin.open("System status")
    page.locator("[data-testid=feed-mode][data-mode=ws]").wait_for()
    assert "Live (WebSocket)" in page.get_by_test_id("feed-mode").inner_text()
    quotes = page.get_by_role("region", name="Quotes by symbol")
    for symbol in ("EURUSD", "BTCUSD", "XAUUSD"):
        assert re.search(r"\d", quotes.get_by_test_id(f"quote-{symbol}").inner_text())
    page.get_by_test_id("shard-0").filter(has_text="Running").wait_for()
    for queue in ("webhooks", "mail"):
        assert page.get_by_test_id(f"queue-{queue}").is_visible()
    page.get_by_test_id("pending-deliveries").wait_for()
    # Auto-refresh: the server time moves on by itself; switched off, the switch says so.
    first = page.get_by_test_id("system-updated").inner_text()
    wait_for(lambda: page.get_by_test_id("system-updated").inner_text() != first, timeout=15, what="a refresh")
    switch = page.get_by_role("switch", name=re.compile("^Refresh every"))
    switch.click()
    assert switch.get_attribute("aria-checked") == "false"
    switch.click()


def test_a_tampered_audit_row_shows_the_chain_broken_at_that_row(admin: AdminBrowser, platform: Platform) -> None:
    page = admin.page
    email, uid = make_client(platform, "tamper")
    assert api_login(platform, email)[1].status_code == 200
    row_id, ip = sql(
        platform, "SELECT id, ip FROM audit_logs WHERE action = 'auth.login' AND actor_id = :u", u=str(uid)
    ).one()
    admin.open("Audit log")
    banner = page.get_by_test_id("chain-state")
    page.locator("[data-testid=chain-state][data-status=verified]").wait_for()
    sql(platform, "UPDATE audit_logs SET ip = '203.0.113.66' WHERE id = :i", i=row_id)
    try:

        def broken() -> bool:
            # The server re-walks the chain at most every few seconds: ask again until it has.
            again = page.get_by_role("button", name="Check again")
            if again.is_enabled():
                again.click()
            return banner.get_attribute("data-status") == "broken"

        wait_for(broken, timeout=30, interval=0.5, what="the broken chain in the page")
        assert f"Audit chain broken at row {row_id}" in banner.inner_text()
        assert "changed after it was written" in banner.inner_text()
        assert banner.get_attribute("role") == "alert"
        page.get_by_role("button", name=f"Show row {row_id}").click()
        dialog = page.get_by_role("dialog", name=f"Audit row {row_id}")
        dialog.get_by_text("The hash chain breaks at this row").wait_for()
        # That notice comes from the chain state the page already has; the row itself is fetched
        # (the dialog says "Loading…" until it arrives): wait for its content, not just the notice.
        dialog.get_by_text("203.0.113.66").wait_for()
        assert "203.0.113.66" in dialog.inner_text()
        page.keyboard.press("Escape")
        screenshot(page, "admin-audit-chain-broken")
    finally:
        sql(platform, "UPDATE audit_logs SET ip = :ip WHERE id = :i", ip=ip, i=row_id)
    page.get_by_role("button", name="Check again").wait_for()
    wait_for(
        lambda: (
            (page.get_by_role("button", name="Check again").click() or True)
            and banner.get_attribute("data-status") == "verified"
        ),
        timeout=30,
        interval=0.5,
        what="the chain verified again once the row is restored",
    )


ADMIN_PAGES = [
    ("/admin/audit", "audit"),
    ("/admin/users", "users"),
    ("/admin/users/{demo}", "user-detail"),
    ("/admin/webhooks", "webhooks"),
    ("/admin/impersonations", "impersonations"),
    ("/admin/system", "system"),
]


def _too_wide(page: Any) -> list[str]:
    """Elements of the page's main area that stick out past the viewport's right edge.

    Tables and the section navigation scroll inside their own regions, so only the regions count,
    not what they contain. (The app shell's header is checked by the layout tests.)
    """
    script = """() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .filter(e => !e.parentElement.closest('[role=region], nav'))
        .slice(0, 8)
        .map(e => `${e.tagName.toLowerCase()}[${e.getAttribute('aria-label') ?? ''}] ${e.textContent.slice(0, 40)}`)"""
    return list(page.evaluate(script))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_admin_pages_have_no_serious_accessibility_violations(
    admin: AdminBrowser, platform: Platform, theme: str
) -> None:
    page = admin.page
    demo = user_id(platform, DEMO_CLIENT["email"])
    page.evaluate(f"localStorage.setItem('theme', '{theme}')")
    found = {}
    for path, name in ADMIN_PAGES:
        page.goto(path.format(demo=demo))
        page.get_by_role("heading", level=1).first.wait_for()
        settle(page)
        assert page.evaluate("document.documentElement.classList.contains('dark')") == (theme == "dark")
        if violations := run_axe(page):
            found[path] = violations
        screenshot(page, f"admin-{name}-{theme}")
    # A dialog too: the audit row detail.
    page.goto("/admin/audit")
    page.get_by_role("region", name="Audit rows").locator("tbody tr").first.get_by_role("button").click()
    page.get_by_role("dialog").get_by_text("Hash chain").wait_for()
    settle(page)
    if violations := run_axe(page):
        found["audit row dialog"] = violations
    page.keyboard.press("Escape")
    page.evaluate("localStorage.removeItem('theme')")
    assert not found, found


def test_admin_pages_become_cards_on_a_phone(admin: AdminBrowser, platform: Platform) -> None:
    page = admin.page
    page.set_viewport_size({"width": 360, "height": 780})
    try:
        page.goto("/admin/audit")
        page.get_by_role("list", name="Audit rows").get_by_role("listitem").first.wait_for()
        assert page.get_by_role("table").count() == 0
        assert not (wide := _too_wide(page)), f"the audit log is wider than a 360 px phone: {wide}"
        # Filters fold away behind a button on phones; it opens them.
        toggle = page.get_by_role("button", name=re.compile("^Filters"))
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        page.get_by_role("search", name="Filters").get_by_label("Action", exact=True).wait_for()
        settle(page)
        screenshot(page, "admin-audit-phone")
        page.goto("/admin/system")
        page.get_by_role("list", name="Quotes by symbol").get_by_role("listitem").first.wait_for()
        assert page.get_by_role("table").count() == 0
        assert not (wide := _too_wide(page)), f"the system page is wider than a 360 px phone: {wide}"
        settle(page)
        screenshot(page, "admin-system-phone")
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
