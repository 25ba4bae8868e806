"""Argon2id password hashing (SECURITY.md 5) and the password rules."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 128
#: Passwords refused outright because every guessing list starts with them.
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "password123",
        "password1234",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "iloveyou123",
        "aaaaaaaaaa",
        "guardpost123",
        "abcdefghij",
        "a123456789",
    }
)
#: Unambiguous characters for temporary passwords read off a screen.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Argon2id hash with the configured parameters."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when the password matches; never raises on a bad or foreign hash."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Spend a verify's worth of time so unknown users answer as slowly as known ones."""
    verify_password(_dummy_hash(), password)


_DUMMY: dict[tuple, str] = {}


def _dummy_hash() -> str:
    cfg = current_app.config
    params = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    if params not in _DUMMY:
        _DUMMY[params] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY[params]


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons a new password is refused, as message keys for the form to translate."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 4:
        problems.append("too_common")
    if username and username.lower() in lowered:
        problems.append("contains_username")
    return problems


def temporary_password() -> str:
    """A one-time password an admin reads to the user: 12 unambiguous characters."""
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(12))
