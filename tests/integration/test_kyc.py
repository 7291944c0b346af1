"""KYC uploads on the local-directory backend, and the CRM's review of them (real PostgreSQL, Redis)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from tests.factories import login, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64


@pytest.fixture(scope="module")
def uploads_dir(app, var_dir: Path) -> Path:
    """Pin the app's local backend to this run's VAR_DIR (never the repository's var/)."""
    from web.services.storage import LocalStorage

    root = var_dir / "uploads"
    app.extensions["kyc_storage"] = {"backend": LocalStorage(root)}
    return root


@pytest.fixture()
def client_user(app):
    return make_user(app)


def _upload(client, data: bytes, doc_type: str = "passport", name: str = "scan.pdf", ctype: str = "application/pdf"):
    return client.post(
        "/api/kyc/documents",
        data={"type": doc_type, "file": (io.BytesIO(data), name, ctype)},
        content_type="multipart/form-data",
    )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _kyc_events(sql_engine, document_id: int) -> list[dict]:
    from sqlalchemy import text

    with sql_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT payload FROM webhook_events WHERE type = 'kyc.status_changed' ORDER BY id")
        ).scalars()
        events = [json.loads(p) for p in rows]
    return [e for e in events if e["data"]["document_id"] == document_id]


def test_upload_stores_the_file_with_its_hash_and_sniffed_type(app, client, client_user, uploads_dir, sql_engine):
    login(client, app, client_user)
    response = _upload(client, PDF, name="../../etc/My passport.PDF", ctype="image/png")
    assert response.status_code == 201, response.json
    doc = response.json
    assert doc["status"] == "pending"
    assert doc["type"] == "passport"
    assert doc["content_type"] == "application/pdf"  # from the bytes, not from the client's header
    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert doc["size"] == len(PDF)
    assert doc["filename"] == "My passport.PDF"
    from sqlalchemy import text

    with sql_engine.connect() as conn:
        key = conn.execute(text("SELECT storage_key FROM kyc_documents WHERE id = :d"), {"d": doc["id"]}).scalar()
    stored = uploads_dir / key
    assert stored.read_bytes() == PDF
    assert "passport" not in key.lower() and stored.suffix == ".pdf" and len(stored.stem) == 32
    events = _kyc_events(sql_engine, doc["id"])
    assert [(e["data"]["status"], e["data"]["previous_status"]) for e in events] == [("pending", None)]


def test_png_and_jpeg_are_recognised(app, client, client_user, uploads_dir):
    login(client, app, client_user)
    assert _upload(client, PNG, "selfie", "me.bin", "application/octet-stream").json["content_type"] == "image/png"
    assert _upload(client, JPEG, "id_card", "id", "text/plain").json["content_type"] == "image/jpeg"


def test_other_content_is_refused_even_when_named_pdf(app, client, client_user, uploads_dir, sql_engine):
    login(client, app, client_user)
    before = _files(uploads_dir)
    for fake in (b"MZ\x90\x00 windows program", b"<html><script>alert(1)</script>", b"GIF89a..."):
        response = _upload(client, fake, name="passport.pdf", ctype="application/pdf")
        assert response.status_code == 415
        assert response.json["error"]["code"] == "unsupported_file_type"
    assert _files(uploads_dir) == before
    assert client.get("/api/kyc/documents").json["items"] == []


