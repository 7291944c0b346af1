"""Sessions: refresh rotation, reuse detection, logout, the session list, idle and impersonation."""

from __future__ import annotations

from sqlalchemy import text

from tests.factories import make_user
from tests.integration.test_auth_support import (
    anon_client,
    audit_rows,
    cookie,
    password_login,
    refresh_token,
    signed_in,
)


def _logged_in(app):
    user = make_user(app)
    client = anon_client(app)
    assert password_login(client, user.email).status_code == 200
    return user, client


def _present(client, token: str):
    client.set_cookie("refresh_token", token, path="/api/auth")
    return client.post("/api/auth/refresh")


def _session_row(sql_engine, session_id):
    with sql_engine.connect() as conn:
        return conn.execute(text("SELECT * FROM user_sessions WHERE id = :i"), {"i": session_id}).mappings().one()


def test_refresh_rotates_both_cookies(app):
    _, client = _logged_in(app)
    first_refresh, first_access = refresh_token(client), cookie(client, "access_token")
    response = client.post("/api/auth/refresh")
    assert response.status_code == 200 and response.json == {"rotated": True}
    assert refresh_token(client) not in (None, first_refresh)
    assert cookie(client, "access_token") not in (None, first_access)
    assert client.get("/api/auth/me").status_code == 200


def test_reused_refresh_token_revokes_the_whole_family(app, sql_engine):
    user, client = _logged_in(app)
    stolen = refresh_token(client)
    assert client.post("/api/auth/refresh").status_code == 200
    assert client.post("/api/auth/refresh").status_code == 200  # the successor of the stolen token was used
    latest, access = refresh_token(client), cookie(client, "access_token")

    thief = anon_client(app)
    response = _present(thief, stolen)
    assert (response.status_code, response.json["error"]["code"]) == (401, "session_ended")

    # The legitimate holder is out too: newest refresh token and the access token both fail.
    assert _present(client, latest).status_code == 401
    client.set_cookie("access_token", access)
    assert client.get("/api/auth/me").json["error"]["code"] == "session_ended"
    reuse = audit_rows(sql_engine, "auth.refresh_reuse", actor_id=user.id)
    assert len(reuse) == 1 and reuse[0]["outcome"] == "denied"
    assert _session_row(sql_engine, reuse[0]["target_id"])["revoked_reason"] == "refresh_reuse"


def test_a_parallel_refresh_with_the_previous_token_is_tolerated_briefly(app):
    _, client = _logged_in(app)
    previous = refresh_token(client)
    assert client.post("/api/auth/refresh").status_code == 200
    current = refresh_token(client)
    other_tab = anon_client(app)
    response = _present(other_tab, previous)
    assert response.status_code == 200 and response.json == {"rotated": False}
    assert "Set-Cookie" not in response.headers
    assert _present(client, current).status_code == 200  # nothing was revoked


def test_refresh_without_or_with_an_unknown_cookie_is_401(app):
    client = anon_client(app)
    assert client.post("/api/auth/refresh").json["error"]["code"] == "unauthorized"
    assert _present(client, "x" * 43).status_code == 401


def test_an_idle_session_cannot_be_refreshed(app, sql_engine):
    user, client = _logged_in(app)
    with sql_engine.begin() as conn:
        conn.execute(
            text("UPDATE user_sessions SET last_seen_at = now() - interval '2 days' WHERE user_id = :u"), {"u": user.id}
        )
    response = client.post("/api/auth/refresh")
    assert (response.status_code, response.json["error"]["code"]) == (401, "session_ended")
    with sql_engine.connect() as conn:
        reason = conn.execute(text("SELECT revoked_reason FROM user_sessions WHERE user_id = :u"), {"u": user.id})
        assert reason.scalar() == "idle"


def test_a_disabled_user_cannot_refresh(app, sql_engine):
    user, client = _logged_in(app)
    with sql_engine.begin() as conn:
        conn.execute(text("UPDATE users SET status = 'disabled' WHERE id = :u"), {"u": user.id})
    response = client.post("/api/auth/refresh")
    assert (response.status_code, response.json["error"]["code"]) == (403, "account_disabled")


