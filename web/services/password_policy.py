"""The password policy: 12–128 characters, no composition rules, nothing common or guessable.

The common/breached list ships with the code (web/data/common-passwords.txt, from zxcvbn's
password frequency list), so the check works offline (ASVS 5 6.2.4 / 6.2.12).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT = 5
DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
# Words of the product itself: a password built from them is the first thing an attacker tries.
SITE_WORDS = ("trading", "platform", "broker", "forex", "password", "passwort", "welcome", "admin")
_SEQUENCES = (
    "01234567890123456789",
    "98765432109876543210",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LETTERS = re.compile(r"[^a-z]")

TOO_SHORT = f"Use at least {MIN_LENGTH} characters."
TOO_LONG = f"Use at most {MAX_LENGTH} characters."
TOO_COMMON = "This password is too common; choose a longer phrase nobody else would use."
TOO_REPETITIVE = "This password is too repetitive or predictable."
TOO_PERSONAL = "Do not build the password from your name, your e-mail address or the site's name."


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords (lower-cased)."""
    lines = DATA_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _context_words(email: str | None, names: Iterable[str | None], extra: Iterable[str]) -> list[str]:
    words = list(SITE_WORDS)
    words.extend(w.lower() for w in extra if w)
    if email:
        local, _, domain = email.lower().partition("@")
        words.append(local)
        words.extend(re.split(r"[._+\-]", local))
        words.append(domain.split(".")[0])
    for name in names:
        if name:
            words.extend(re.split(r"\s+", name.lower()))
    return sorted({w for w in words if len(w) >= 3}, key=len, reverse=True)


def _is_sequence(lowered: str) -> bool:
    return any(lowered in seq for seq in _SEQUENCES)


def password_problems(
    password: str,
    *,
    email: str | None = None,
    names: Iterable[str | None] = (),
    extra_words: Iterable[str] = (),
) -> list[str]:
    """Say what is wrong with a password (an empty list means it is acceptable)."""
    if len(password) < MIN_LENGTH:
        return [TOO_SHORT]
    if len(password) > MAX_LENGTH:
        return [TOO_LONG]
    lowered = password.lower()
    listed = common_passwords()
    core = _EDGE_NOISE.sub("", lowered)
    if lowered in listed or (len(core) >= 4 and core in listed):
        return [TOO_COMMON]
    if len(set(lowered)) < MIN_DISTINCT or _is_sequence(lowered):
        return [TOO_REPETITIVE]
    rest = lowered
    for word in _context_words(email, names, extra_words):
        rest = rest.replace(word, "")
    if len(_LETTERS.sub("", rest)) < 4 and len(_LETTERS.sub("", lowered)) >= 4:
        return [TOO_PERSONAL]
    return []
