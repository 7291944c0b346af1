"""Client KYC documents under /api/kyc (cookie session)."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, redirect, request
from marshmallow import ValidationError
from sqlalchemy import select

from models import KycDocument
from web.errors import ApiError
from web.extensions import db, limiter
from web.openapi import Blueprint
from web.schemas.kyc import KycDocumentListSchema, KycDocumentSchema, KycUploadSchema
from web.security import actor, current_user, forbid_impersonation, login_required
from web.services import kyc
from web.services.storage import content_disposition

blp = Blueprint("kyc", __name__, url_prefix="/api/kyc", description="KYC document uploads")

COOKIE: list[dict[str, list[str]]] = [{"cookieAuth": []}]


def download_response(doc: KycDocument) -> Response:
    """A redirect to a short-lived presigned URL (S3), or the file itself (local storage)."""
    url, data = kyc.download_target(doc)
    response: Response
    if url is not None:
        response = cast(Response, redirect(url, 302))
    else:
        response = Response(data, mimetype=doc.content_type)
        response.headers["Content-Disposition"] = content_disposition(doc.filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/documents", methods=["POST"])
@forbid_impersonation
@limiter.limit("30/hour", key_func=lambda: f"kyc-upload:{current_user().id}")
@blp.response(201, KycDocumentSchema)
@blp.doc(
    security=COOKIE,
    requestBody={"required": True, "content": {"multipart/form-data": {"schema": KycUploadSchema}}},
)
def upload() -> KycDocument:
    """Upload a KYC document (multipart: type, file); PDF, JPEG or PNG up to 10 MB."""
    # One multipart schema (form field + file) is parsed here: flask-smorest documents form and
    # files locations as separate, invalid OpenAPI 3 parameters.
    try:
        form = KycUploadSchema().load({"type": request.form.get("type"), "file": request.files.get("file")})
    except ValidationError as exc:
        raise ApiError(400, "validation_error", "The request has invalid fields.", _fields(exc)) from exc
    upload_file = form["file"]
    return kyc.upload_document(current_user(), form["type"], upload_file.filename, upload_file.stream, actor())


def _fields(exc: ValidationError) -> dict[str, Any]:
    messages = exc.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}


@blp.route("/documents", methods=["GET"])
@login_required
@blp.response(200, KycDocumentListSchema)
@blp.doc(security=COOKIE)
def list_documents() -> dict[str, Any]:
    """Your KYC documents, newest first."""
    stmt = select(KycDocument).where(KycDocument.user_id == current_user().id).order_by(KycDocument.id.desc())
    return {"items": list(db.execute(stmt.limit(200)).scalars())}


@blp.route("/documents/<int:document_id>", methods=["GET"])
@login_required
@blp.response(200, KycDocumentSchema)
@blp.doc(security=COOKIE)
def get_document(document_id: int) -> KycDocument:
    """One of your KYC documents."""
    return kyc.own_document(current_user(), document_id)


@blp.route("/documents/<int:document_id>/download", methods=["GET"])
@login_required
@blp.response(200, content_type="application/octet-stream")
@blp.alt_response(302, description="Redirect to a presigned URL valid for 60 seconds (S3 storage).")
@blp.doc(security=COOKIE)
def download(document_id: int) -> Response:
    """Download one of your documents (a 60-second presigned URL with S3, else the file)."""
    return download_response(kyc.own_document(current_user(), document_id))
