"""Recovery codes: ten single-use codes for a lost phone. Services flush, never commit.

Each code has 60 random bits, so a salted SHA-256 is enough to keep it (no slow hash needed:
nobody can try 2^60 guesses through a throttled form, and the digest gives nothing back).
They are shown once, when made; a new set replaces the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, func, select, update

from app.auth.models import RecoveryCode, User
from app.db import utcnow
from app.extensions import db

COUNT = 10
#: No 0/O, 1/I/L, so a code read off paper is typed right.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 3, 4  # xxxx-xxxx-xxxx: 12 characters of 31, about 59 bits


def normalise(code: str | None) -> str:
    return "".join(ch for ch in (code or "").lower() if ch in ALPHABET)


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + normalise(code).encode()).hexdigest()


def _new_code() -> str:
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )


def regenerate(user: User) -> list[str]:
    """A new set of codes for the user (the old ones stop working); returned once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_code() for _ in range(COUNT)]
    for code in codes:
        salt = secrets.token_hex(16)
        db.session.add(RecoveryCode(user_id=user.id, salt=salt, digest=_digest(salt, code)))
    db.session.flush()
    return codes


def remaining(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def use(user: User, code: str) -> bool:
    """Spend one unused code of the user; False if it is not one (or was used already)."""
    if len(normalise(code)) != GROUPS * GROUP_LENGTH:
        return False
    rows = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    found = None
    for row in rows:
        if hmac.compare_digest(row.digest, _digest(row.salt, code)):
            found = row
    if found is None:
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == found.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(spent)


def remove(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
