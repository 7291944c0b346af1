"""Operations behaviour of the web tier: metrics, HTTPS redirect and HSTS, proxy headers, body size limit."""

from dataclasses import replace

from web import create_app


def test_metrics_count_requests_and_latency(client):
    client.get("/api/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{endpoint="/api/healthz",method="GET",status="200"}' in body
    assert "http_request_duration_seconds_bucket" in body
    assert "websocket_connections" in body


def test_metrics_token_is_enforced_when_set(settings):
    app = create_app(replace(settings, metrics_token="s3cret-token"))
    c = app.test_client()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_production_redirects_http_to_https_and_sends_hsts(settings):
    app = create_app(replace(settings, force_https=True, app_env="production", proxy_fix_hops=1))
    c = app.test_client()
    plain = c.get("/api/auth/csrf")
    assert plain.status_code == 308
    assert plain.headers["Location"].startswith("https://")
    assert c.get("/api/healthz").status_code == 200  # probes stay on plain HTTP
    behind_proxy = c.get("/api/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert "max-age=" in behind_proxy.headers["Strict-Transport-Security"]
    assert c.get("/api/auth/csrf", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def test_oversized_bodies_are_refused_with_413_envelope(client):
    json_body = client.post("/api/auth/login", data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert json_body.status_code == 413
    assert json_body.json["error"]["code"] == "payload_too_large"
    upload = client.post(
        "/api/kyc/documents", data=b"x" * (13 * 1024 * 1024), content_type="multipart/form-data; boundary=x"
    )
    assert upload.status_code == 413
