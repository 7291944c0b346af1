"""Secrets at rest (TOTP seeds, webhook secrets) and token hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken


def _fernet(key_material: str) -> Fernet:
    digest = hashlib.sha256(("data-encryption:" + key_material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str, key_material: str) -> str:
    """Encrypt a short secret with a key derived from DATA_ENCRYPTION_KEY (or SECRET_KEY)."""
    return _fernet(key_material).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, key_material: str) -> str:
    """Decrypt what encrypt() made; raise ValueError if it was made with another key."""
    try:
        return _fernet(key_material).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong key or corrupted value") from exc


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 hex of a high-entropy token (what we store instead of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
