"""KYC file storage: S3-compatible (boto3) when S3_BUCKET is set, a local directory otherwise.

Both backends have the same interface; only S3 can hand out presigned download URLs, so the
local backend is read through an authorised route instead.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import quote

from flask import current_app

from config import Settings

PRESIGNED_URL_SECONDS = 60
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,254}$")


class StorageError(RuntimeError):
    """The storage backend could not store or read an object."""


class Storage(Protocol):
    """Where KYC files live."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        """A short-lived direct URL, or None when the file must be served through our route."""
        ...


def content_disposition(filename: str) -> str:
    """An attachment header value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip() or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise StorageError("invalid storage key")
    return key


class LocalStorage:
    """Files under VAR_DIR/uploads (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {key}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        return None


class S3Storage:
    """Objects in an S3-compatible bucket through boto3 (AWS, MinIO, R2, moto in tests)."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=_check_key(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store {key}: {type(exc).__name__}") from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=_check_key(key))["Body"]
            return cast(bytes, body.read())
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot read {key}: {type(exc).__name__}") from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {key}: {type(exc).__name__}") from exc

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        return cast(
            str,
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": _check_key(key),
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=PRESIGNED_URL_SECONDS,
            ),
        )


def storage_for(settings: Settings) -> Storage:
    """The backend the settings ask for: S3 when S3_BUCKET is set, else VAR_DIR/uploads."""
    if settings.s3_bucket:
        return S3Storage(settings)
    return LocalStorage(settings.var_dir / "uploads")


def get_storage() -> Storage:
    """The storage backend of the running app (built once per app)."""
    cache = current_app.extensions.setdefault("kyc_storage", {})
    if "backend" not in cache:
        cache["backend"] = storage_for(current_app.config["SETTINGS"])
    return cast(Storage, cache["backend"])
