"""The app shell: health and readiness, the error envelope, OpenAPI and offline Swagger UI."""

import re

from web import create_app


def test_healthz_answers_ok(client):
    response = client.get("/api/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_checks_postgres_and_redis(client):
    response = client.get("/api/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_when_redis_is_unreachable(app, settings):
    from dataclasses import replace

    from tests.support import free_port
    from web.extensions import limiter

    broken = create_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        response = broken.test_client().get("/api/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["database"] == "ok"
        assert response.json["checks"]["redis"].startswith("error")
    finally:
        limiter.init_app(app)  # the limiter is process-wide: point it back at the live Redis


def test_unknown_api_route_gets_the_json_envelope(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert "message" in response.json["error"]


def test_wrong_method_gets_405_envelope(client):
    response = client.delete("/api/healthz")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_request_id_is_echoed_or_made(client):
    assert client.get("/api/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/api/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_security_headers_are_set(client):
    headers = client.get("/api/healthz").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_openapi_document_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/healthz" in spec["paths"]


def test_swagger_ui_uses_only_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/api/docs/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert "http://" not in html and "https://" not in html.replace("https://swagger.io", "")
