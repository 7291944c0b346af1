"""KYC documents: upload (type sniffed from content, size-limited, hashed), list, download, review."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Select, func, select

from common.outbox import add_events
from models import KycDocument, User
from web.errors import ApiError
from web.extensions import db
from web.services.funds import actor_label, as_utc, audit_as
from web.services.storage import StorageError, get_storage

log = logging.getLogger(__name__)

DOCUMENT_TYPES = ("passport", "id_card", "proof_of_address", "selfie", "other")
REVIEW_STATUSES = ("approved", "rejected")
MAX_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS_PER_USER = 50

# Leading bytes of the only formats we accept; the client's Content-Type and file name are ignored.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """The (content type, extension) of PDF, JPEG or PNG content; None for anything else."""
    for magic, content_type, ext in _SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    return None


def clean_filename(name: str | None, ext: str) -> str:
    """The client's file name without paths or control characters (metadata only, never a path)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"\s+", " ", base).strip(" .")[:200]
    return base or f"document.{ext}"


def _read_limited(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ApiError(413, "file_too_large", f"Files may be at most {MAX_BYTES // (1024 * 1024)} MB.")
    if not data:
        raise ApiError(400, "validation_error", "The request has invalid fields.", {"file": ["The file is empty."]})
    return data


def upload_document(
    user: User, doc_type: str, filename: str | None, stream: IO[bytes], actor: dict[str, Any]
) -> KycDocument:
    """Store a KYC file under a random key and record its metadata; the CRM hears kyc.status_changed."""
    data = _read_limited(stream)
    sniffed = sniff(data)
    if sniffed is None:
        raise ApiError(415, "unsupported_file_type", "Upload a PDF, JPEG or PNG file.")
    content_type, ext = sniffed
    count = db.execute(select(func.count()).where(KycDocument.user_id == user.id)).scalar_one()
    if count >= MAX_DOCUMENTS_PER_USER:
        raise ApiError(422, "too_many_documents", "You have uploaded the most documents allowed.")
    key = f"kyc/{secrets.token_hex(16)}.{ext}"
    storage = get_storage()
    try:
        storage.put(key, data, content_type)
    except StorageError as exc:
        log.error("KYC upload failed: %s", exc)
        raise ApiError(503, "storage_unavailable", "The document store is unavailable; try again shortly.") from exc
    try:
        return _record_upload(user, doc_type, clean_filename(filename, ext), content_type, data, key, actor)
    except Exception:
        db.rollback()
        storage.delete(key)
        raise


def _record_upload(
    user: User, doc_type: str, filename: str, content_type: str, data: bytes, key: str, actor: dict[str, Any]
) -> KycDocument:
    doc = KycDocument(
        user_id=user.id,
        type=doc_type,
        status="pending",
        storage_key=key,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=datetime.now(UTC),
    )
    db.add(doc)
    db.flush()
    add_events(db.connection(), [("kyc.status_changed", kyc_event_data(doc, None))])
    details = {"type": doc_type, "size": doc.size, "content_type": content_type, "sha256": doc.sha256}
    audit_as(actor, "kyc.uploaded", target_type="kyc_document", target_id=doc.id, details=details)
    db.commit()
    return doc


def kyc_event_data(doc: KycDocument, previous_status: str | None) -> dict[str, Any]:
    """The webhook `data` of kyc.status_changed (previous_status is null for a new upload)."""
    return {
        "document_id": doc.id,
        "user_id": doc.user_id,
        "type": doc.type,
        "status": doc.status,
        "previous_status": previous_status,
        "reason": doc.reason,
        "filename": doc.filename,
        "content_type": doc.content_type,
        "size": doc.size,
        "sha256": doc.sha256,
        "created_at": doc.created_at.astimezone(UTC).isoformat(),
        "reviewed_at": None if doc.reviewed_at is None else doc.reviewed_at.astimezone(UTC).isoformat(),
    }


def own_document(user: User, document_id: int) -> KycDocument:
    """The user's own document; someone else's is 404."""
    doc = db.get(KycDocument, document_id)
    if doc is None or doc.user_id != user.id:
        raise ApiError(404, "not_found", "No such document.")
    return doc


def get_document(document_id: int) -> KycDocument:
    doc = db.get(KycDocument, document_id)
    if doc is None:
        raise ApiError(404, "not_found", "No such document.")
    return doc


def download_target(doc: KycDocument) -> tuple[str | None, bytes | None]:
    """A presigned URL (S3) or the file's bytes (local storage) for an authorised download."""
    storage = get_storage()
    try:
        url = storage.download_url(doc.storage_key, doc.filename, doc.content_type)
        return (url, None) if url else (None, storage.get(doc.storage_key))
    except StorageError as exc:
        log.error("KYC download failed: %s", exc)
        raise ApiError(503, "storage_unavailable", "The document store is unavailable; try again shortly.") from exc


def documents_query(filters: dict[str, Any], user_id: int | None = None) -> Select[Any]:
    """A select of KYC documents narrowed by the list filters."""
    stmt = select(KycDocument)
    uid = user_id if user_id is not None else filters.get("user_id")
    if uid is not None:
        stmt = stmt.where(KycDocument.user_id == uid)
    if filters.get("status"):
        stmt = stmt.where(KycDocument.status == filters["status"])
    if filters.get("type"):
        stmt = stmt.where(KycDocument.type == filters["type"])
    if filters.get("created_from"):
        stmt = stmt.where(KycDocument.created_at >= as_utc(filters["created_from"]))
    if filters.get("created_to"):
        stmt = stmt.where(KycDocument.created_at < as_utc(filters["created_to"]))
    return stmt


def decide_document(document_id: int, status: str, reason: str | None, actor: dict[str, Any]) -> KycDocument:
    """Approve or reject a pending document once; the same decision again answers the same."""
    locked = select(KycDocument).where(KycDocument.id == document_id).with_for_update()
    doc = db.execute(locked.execution_options(populate_existing=True)).scalar_one_or_none()
    if doc is None:
        db.rollback()
        raise ApiError(404, "not_found", "No such document.")
    if doc.status == status:
        db.rollback()
        return doc
    if doc.status != "pending":
        db.rollback()
        raise ApiError(409, "already_decided", f"This document is already {doc.status}.", extra={"status": doc.status})
    previous = doc.status
    doc.status = status
    doc.reason = reason
    doc.reviewed_at = datetime.now(UTC)
    doc.reviewed_by = actor_label(actor)
    db.flush()
    add_events(db.connection(), [("kyc.status_changed", kyc_event_data(doc, previous))])
    details = {"type": doc.type, "previous_status": previous, "reason": reason, "user_id": doc.user_id}
    audit_as(actor, f"kyc.{status}", target_type="kyc_document", target_id=doc.id, details=details)
    db.commit()
    return doc
