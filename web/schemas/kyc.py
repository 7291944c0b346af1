"""Schemas of KYC documents (upload form, metadata, lists)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

DOCUMENT_TYPES = ("passport", "id_card", "proof_of_address", "selfie", "other")


class KycUploadSchema(Schema):
    """The multipart form of an upload: the document type and the file."""

    type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES), metadata={"example": "passport"})
    file = Upload(
        required=True,
        metadata={"description": "PDF, JPEG or PNG (detected from the content), at most 10 MB."},
    )


class KycDocumentSchema(Schema):
    id = fields.Integer(metadata={"example": 9})
    user_id = fields.Integer(metadata={"example": 42})
    type = fields.String(metadata={"example": "passport", "enum": list(DOCUMENT_TYPES)})
    status = fields.String(metadata={"example": "pending", "enum": ["pending", "approved", "rejected"]})
    filename = fields.String(metadata={"example": "passport.pdf"})
    content_type = fields.String(metadata={"example": "application/pdf"})
    size = fields.Integer(metadata={"example": 183224})
    sha256 = fields.String(metadata={"example": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
    reason = fields.String(allow_none=True, metadata={"example": None})
    created_at = fields.DateTime(metadata={"example": "2026-01-05T10:00:00+00:00"})
    reviewed_at = fields.DateTime(allow_none=True, metadata={"example": None})
    download_url = fields.Method("_download_url", metadata={"example": "/api/kyc/documents/9/download"})

    def _download_url(self, doc: object) -> str:
        return f"/api/kyc/documents/{getattr(doc, 'id')}/download"  # noqa: B009


class KycDocumentListSchema(Schema):
    items = fields.List(fields.Nested(KycDocumentSchema))


class KycDocumentPageSchema(Schema):
    items = fields.List(fields.Nested(KycDocumentSchema))
    total = fields.Integer(metadata={"example": 1})
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 50})
