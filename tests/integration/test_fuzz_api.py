"""Bad input: schemathesis drives every operation of /api/openapi.json with generated requests.

The app runs in-process (WSGI) against the real PostgreSQL, Redis and a real engine process.
Cookie operations run with a fresh signed-in session and its CSRF token (an admin's for /api/admin,
a client's otherwise), /api/crm with an API key that has every scope. No response may be a 5xx,
and every response must match what the document declares for its status. Malformed and oversized
bodies and WebSocket frames are refused cleanly.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import websocket
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import text

from tests.factories import make_user, session_cookies
from tests.integration.test_engine_support import seed_instruments, settle_outbox, start_engine

EXAMPLES = 25  # per operation: bounded so the module runs in well under two minutes
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_engine(app, test_env, proc_log_dir, redis_client, sql_engine) -> Iterator[Any]:
    """A real engine, so commands get answers (not 5 s waits and 202s)."""
    seed_instruments(app)
    proc = start_engine(test_env, proc_log_dir, redis_client, name="engine-fuzz")
    yield proc
    proc.stop()
    settle_outbox(sql_engine)


@pytest.fixture(scope="module")
def fuzz_app(app, settings, fuzz_engine, test_env, proc_log_dir, sql_engine) -> Iterator[Any]:
    """The app with everything configured (provider, inbound CRM webhooks) and rate limits off.

    Every dependency is up, so no 5xx is excusable; limits off so generated requests reach the
    code behind them instead of a 429.
    """
    from dataclasses import replace

    from common.webhook_signing import new_secret
    from tests.integration.test_market_support import start_sim
    from web import create_app
    from web.extensions import limiter

    sim = start_sim(test_env, proc_log_dir)
    configured = replace(
        settings, ratelimit_enabled=False, marketsim_port=sim.port, crm_inbound_webhook_secret=[new_secret()]
    )
    fuzzed = create_app(configured)
    fuzzed.config["TESTING"] = True
    yield fuzzed
    limiter.init_app(app)  # the limiter is process-wide: give the session's app its own back
    sim.stop()
    # Endpoints the fuzzer registered (random URLs) and its events must not reach later modules' workers.
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'fuzz test'"))
        conn.execute(text("UPDATE webhook_events SET dispatched_at = now() WHERE dispatched_at IS NULL"))
    import redis
    from rq import Queue

    jobs = redis.Redis.from_url(test_env["REDIS_URL"])
    for name in ("mail", "webhooks"):  # e-mails to generated addresses, deliveries to generated URLs
        Queue(name, connection=jobs).empty()
    jobs.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def crm_key(fuzz_app) -> str:
    from web.services.api_keys import SCOPES

    result = fuzz_app.test_cli_runner().invoke(
        args=["crm", "create-key", "--name", "fuzz", "--scopes", ",".join(SCOPES)]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _session(app: Any, role: str) -> tuple[dict[str, str], dict[str, str]]:
    """A new session of a new user: (headers with the CSRF token, the cookies it is bound to)."""
    cookies = {name: value for name, (value, _) in session_cookies(app, make_user(app, role=role)).items()}
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    token = client.get("/api/auth/csrf").json["csrf_token"]
    for name in ("session", "__Host-session"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            cookies[name] = cookie.value
    return {"X-CSRFToken": token}, cookies


def _cookie_headers(app: Any, role: str) -> dict[str, str]:
    """The same as request headers (for Flask's test client and raw HTTP clients)."""
    headers, cookies = _session(app, role)
    return {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


Auth = tuple[dict[str, str], dict[str, str]]


@pytest.fixture()
def auth_for(fuzz_app, crm_key) -> Callable[[str], Auth]:
    """Headers and cookies for an operation's path: a fresh session per operation."""

    def auth(path: str) -> Auth:
        if path.startswith("/api/crm"):
            return {"Authorization": f"Bearer {crm_key}"}, {}
        return _session(fuzz_app, "admin" if path.startswith("/api/admin") else "client")

    return auth


def _fuzz(operation: Any, auth: Auth) -> None:
    """Valid and invalid generated requests for one operation; raises on the first failed check."""
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # Cookies go through the test client's jar (it replaces a raw Cookie header).
        response = case.call(headers=auth[0], cookies=auth[1])
        case.validate_response(response, checks=CHECKS)

    run()


def test_no_operation_answers_5xx_or_breaks_its_schema(api_schema, auth_for):
    """Every operation of the document; all failures are listed at the end."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, auth_for(operation.path))
        except (Exception, BaseExceptionGroup) as exc:  # a check failed: note it, go on with the others
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert operations >= 90  # the whole document, not a part of it
    assert not failures, "\n\n".join(failures)


# --- malformed and oversized input, by hand --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b'{"email": {"$ne": null}, "password": ["x"]}', "application/json"),
        (b"email=a&password=b", "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
    ],
)
def test_malformed_bodies_get_the_envelope_not_a_500(fuzz_app, body, content_type):
    app = fuzz_app
    headers = _cookie_headers(app, "client")
    for path in ("/api/auth/login", "/api/orders", "/api/deposits", "/api/auth/me"):
        method = "patch" if path == "/api/auth/me" else "post"
        response = getattr(app.test_client(), method)(path, data=body, content_type=content_type, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.data[:200])
        assert set(response.json["error"]) >= {"code", "message"}, path


def test_deeply_nested_json_is_refused_cleanly(fuzz_app):
    app = fuzz_app
    headers = _cookie_headers(app, "client")
    body = "[" * 50_000 + "]" * 50_000
    response = app.test_client().post("/api/orders", data=body, content_type="application/json", headers=headers)
    assert 400 <= response.status_code < 500
    assert response.json["error"]["code"]


def test_oversized_bodies_are_refused_before_they_are_read(fuzz_app):
    app = fuzz_app
    headers = _cookie_headers(app, "client")
    huge = b'{"a":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    for path in ("/api/orders", "/api/auth/login", "/api/crm/users"):
        response = app.test_client().post(path, data=huge, content_type="application/json", headers=headers)
        assert response.status_code == 413, path
        assert response.json["error"]["code"] == "payload_too_large"


# --- WebSocket frames ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ws_web(test_env, proc_log_dir):
    from tests.integration.test_faults_support import start_web

    proc, base = start_web(test_env, proc_log_dir, name="web-fuzz")
    yield base.replace("http://", "ws://")
    proc.stop()


def _ws(app: Any, base: str) -> websocket.WebSocket:
    cookie = "; ".join(f"{k}={v}" for k, (v, _) in session_cookies(app, make_user(app)).items())
    ws = websocket.create_connection(f"{base}/api/stream", header=[f"Cookie: {cookie}"], timeout=10)
    assert json.loads(ws.recv())["type"] in ("status", "accounts")
    return ws


def _frames(ws: websocket.WebSocket, wanted: Callable[[dict], bool]) -> dict:
    for _ in range(20):
        frame = json.loads(ws.recv())
        if wanted(frame):
            return frame
    raise AssertionError("no matching frame")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", "bad_request"),
        ("[1,2,3]", "bad_request"),
        ('{"action": "explode"}', "bad_request"),
        ('{"action": "subscribe", "symbols": "EURUSD"}', "bad_request"),
        ('{"action": "subscribe", "symbols": [1, 2]}', "bad_request"),
        ('{"action": "subscribe", "symbols": ["NOPE"]}', "unknown_symbol"),
        (json.dumps({"action": "subscribe", "symbols": [f"S{i}" for i in range(51)]}), "too_many_symbols"),
    ],
)
def test_malformed_websocket_frames_get_an_error_frame_and_the_stream_stays_open(app, ws_web, payload, code):
    ws = _ws(app, ws_web)
    try:
        ws.send(payload)
        assert _frames(ws, lambda f: f["type"] == "error")["code"] == code
        ws.send(json.dumps({"action": "ping"}))
        assert _frames(ws, lambda f: f["type"] == "pong")
    finally:
        ws.close()


def test_a_binary_frame_is_refused_with_an_error_frame(app, ws_web):
    ws = _ws(app, ws_web)
    try:
        ws.send_binary(b"\x00\x01\x02")
        assert _frames(ws, lambda f: f["type"] == "error")["code"] == "bad_request"
    finally:
        ws.close()


def test_an_oversized_websocket_frame_closes_the_connection(app, ws_web):
    ws = _ws(app, ws_web)
    try:
        ws.send(json.dumps({"action": "subscribe", "symbols": ["x" * 10_000]}))
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, socket.error)):
            for _ in range(20):
                opcode, _data = ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    raise websocket.WebSocketConnectionClosedException("closed by the server")
    finally:
        ws.close()


def test_an_unauthenticated_websocket_is_refused(ws_web):
    ws = websocket.create_connection(f"{ws_web}/api/stream", timeout=10)
    try:
        assert json.loads(ws.recv())["code"] == "unauthorized"
        opcode, data = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 4401
    finally:
        ws.close()
