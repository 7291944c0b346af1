"""Security sweeps over every route the app has (app.url_map and /api/openapi.json), so new routes
are covered the day they are added:

- every client resource route tried by another client: 404, and nothing changed (no IDOR);
- every unsafe cookie route without the CSRF header: 403 csrf_failed (and not with it);
- every admin route as a client: 403;
- every CRM route without an API key (even with a signed-in client's cookies): 401.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.routing import Rule

from tests.factories import login, make_user, session_cookies
from tests.integration.test_engine_support import open_account, seed_instruments, settle_outbox, start_engine, tick

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Authenticated by an API key, a signature or a service JWT, never by cookies: no CSRF token.
CSRF_EXEMPT_PREFIXES = ("/api/crm/", "/api/sso/")
# Client routes whose path names a resource, and a valid body for the unsafe ones (None: no body).
BODIES: dict[str, dict[str, Any] | None] = {
    "trading.modify_order": {"price": "1100.00"},
    "trading.cancel_order": None,
    "trading.modify_position": {"sl": "1000.00"},
    "trading.close_position": {},
    "trading.close_by": {"by_position_id": 1},
    "funds.cancel_deposit": None,
    "funds.cancel_withdrawal": None,
    "auth.revoke_session": None,
}
# Operations that name an account in their query or body, and the rest of a valid body.
ACCOUNT_BODIES: dict[str, dict[str, Any]] = {
    "POST /api/orders": {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"},
    "POST /api/positions/close-all": {},
    "POST /api/deposits": {"amount": "10.00", "currency": "USD", "method": "card"},
    "POST /api/withdrawals": {"amount": "10.00", "currency": "USD", "method": "card"},
}


@pytest.fixture(scope="module")
def sweep_app(app, settings) -> Iterator[Any]:
    """The app with inbound CRM webhooks configured (unconfigured, that route answers 503)."""
    from common.webhook_signing import new_secret
    from web import create_app
    from web.extensions import limiter

    configured = create_app(replace(settings, crm_inbound_webhook_secret=[new_secret()], ratelimit_enabled=False))
    configured.config["TESTING"] = True
    yield configured
    limiter.init_app(app)  # the limiter is process-wide: give the session's app its own back


@pytest.fixture(scope="module")
def sweep_engine(app, test_env, proc_log_dir, redis_client, sql_engine) -> Iterator[Any]:
    seed_instruments(app)
    proc = start_engine(test_env, proc_log_dir, redis_client, name="engine-sweeps")
    yield proc
    proc.stop()
    settle_outbox(sql_engine)


@pytest.fixture(scope="module")
def owned(sweep_app, sweep_engine, sql_engine, redis_client) -> dict[str, Any]:
    """A client with one of everything: account, pending order, position, deposit, withdrawal, KYC file."""
    app = sweep_app
    user = make_user(app)
    client = login(app.test_client(), app, user)
    account = open_account(sql_engine, redis_client, user.id, deposit="100000")
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    limit = {"account_id": account, "symbol": "BTCUSD", "side": "buy", "type": "limit", "volume": "0.01"}
    pending = client.post("/api/orders", json={**limit, "price": "1000.00"}, headers={"Idempotency-Key": "sweep-1"})
    assert pending.status_code == 201, pending.json
    market = {**limit, "type": "market"}
    filled = client.post("/api/orders", json=market)
    assert filled.status_code == 201, filled.json
    deposit = client.post(
        "/api/deposits", json={"account_id": account, "amount": "50.00", "currency": "USD", "method": "card"}
    )
    assert deposit.status_code == 201, deposit.json
    money = {"account_id": account, "amount": "20.00", "currency": "USD", "method": "card"}
    withdrawal = client.post("/api/withdrawals", json=money)
    assert withdrawal.status_code == 201, withdrawal.json
    upload = client.post(
        "/api/kyc/documents",
        data={"type": "passport", "file": (io.BytesIO(b"%PDF-1.4\n%sweep\n"), "passport.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    body: dict[str, Any] = {
        name: response.get_json()
        for name, response in (
            ("pending", pending),
            ("filled", filled),
            ("deposit", deposit),
            ("withdrawal", withdrawal),
            ("upload", upload),
            ("sessions", client.get("/api/auth/sessions")),
        )
    }
    return {
        "user": user,
        "client": client,
        "ids": {
            "account_id": account,
            "order_id": body["pending"]["order"]["id"],
            "position_id": body["filled"]["position"]["id"],
            "deposit_id": body["deposit"]["id"],
            "withdrawal_id": body["withdrawal"]["id"],
            "document_id": body["upload"]["id"],
            "command_id": body["pending"]["command_id"],
            "session_id": body["sessions"]["sessions"][0]["id"],
        },
    }


def _rules(app: Any) -> list[tuple[str, Rule]]:
    """(method, rule) for every API route (HEAD and OPTIONS are Flask's own)."""
    return sorted(
        ((method, rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}),
        key=lambda pair: (pair[1].rule, pair[0]),
    )


def _url(rule: Rule, values: dict[str, Any]) -> str:
    """The rule with its arguments filled from values (1 / x / a fresh uuid when absent)."""
    args = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        default = uuid.uuid4() if converter == "UUIDConverter" else (1 if converter == "IntegerConverter" else "x")
        args[name] = values.get(name, default)
    built = rule.build(args, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def _call(client: Any, method: str, url: str, body: Any = None, **kw: Any) -> Any:
    return client.open(url, method=method, json=body, **kw)


def _intruder(app: Any) -> Any:
    return login(app.test_client(), app, make_user(app))


# --- IDOR ---------------------------------------------------------------------------------------


def test_every_client_resource_route_is_404_for_another_client(sweep_app, owned, sql_engine):
    ids = owned["ids"]
    intruder = _intruder(sweep_app)
    tried = []
    for method, rule in _rules(sweep_app):
        if (
            not rule.arguments
            or not rule.rule.startswith("/api/")
            or rule.rule.startswith(("/api/admin/", "/api/crm/"))
        ):
            continue
        if rule.endpoint.startswith(("api-docs", "docs_assets")):
            continue
        missing = set(rule.arguments) - set(ids)
        assert not missing, f"{method} {rule.rule}: add a resource of the owner for {missing} to this sweep"
        if method in UNSAFE:
            assert rule.endpoint in BODIES, f"{method} {rule.rule}: add a valid body for {rule.endpoint} to BODIES"
            response = _call(intruder, method, _url(rule, ids), BODIES[rule.endpoint])
        else:
            response = _call(intruder, method, _url(rule, ids))
        assert response.status_code == 404, (method, rule.rule, response.status_code, response.get_data()[:200])
        assert response.json["error"]["code"] == "not_found" or response.json["error"]["code"].endswith("not_found")
        tried.append(f"{method} {rule.rule}")
    assert len(tried) >= 14  # orders, positions, accounts, funds, KYC, commands, sessions
    _assert_untouched(owned, sql_engine)


def test_every_operation_naming_an_account_refuses_another_clients_account(sweep_app, owned, sql_engine):
    account = owned["ids"]["account_id"]
    intruder = _intruder(sweep_app)
    spec = sweep_app.test_client().get("/api/openapi.json").json
    tried = []
    for path, operations in spec["paths"].items():
        if path.startswith(("/api/admin/", "/api/crm/")):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            label = f"{method.upper()} {path}"
            in_query = any(p.get("name") == "account_id" for p in operation.get("parameters", []))
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            in_body = "account_id" in _properties(spec, schema)
            if not (in_query or in_body):
                continue
            if in_body:
                assert label in ACCOUNT_BODIES, f"{label}: add a valid body to ACCOUNT_BODIES"
                response = _call(intruder, method.upper(), path, {**ACCOUNT_BODIES[label], "account_id": account})
                assert response.status_code == 404, (label, response.status_code, response.json)
            else:
                response = intruder.get(path, query_string={"account_id": account})
                assert response.status_code in (200, 404), (label, response.status_code)
                if response.status_code == 200:
                    assert not _mentions(response.json, account), f"{label} showed another client's account"
            tried.append(label)
    assert len(tried) >= 8
    _assert_untouched(owned, sql_engine)


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("properties", {})


def _mentions(value: Any, account_id: int) -> bool:
    """Whether a JSON response carries an item of this account."""
    if isinstance(value, dict):
        if value.get("account_id") == account_id or (value.get("id") == account_id and "balance" in value):
            return True
        return any(_mentions(v, account_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, account_id) for v in value)
    return False


def _assert_untouched(owned: dict[str, Any], sql_engine: Any) -> None:
    ids = owned["ids"]
    with sql_engine.connect() as conn:
        order = conn.execute(text("SELECT status, price FROM orders WHERE id = :i"), {"i": ids["order_id"]}).one()
        position = conn.execute(text("SELECT status FROM positions WHERE id = :i"), {"i": ids["position_id"]}).one()
        deposit = conn.execute(text("SELECT status FROM deposits WHERE id = :i"), {"i": ids["deposit_id"]}).scalar()
        withdrawal = conn.execute(text("SELECT status FROM withdrawals WHERE id = :i"), {"i": ids["withdrawal_id"]})
        session = conn.execute(text("SELECT revoked_at FROM user_sessions WHERE id = :i"), {"i": ids["session_id"]})
        assert order.status == "pending" and Decimal(order.price) == Decimal("1000")  # not modified
        assert position.status == "open"
        assert deposit == "pending" and withdrawal.scalar() == "pending"
        assert session.scalar() is None
    assert owned["client"].get("/api/auth/me").status_code == 200  # the owner is still signed in


# --- CSRF ---------------------------------------------------------------------------------------


def _cookie_client(app: Any) -> Any:
    """A signed-in client that never fetched a CSRF token."""
    client = app.test_client()
    for name, (value, path) in session_cookies(app, make_user(app)).items():
        client.set_cookie(name, value, path=path)
    return client


def test_every_unsafe_cookie_route_refuses_a_request_without_the_csrf_header(sweep_app, owned):
    ids = owned["ids"]
    tried = []
    for method, rule in _rules(sweep_app):
        if method not in UNSAFE or not rule.rule.startswith("/api/") or rule.rule.startswith(CSRF_EXEMPT_PREFIXES):
            continue
        url = _url(rule, ids)
        refused = _call(_cookie_client(sweep_app), method, url, {})
        assert refused.status_code == 403, (method, rule.rule, refused.status_code)
        assert refused.json["error"]["code"] == "csrf_failed", (method, rule.rule)
        # The same request with the token passes the CSRF check (whatever the view then says).
        allowed = _call(_intruder(sweep_app), method, url, {})
        error = (allowed.json or {}).get("error", {}) if allowed.is_json else {}
        assert error.get("code") != "csrf_failed", (method, rule.rule)
        tried.append(f"{method} {rule.rule}")
    assert len(tried) >= 30


def test_only_token_or_signature_authenticated_blueprints_skip_csrf(sweep_app):
    exempt = {bp.name for bp in sweep_app.extensions["csrf"]._exempt_blueprints}
    assert exempt == {"crm", "crm_webhooks", "sso"}
    assert not sweep_app.extensions["csrf"]._exempt_views


# --- admin and CRM ------------------------------------------------------------------------------


def test_every_admin_route_is_403_for_a_client(sweep_app):
    client = _intruder(sweep_app)
    tried = []
    for method, rule in _rules(sweep_app):
        if not rule.rule.startswith("/api/admin/"):
            continue
        response = _call(client, method, _url(rule, {}), {} if method in UNSAFE else None)
        assert response.status_code == 403, (method, rule.rule, response.status_code)
        assert response.json["error"]["code"] == "forbidden", (method, rule.rule)
        tried.append(rule.rule)
    assert len(tried) >= 20


def test_every_crm_route_is_401_without_an_api_key_even_with_a_client_session(sweep_app):
    anonymous = sweep_app.test_client()
    signed_in = _intruder(sweep_app)
    tried = []
    for method, rule in _rules(sweep_app):
        if not rule.rule.startswith("/api/crm/"):
            continue
        url = _url(rule, {})
        for client in (anonymous, signed_in):
            response = _call(client, method, url, {} if method in UNSAFE else None)
            assert response.status_code == 401, (method, rule.rule, response.status_code, response.json)
        tried.append(rule.rule)
    assert len(tried) >= 18


def test_a_crm_key_without_the_scope_is_403(sweep_app):
    from web.services.api_keys import SCOPES

    runner = sweep_app.test_cli_runner()
    scope = sorted(SCOPES)[0]
    result = runner.invoke(args=["crm", "create-key", "--name", "sweep-narrow", "--scopes", scope])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    client = sweep_app.test_client()
    refused = 0
    for method, rule in _rules(sweep_app):
        if not rule.rule.startswith("/api/crm/") or rule.endpoint.startswith("crm_webhooks."):
            continue
        response = _call(
            client, method, _url(rule, {}), {} if method in UNSAFE else None, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code != 401, (method, rule.rule)  # the key itself is valid
        refused += response.status_code == 403
    assert refused >= 5  # the routes of the other scopes