def test_logout_ends_the_session_at_once(app, sql_engine):
    user, client = _logged_in(app)
    access, refresh = cookie(client, "access_token"), refresh_token(client)
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert cookie(client, "access_token") is None and refresh_token(client) is None
    replay = anon_client(app)
    replay.set_cookie("access_token", access)
    assert replay.get("/api/auth/me").json["error"]["code"] == "session_ended"
    assert _present(replay, refresh).status_code == 401
    assert audit_rows(sql_engine, "auth.logout", actor_id=user.id)
    assert anon_client(app).post("/api/auth/logout").status_code == 204  # harmless without a session


def test_logout_works_with_only_the_refresh_cookie(app):
    _, client = _logged_in(app)
    refresh = refresh_token(client)
    client.delete_cookie("access_token")
    assert client.post("/api/auth/logout").status_code == 204
    assert _present(anon_client(app), refresh).status_code == 401


def test_logout_all_ends_every_session(app, sql_engine):
    user = make_user(app)
    phone, laptop = anon_client(app), anon_client(app)
    assert password_login(phone, user.email).status_code == 200
    assert password_login(laptop, user.email).status_code == 200
    assert laptop.post("/api/auth/logout-all").status_code == 204
    assert phone.get("/api/auth/me").json["error"]["code"] == "session_ended"
    assert laptop.get("/api/auth/me").status_code == 401
    assert audit_rows(sql_engine, "auth.logout_all", target_id=user.id)[-1]["details"] == {"sessions": 2}


def test_session_list_and_revoking_another_device(app, sql_engine):
    user = make_user(app)
    phone, laptop = anon_client(app), anon_client(app)
    phone.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"
    assert password_login(phone, user.email).status_code == 200
    assert password_login(laptop, user.email).status_code == 200
    listed = laptop.get("/api/auth/sessions").json["sessions"]
    assert len(listed) == 2
    current = [s for s in listed if s["current"]]
    other = [s for s in listed if not s["current"]]
    assert len(current) == 1 and current[0]["device"] == "Chrome on Linux"
    assert other[0]["device"] == "Safari on iOS" and other[0]["ip"] == phone.environ_base["REMOTE_ADDR"]

    assert laptop.delete(f"/api/auth/sessions/{other[0]['id']}").status_code == 204
    assert phone.get("/api/auth/me").json["error"]["code"] == "session_ended"
    assert [s["id"] for s in laptop.get("/api/auth/sessions").json["sessions"]] == [current[0]["id"]]
    assert audit_rows(sql_engine, "auth.session_revoked", target_id=other[0]["id"])


def test_nobody_can_revoke_someone_elses_session(app):
    _, victim_client = _logged_in(app)
    session_id = victim_client.get("/api/auth/sessions").json["sessions"][0]["id"]
    _, attacker = _logged_in(app)
    response = attacker.delete(f"/api/auth/sessions/{session_id}")
    assert (response.status_code, response.json["error"]["code"]) == (404, "not_found")
    assert attacker.delete("/api/auth/sessions/00000000-0000-0000-0000-000000000000").status_code == 404
    not_a_uuid = attacker.delete("/api/auth/sessions/not-a-uuid")
    assert not_a_uuid.status_code in (404, 405) and "error" in not_a_uuid.json  # no route takes it
    assert victim_client.get("/api/auth/me").status_code == 200


def test_impersonation_session_is_visible_and_cannot_touch_credentials(app):
    user = make_user(app)
    client = signed_in(app, user)  # a normal session first, for the session list
    support = anon_client(app)
    from tests.factories import login

    login(support, app, user, impersonator_id="crm-admin-7", impersonation_reason="ticket 42")
    me = support.get("/api/auth/me").json
    assert me["impersonated_by"] == "crm-admin-7"
    for path, body in (
        ("/api/auth/change-password", {"current_password": "x", "new_password": "violet-anchor-meadow-42"}),
        ("/api/auth/2fa/setup", None),
    ):
        response = support.post(path, json=body)
        assert (response.status_code, response.json["error"]["code"]) == (403, "impersonation_forbidden"), path
    sessions = client.get("/api/auth/sessions").json["sessions"]
    assert any(s["impersonated"] for s in sessions)


