"""Flask serves the built SPA: long-cached hashed assets, revalidated index.html, client routes fall
back to the app, /api/* never does. Uses a small stand-in build in a temp dir (no browser needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

INDEX = (
    '<!doctype html><html><body><div id="root"></div>'
    '<script type="module" src="/assets/index-abc123.js"></script></body></html>'
)


@pytest.fixture(scope="module")
def spa_app(settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    from web import create_app

    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "theme-init.js").write_text("/* theme */")
    app = create_app(settings)
    app.config.update(TESTING=True, SPA_DIST_DIR=str(dist))
    yield app


@pytest.fixture()
def web(spa_app: Flask) -> FlaskClient:
    return spa_app.test_client()


def test_index_is_served_at_root_and_revalidated(web: FlaskClient) -> None:
    res = web.get("/")
    assert res.status_code == 200
    assert res.mimetype == "text/html"
    assert b'<div id="root">' in res.data
    assert res.headers["Cache-Control"] == "no-cache"
    assert res.headers.get("ETag")


def test_client_routes_fall_back_to_the_app(web: FlaskClient) -> None:
    for path in ("/login", "/settings", "/verify-email?token=abc", "/admin/audit", "/funds/deposits/12"):
        res = web.get(path)
        assert res.status_code == 200, path
        assert b'<div id="root">' in res.data, path
        assert res.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(web: FlaskClient) -> None:
    res = web.get("/assets/index-abc123.js")
    assert res.status_code == 200
    assert res.data == b"console.log('app')"
    assert res.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "javascript" in (res.mimetype or "")


def test_unhashed_public_files_are_revalidated(web: FlaskClient) -> None:
    res = web.get("/theme-init.js")
    assert res.status_code == 200
    assert res.headers["Cache-Control"] == "no-cache"
    etag = res.headers["ETag"]
    again = web.get("/theme-init.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_missing_files_are_404_not_the_app(web: FlaskClient) -> None:
    for path in ("/assets/index-old999.js", "/favicon.ico", "/robots.txt"):
        res = web.get(path)
        assert res.status_code == 404, path
        assert res.get_json()["error"]["code"] == "not_found"


def test_api_paths_never_fall_back_to_the_app(web: FlaskClient) -> None:
    for path in ("/api/nope", "/api", "/api/auth/nothing-here"):
        res = web.get(path)
        assert res.status_code == 404, path
        assert res.is_json, path
        assert res.get_json()["error"]["code"] == "not_found"
    # A real endpoint still answers.
    assert web.get("/api/auth/csrf").status_code == 200


def test_path_traversal_is_refused(web: FlaskClient) -> None:
    res = web.get("/assets/../../config.py")
    assert res.status_code == 404
    assert b"SECRET" not in res.data


def test_unsafe_methods_on_app_routes_are_refused_with_the_envelope(web: FlaskClient) -> None:
    res = web.post("/settings")
    assert res.status_code in (400, 403, 405)
    assert res.is_json
    assert "error" in res.get_json()


def test_without_a_build_the_app_says_how_to_make_it(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings)
    app.config.update(TESTING=True, SPA_DIST_DIR=str(tmp_path))
    res = app.test_client().get("/")
    assert res.status_code == 503
    assert b"make frontend" in res.data
