"""What a person does in the browser, as small steps the flows share."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import ARTIFACTS, Platform
from tests.smtp import token_from
from tests.support import wait_for

PASSWORD = "Blue-Harbour-Lantern-42"
AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"


def register_verified_user(platform: Platform, prefix: str) -> str:
    """Register through the API and follow the link of the real verification mail; return the e-mail."""
    email = unique_email(prefix)
    with requests.Session() as http:
        csrf = http.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]
        res = http.post(
            platform.url("/api/auth/register"),
            json={"email": email, "password": PASSWORD, "first_name": "Eve", "last_name": "Tester", "country": "GB"},
            headers={"X-CSRFToken": csrf},
            timeout=10,
        )
        assert res.status_code in (200, 201, 202), res.text
        token = token_from(platform.mail.wait_for(email, "Confirm your e-mail"), "/verify-email")
        res = http.post(
            platform.url("/api/auth/verify-email"), json={"token": token}, headers={"X-CSRFToken": csrf}, timeout=10
        )
        assert res.status_code == 200, res.text
    return email


def http_session(platform: Platform, user_agent: str | None = None) -> tuple[requests.Session, str]:
    """A browser-like API session: cookies and a CSRF token, nobody signed in yet."""
    http = requests.Session()
    if user_agent:
        http.headers["User-Agent"] = user_agent
    csrf = http.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]
    return http, csrf


def api_login(platform: Platform, email: str, password: str = PASSWORD, user_agent: str | None = None) -> Any:
    """Sign in through the API as a browser would; return the session and the response.

    Each call is one sign-in against the per-IP login budget: to wait for something, sign in once
    and poll with the session.
    """
    http, csrf = http_session(platform, user_agent)
    res = http.post(
        platform.url("/api/auth/login"),
        json={"email": email, "password": password},
        headers={"X-CSRFToken": csrf},
        timeout=10,
    )
    return http, res


def login(page: Any, email: str, password: str = PASSWORD) -> None:
    """Log in through the login page and land on the dashboard."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").wait_for()


def wait_for_account(page: Any) -> None:
    """The dashboard shows an account summary once the engine has opened the account."""
    page.get_by_role("region", name="Account summary").wait_for(timeout=30_000)


def toast(page: Any, text: str | re.Pattern[str]) -> Any:
    """A notification with this text (sonner renders them in a live region)."""
    item = page.locator("[data-sonner-toast]").filter(has_text=text).first
    item.wait_for()
    return item


def number(text: str) -> Decimal:
    """A displayed amount as a Decimal: "+1,234.50" → 1234.50, "−3.20" → -3.20."""
    cleaned = text.replace("\u2212", "-").replace(",", "").replace("$", "").replace("%", "").strip()
    match = re.search(r"[-+]?\d+(\.\d+)?", cleaned)
    assert match, f"no number in {text!r}"
    return Decimal(match.group(0))


def wait_until_changes(read: Any, timeout: float = 30.0, what: str = "a live value") -> tuple[str, str]:
    """Poll a displayed value until it differs from its first reading; return (before, after)."""
    first = read()
    after = wait_for(lambda: (v := read()) != first and v, timeout=timeout, what=what)
    return first, after


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (from the npm package) in the page; return serious and critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] })
            return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                             nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }))
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def settle(page: Any) -> None:
    """Wait for fonts and for every loading placeholder to be replaced by data."""
    page.evaluate("document.fonts.ready")
    page.wait_for_function("() => !document.querySelector('.animate-pulse, [role=status] .animate-spin')")