def test_a_file_over_10_mb_is_refused_and_nothing_is_kept(app, client, client_user, uploads_dir):
    login(client, app, client_user)
    before = _files(uploads_dir)
    response = _upload(client, PDF + b"0" * (10 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "file_too_large"
    assert _files(uploads_dir) == before
    exactly_ten = PDF + b"0" * (10 * 1024 * 1024 - len(PDF))
    assert _upload(client, exactly_ten).status_code == 201


def test_bad_form_fields_get_400_with_fields(app, client, client_user, uploads_dir):
    login(client, app, client_user)
    response = _upload(client, PDF, doc_type="driving_licence")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert "type" in response.json["error"]["fields"]
    missing = client.post("/api/kyc/documents", data={"type": "passport"}, content_type="multipart/form-data")
    assert missing.status_code == 400
    assert "file" in missing.json["error"]["fields"]
    empty = _upload(client, b"")
    assert empty.status_code == 400
    assert "file" in empty.json["error"]["fields"]


def test_upload_needs_a_session_and_a_csrf_token(app, client, client_user, uploads_dir):
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/auth/csrf").json["csrf_token"]
    anonymous = _upload(client, PDF)
    assert anonymous.status_code == 401
    assert anonymous.json["error"]["code"] == "unauthorized"
    login(client, app, client_user)
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    refused = _upload(client, PDF)
    assert refused.status_code in (400, 403)
    assert "error" in refused.json


def test_list_get_and_download_own_documents(app, client, client_user, uploads_dir):
    login(client, app, client_user)
    first = _upload(client, PDF, "proof_of_address", "bill.pdf").json
    second = _upload(client, PNG, "selfie", "selfie.png", "image/png").json
    listed = client.get("/api/kyc/documents").json["items"]
    assert [d["id"] for d in listed] == [second["id"], first["id"]]
    assert client.get(f"/api/kyc/documents/{first['id']}").json["sha256"] == first["sha256"]
    download = client.get(first["download_url"])
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Cache-Control"] == "no-store"


def test_someone_elses_document_is_404(app, client, client_user, uploads_dir):
    login(client, app, client_user)
    doc = _upload(client, PDF).json
    other = app.test_client()
    login(other, app, make_user(app))
    assert other.get(f"/api/kyc/documents/{doc['id']}").status_code == 404
    assert other.get(f"/api/kyc/documents/{doc['id']}/download").status_code == 404
    assert other.get("/api/kyc/documents").json["items"] == []


def test_uploads_are_refused_while_impersonating(app, client, client_user, uploads_dir):
    login(client, app, client_user, impersonator_id="crm-admin-3", impersonation_reason="support call")
    response = _upload(client, PDF)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "impersonation_forbidden"
    assert client.get("/api/kyc/documents").json["items"] == []


# --- the CRM's side --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kyc_key(app) -> str:
    from web.extensions import db
    from web.services.api_keys import create_key

    with app.app_context():
        _, key = create_key(db, "kyc reviewer", ["kyc"], {"type": "system", "id": "tests"})
        db.commit()
    return key


@pytest.fixture(scope="module")
def users_key(app) -> str:
    from web.extensions import db
    from web.services.api_keys import create_key

    with app.app_context():
        _, key = create_key(db, "users only", ["users"], {"type": "system", "id": "tests"})
        db.commit()
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_crm_lists_downloads_and_approves_a_document_once(app, client, client_user, uploads_dir, kyc_key, sql_engine):
    login(client, app, client_user)
    doc = _upload(client, PDF).json
    crm = app.test_client()
    listed = crm.get(f"/api/crm/kyc?user_id={client_user.id}&status=pending", headers=_bearer(kyc_key))
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json["items"]] == [doc["id"]]
    assert listed.json["total"] == 1
    meta = crm.get(f"/api/crm/kyc/{doc['id']}", headers=_bearer(kyc_key)).json
    assert meta["download_url"] == f"/api/crm/kyc/{doc['id']}/download"
    assert crm.get(meta["download_url"], headers=_bearer(kyc_key)).data == PDF

    first = crm.patch(f"/api/crm/kyc/{doc['id']}", json={"status": "approved"}, headers=_bearer(kyc_key))
    again = crm.patch(f"/api/crm/kyc/{doc['id']}", json={"status": "approved"}, headers=_bearer(kyc_key))
    assert first.status_code == again.status_code == 200
    assert first.json == again.json
    assert first.json["status"] == "approved"
    assert client.get(f"/api/kyc/documents/{doc['id']}").json["status"] == "approved"
    statuses = [(e["data"]["previous_status"], e["data"]["status"]) for e in _kyc_events(sql_engine, doc["id"])]
    assert statuses == [(None, "pending"), ("pending", "approved")]

    flip = crm.patch(f"/api/crm/kyc/{doc['id']}", json={"status": "rejected"}, headers=_bearer(kyc_key))
    assert flip.status_code == 409
    assert flip.json["error"]["code"] == "already_decided"


def test_crm_rejection_keeps_its_reason_and_is_audited(app, client, client_user, uploads_dir, kyc_key, sql_engine):
    from sqlalchemy import text

    login(client, app, client_user)
    doc = _upload(client, PNG, "id_card", "id.png", "image/png").json
    body = {"status": "rejected", "reason": "The document has expired."}
    response = app.test_client().patch(f"/api/crm/kyc/{doc['id']}", json=body, headers=_bearer(kyc_key))
    assert response.status_code == 200
    assert response.json["reason"] == "The document has expired."
    with sql_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT actor_type, actor_id, details FROM audit_logs WHERE action = 'kyc.rejected' AND target_id = :id"
            ),
            {"id": str(doc["id"])},
        ).one()
    assert row.actor_type == "crm" and row.actor_id.startswith("key:")
    assert row.details["reason"] == "The document has expired."


def test_crm_kyc_routes_need_the_kyc_scope(app, client, client_user, uploads_dir, users_key):
    login(client, app, client_user)
    doc = _upload(client, PDF).json
    crm = app.test_client()
    for method, path in (
        ("get", "/api/crm/kyc"),
        ("get", f"/api/crm/kyc/{doc['id']}"),
        ("get", f"/api/crm/kyc/{doc['id']}/download"),
        ("patch", f"/api/crm/kyc/{doc['id']}"),
    ):
        response = getattr(crm, method)(path, json={"status": "approved"}, headers=_bearer(users_key))
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "insufficient_scope"
        assert getattr(crm, method)(path, json={"status": "approved"}).status_code == 401
    assert client.get(f"/api/kyc/documents/{doc['id']}").json["status"] == "pending"


def test_crm_kyc_input_errors(app, client, client_user, uploads_dir, kyc_key):
    crm = app.test_client()
    assert crm.patch("/api/crm/kyc/999999", json={"status": "approved"}, headers=_bearer(kyc_key)).status_code == 404
    bad = crm.patch("/api/crm/kyc/1", json={"status": "maybe"}, headers=_bearer(kyc_key))
    assert bad.status_code == 400
    assert "status" in bad.json["error"]["fields"]
    bad_query = crm.get("/api/crm/kyc?per_page=0&from=yesterday", headers=_bearer(kyc_key))
    assert bad_query.status_code == 400
    assert set(bad_query.json["error"]["fields"]) >= {"per_page", "from"}