def test_a_remembered_access_token_still_expires_and_a_foreign_one_is_refused(app):
    """Verified access tokens are remembered per process; expiry is still checked on every request."""
    import time
    from datetime import timedelta

    import jwt as pyjwt
    from flask_jwt_extended import create_access_token, decode_token

    _, client = _logged_in(app)
    with app.app_context():
        claims = decode_token(cookie(client, "access_token"))
        extra = {k: claims[k] for k in ("sid", "role", "typ")}
        short = create_access_token(identity=claims["sub"], additional_claims=extra, expires_delta=timedelta(seconds=1))
    client.set_cookie("access_token", short)
    assert client.get("/api/auth/me").status_code == 200  # verified, then remembered
    assert client.get("/api/auth/me").status_code == 200  # answered from memory
    deadline = time.monotonic() + 10
    status = 200
    while status == 200 and time.monotonic() < deadline:
        status = client.get("/api/auth/me").status_code
    assert status == 401

    # Same claims, signed with another key: refused, whatever was remembered for the real token.
    forged = pyjwt.encode(
        {**claims, "exp": int(time.time()) + 600}, "not-the-server-key-" + "x" * 32, algorithm="HS256"
    )
    client.set_cookie("access_token", forged)
    response = client.get("/api/auth/me")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_the_caller_is_read_outside_a_transaction_and_joins_the_request_session(app):
    """Authentication reads the session and user in autocommit (no BEGIN, no ROLLBACK): the
    request holds no connection afterwards (none is left in a transaction to roll back), the
    objects are loaded in its session, changes to them commit as usual, and the pooled
    connection goes back in its usual (transactional) mode."""
    from sqlalchemy import event

    from tests.factories import session_cookies
    from web import security
    from web.extensions import db

    user = make_user(app)
    header = "; ".join(f"{name}={value}" for name, (value, _path) in session_cookies(app, user).items())
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.test_request_context("/api/accounts", headers={"Cookie": header}):
        bind = db().get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            caller = security.current_user()
            assert len(statements) == 1 and bind.pool.checkedout() == 0
            assert caller in db() and security.current_session() in db()
            assert caller.email == user.email and security.current_session().revoked_at is None
            assert len(statements) == 1  # nothing was expired: no second read
            caller.first_name = "Autocommit"
            db.commit()
        finally:
            event.remove(bind, "before_cursor_execute", count)
        with bind.connect() as conn:
            assert conn.connection.dbapi_connection.autocommit is False
        db.remove()
    with app.app_context():
        assert db.get(type(user), user.id).first_name == "Autocommit"
        db.remove()


def test_a_connection_lost_under_the_caller_read_is_answered_503(app, settings, sql_engine, monkeypatch):
    """The autocommit read of the caller on a connection whose server process died: 503 in JSON,
    and the next request gets a fresh connection (the pool heals)."""
    from dataclasses import replace

    import web
    from tests.factories import session_cookies
    from web.extensions import db, limiter

    user = make_user(app)
    db.remove()
    previous = db.get_bind()
    db.remove()
    monkeypatch.setattr(web, "WEB_PING_IDLE_S", 3600.0)  # no ping before use: the statement itself fails
    try:
        one = web.create_app(replace(settings, web_db_pool_size=1, web_db_max_overflow=0))
        client = one.test_client()
        for name, (value, path) in session_cookies(one, user).items():
            client.set_cookie(name, value, path=path)
        assert client.get("/api/auth/me").status_code == 200
        engine = db.get_bind()
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with sql_engine.connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
        lost = client.get("/api/auth/me")
        assert lost.status_code == 503 and lost.is_json, (lost.status_code, lost.get_data(as_text=True)[:200])
        assert client.get("/api/auth/me").status_code == 200
    finally:
        db.remove()
        db.configure(bind=previous)
        limiter.init_app(app)
