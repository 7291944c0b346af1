"""KYC uploads to S3 through boto3, against moto's server mode over HTTP; presigned downloads."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.factories import login, make_user
from tests.s3 import s3_server  # noqa: F401 - the fixture

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def s3_app(settings, s3_server):  # noqa: F811
    from web import create_app

    application = create_app(
        replace(
            settings,
            s3_endpoint_url=s3_server.endpoint_url,
            s3_bucket=s3_server.bucket,
            s3_access_key_id="test-access-key",
            s3_secret_access_key="test-secret-access-key",
            s3_region="us-east-1",
        )
    )
    application.config["TESTING"] = True
    return application


def _upload(client, data: bytes, name: str = "passport.pdf"):
    return client.post(
        "/api/kyc/documents",
        data={"type": "passport", "file": (io.BytesIO(data), name, "application/pdf")},
        content_type="multipart/form-data",
    )


def _objects(s3_server) -> dict[str, bytes]:  # noqa: F811
    s3 = s3_server.client()
    listed = s3.list_objects_v2(Bucket=s3_server.bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=s3_server.bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_upload_lands_in_the_bucket_under_a_random_key(s3_app, s3_server, sql_engine):  # noqa: F811
    from sqlalchemy import text

    client = s3_app.test_client()
    login(client, s3_app, make_user(s3_app))
    response = _upload(client, PDF)
    assert response.status_code == 201, response.json
    doc = response.json
    with sql_engine.connect() as conn:
        key = conn.execute(text("SELECT storage_key FROM kyc_documents WHERE id = :id"), {"id": doc["id"]}).scalar()
    objects = _objects(s3_server)
    assert objects[key] == PDF
    assert key.startswith("kyc/") and key.endswith(".pdf") and "passport" not in key
    assert hashlib.sha256(objects[key]).hexdigest() == doc["sha256"]
    head = s3_server.client().head_object(Bucket=s3_server.bucket, Key=key)
    assert head["ContentType"] == "application/pdf"


def test_download_redirects_to_a_short_lived_presigned_url(s3_app, s3_server):  # noqa: F811
    client = s3_app.test_client()
    login(client, s3_app, make_user(s3_app))
    doc = _upload(client, PDF, "Reisepass Müller.pdf").json
    response = client.get(doc["download_url"])
    assert response.status_code == 302
    url = response.headers["Location"]
    assert url.startswith(s3_server.endpoint_url)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    assert response.headers["Cache-Control"] == "no-store"
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert "attachment" in fetched.headers["Content-Disposition"]


def test_another_user_gets_no_url(s3_app):
    client = s3_app.test_client()
    login(client, s3_app, make_user(s3_app))
    doc = _upload(client, PDF).json
    other = s3_app.test_client()
    login(other, s3_app, make_user(s3_app))
    response = other.get(doc["download_url"])
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_refused_content_never_reaches_the_bucket(s3_app, s3_server):  # noqa: F811
    client = s3_app.test_client()
    login(client, s3_app, make_user(s3_app))
    before = set(_objects(s3_server))
    assert _upload(client, b"#!/bin/sh\nrm -rf /\n").status_code == 415
    assert set(_objects(s3_server)) == before


def test_storage_outage_is_a_503_and_records_nothing(settings, sql_engine):
    from sqlalchemy import text

    from tests.support import free_port
    from web import create_app

    broken = create_app(replace(settings, s3_endpoint_url=f"http://127.0.0.1:{free_port()}", s3_bucket="nowhere"))
    broken.config["TESTING"] = True
    user = make_user(broken)
    client = broken.test_client()
    login(client, broken, user)
    response = _upload(client, PDF)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_unavailable"
    with sql_engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM kyc_documents WHERE user_id = :u"), {"u": user.id}).scalar()
    assert count == 0
