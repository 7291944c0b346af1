"""TOTP and backup-code primitives: secrets sealed at rest, ±1 step, no code accepted twice.

Backup codes are 15 characters of Crockford base32 (75 bits): the first 5 find the row, the
other 10 (50 bits) are argon2-hashed, so one attempt costs one hash check, not ten.
"""

from __future__ import annotations

import io
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pyotp.utils import strings_equal
from sqlalchemy import delete, func, select, update

from common.crypto import decrypt, encrypt
from config import Settings
from models import TotpBackupCode, User
from web.extensions import db

VALID_WINDOW = 1
BACKUP_CODE_COUNT = 10
BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford: no i, l, o, u
BACKUP_LOOKUP_LEN = 5
BACKUP_LEN = 15
# ASVS appendix C floor for argon2id: backup codes are checked rarely, but hashed ten at a time.
_backup_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
_CROCKFORD_FIXES = str.maketrans({"i": "1", "l": "1", "o": "0"})


def sealing_key(settings: Settings) -> str:
    return settings.data_encryption_key or settings.secret_key


def new_secret() -> str:
    """A 160-bit base32 TOTP secret from the CSPRNG."""
    return pyotp.random_base32()


def seal(secret: str, settings: Settings) -> str:
    return encrypt(secret, sealing_key(settings))


def unseal(sealed: str, settings: Settings) -> str:
    return decrypt(sealed, sealing_key(settings))


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code, made here (never by a third-party service)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False, title="2FA QR code")
    return buffer.getvalue().decode()


def is_totp_format(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def match_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step a 6-digit code belongs to (now ±1 step), or None."""
    if not is_totp_format(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now if now is not None else time.time())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def claim_step(user_id: int, step: int) -> bool:
    """Record the step as used unless it (or a later one) already was: one atomic UPDATE."""
    result = db.execute(
        update(User)
        .where(User.id == user_id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return bool(getattr(result, "rowcount", 0))


# --- backup codes ----------------------------------------------------------------------------


def normalize_backup_code(code: str) -> str | None:
    """Lower-case, drop spaces and dashes, fix look-alikes; None unless it is a backup code."""
    cleaned = code.strip().lower().replace("-", "").replace(" ", "").translate(_CROCKFORD_FIXES)
    if len(cleaned) != BACKUP_LEN or any(ch not in BACKUP_ALPHABET for ch in cleaned):
        return None
    return cleaned


def format_backup_code(code: str) -> str:
    return "-".join(code[i : i + 5] for i in range(0, len(code), 5))


def _new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LEN))


def replace_backup_codes(user_id: int) -> list[str]:
    """Delete the user's codes and make a new set; return them formatted (shown once)."""
    db.execute(delete(TotpBackupCode).where(TotpBackupCode.user_id == user_id))
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    now = datetime.now(UTC)
    for code in codes:
        lookup, rest = code[:BACKUP_LOOKUP_LEN], code[BACKUP_LOOKUP_LEN:]
        db.add(TotpBackupCode(user_id=user_id, code_hash=f"{lookup}${_backup_hasher.hash(rest)}", created_at=now))
    db.flush()
    return [format_backup_code(code) for code in codes]


def delete_backup_codes(user_id: int) -> None:
    db.execute(delete(TotpBackupCode).where(TotpBackupCode.user_id == user_id))


def use_backup_code(user_id: int, code: str) -> bool:
    """Spend a matching unused backup code (atomically: a code works once, even in a race)."""
    normalized = normalize_backup_code(code)
    if normalized is None:
        return False
    lookup, rest = normalized[:BACKUP_LOOKUP_LEN], normalized[BACKUP_LOOKUP_LEN:]
    rows = db.execute(
        select(TotpBackupCode).where(
            TotpBackupCode.user_id == user_id,
            TotpBackupCode.used_at.is_(None),
            TotpBackupCode.code_hash.startswith(f"{lookup}$", autoescape=True),
        )
    ).scalars()
    for row in rows:
        try:
            _backup_hasher.verify(row.code_hash.split("$", 1)[1], rest)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
        spent = db.execute(
            update(TotpBackupCode)
            .where(TotpBackupCode.id == row.id, TotpBackupCode.used_at.is_(None))
            .values(used_at=datetime.now(UTC))
        )
        return bool(getattr(spent, "rowcount", 0))
    return False


def backup_codes_left(user_id: int) -> int:
    return int(
        db.execute(
            select(func.count())
            .select_from(TotpBackupCode)
            .where(TotpBackupCode.user_id == user_id, TotpBackupCode.used_at.is_(None))
        ).scalar_one()
    )
