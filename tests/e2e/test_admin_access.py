"""Only admins reach the admin API: a client gets 403 on every admin route whatever it sends; anonymous gets 401.

Plain HTTP against the running platform. The routes come from the live OpenAPI document, so a
route added later is covered without touching this test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from sqlalchemy import text

from tests.e2e.conftest import Platform
from tests.e2e.helpers import api_login, http_session
from web.seed_data import DEMO_CLIENT

pytestmark = pytest.mark.e2e

METHODS = ("get", "post", "put", "patch", "delete")
# Input that would be a 400 for an admin: a non-admin must be refused before any of it is read.
HOSTILE_QUERY = {"outcome": "maybe", "per_page": "0", "page": "-1", "from": "yesterday", "role": "root"}
HOSTILE_BODY: dict[str, Any] = {"since": "not a time", "url": 5, "events": "x", "reason": ["no"], "overlap_hours": -1}


def admin_routes(platform: Platform) -> list[tuple[str, str]]:
    """(METHOD, path) of every admin operation in the OpenAPI document, path parameters filled in."""
    doc = platform.get_json("/api/openapi.json")
    routes = []
    for path, operations in doc["paths"].items():
        if path == "/api/admin" or path.startswith(("/api/admin/", "/api/admin.")):
            for method in operations:
                if method in METHODS:
                    routes.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(routes)


def signed_in(platform: Platform, email: str | None = None, password: str = "") -> tuple[requests.Session, str]:
    """A browser-like session (cookies, CSRF token); signed in when an e-mail is given."""
    if not email:
        return http_session(platform)
    http, res = api_login(platform, email, password)
    assert res.status_code == 200, res.text
    return http, http.get(platform.url("/api/auth/csrf"), timeout=10).json()["csrf_token"]


def call(http: requests.Session, csrf: str, method: str, path: str, platform: Platform) -> Any:
    unsafe = method != "GET"
    return http.request(
        method,
        platform.url(path),
        params=HOSTILE_QUERY,
        json=HOSTILE_BODY if unsafe else None,
        headers={"X-CSRFToken": csrf} if unsafe else {},
        timeout=15,
        allow_redirects=False,
    )


def test_the_openapi_document_lists_the_admin_routes(platform: Platform) -> None:
    routes = set(admin_routes(platform))
    expected = {
        ("GET", "/api/admin/audit"),
        ("GET", "/api/admin/audit.csv"),
        ("GET", "/api/admin/audit/chain"),
        ("GET", "/api/admin/audit/1"),
        ("GET", "/api/admin/users"),
        ("GET", "/api/admin/users/1"),
        ("POST", "/api/admin/users/1/disable"),
        ("POST", "/api/admin/users/1/enable"),
        ("POST", "/api/admin/users/1/end-sessions"),
        ("GET", "/api/admin/impersonations"),
        ("GET", "/api/admin/system"),
        ("GET", "/api/admin/webhooks/endpoints"),
        ("POST", "/api/admin/webhooks/endpoints"),
        ("POST", "/api/admin/webhooks/endpoints/1/rotate-secret"),
        ("GET", "/api/admin/webhooks/events"),
        ("POST", "/api/admin/webhooks/events/1/redeliver"),
        ("POST", "/api/admin/webhooks/redeliver-failed"),
    }
    assert expected <= routes, expected - routes


def test_a_client_gets_403_on_every_admin_route_and_each_refusal_is_audited(platform: Platform) -> None:
    from models.session import engine_for

    db = engine_for(platform.env["DATABASE_URL"])
    with db.connect() as conn:
        user_id = conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": DEMO_CLIENT["email"]}).scalar_one()
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_logs")).scalar_one()
    http, csrf = signed_in(platform, DEMO_CLIENT["email"], DEMO_CLIENT["password"])
    routes = admin_routes(platform)
    answers = {(m, p): call(http, csrf, m, p, platform) for m, p in routes}
    wrong = {route: (r.status_code, r.text[:200]) for route, r in answers.items() if r.status_code != 403}
    assert not wrong, f"a client reached admin routes: {wrong}"
    assert {r.json()["error"]["code"] for r in answers.values()} == {"forbidden"}
    assert all("Traceback" not in r.text for r in answers.values())
    # The client is still signed in (a refusal is not a logout) and nothing was done on its behalf.
    assert http.get(platform.url("/api/auth/me"), timeout=10).status_code == 200
    with db.connect() as conn:
        actions = conn.execute(
            text(
                "SELECT action, outcome, details->>'path' FROM audit_logs"
                " WHERE id > :before AND actor_id = :id AND action LIKE 'admin.%'"
            ),
            {"id": str(user_id), "before": before},
        ).all()
    assert sorted(path for _, _, path in actions) == sorted(p for _, p in routes)
    assert {(a, o) for a, o, _ in actions} == {("admin.access_denied", "denied")}


def test_nobody_signed_in_gets_401_on_every_admin_route(platform: Platform) -> None:
    http, csrf = signed_in(platform)
    for method, path in admin_routes(platform):
        res = call(http, csrf, method, path, platform)
        assert res.status_code == 401, (method, path, res.status_code, res.text[:200])
        assert res.json()["error"]["code"] == "unauthorized"
