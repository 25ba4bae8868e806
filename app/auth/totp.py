"""TOTP (RFC 6238, an authenticator app) as a second factor. Services flush, never commit.

The secret is sealed at rest with the vault's key ring (SECURITY.md decision 6): the vault sits
above auth, so it registers its cipher in `CIPHER` (app/vault/services.py) and lists the
column for `flask keys rotate`. A code is accepted for the time step before, at or after now
(valid_window=1), and only for a step later than the last one accepted: a code cannot be
used twice, even by two requests at once (a conditional UPDATE decides).
"""

from __future__ import annotations

import base64
import hmac
import io
import time
from collections.abc import Callable

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, select, update

from app import audit
from app.auth.models import TotpCredential, User
from app.db import new_uuid, utcnow
from app.extensions import db

#: The associated-data field name of the secret (bound with the credential's uuid).
FIELD = "totp_secret"
ISSUER = "Guardpost"
STEP_SECONDS = 30
#: Steps either side of now a code is still accepted for (phone clocks drift).
VALID_WINDOW = 1

#: "seal": (plaintext bytes, uuid, field) -> (ciphertext, key id);
#: "open": (ciphertext, uuid, field) -> plaintext bytes. Registered by app/vault/services.py.
CIPHER: dict[str, Callable] = {}


def _seal(credential: TotpCredential, secret: str) -> None:
    credential.secret_ciphertext, credential.key_id = CIPHER["seal"](
        secret.encode(), credential.uuid, FIELD
    )


def secret_of(credential: TotpCredential) -> str:
    """The base32 secret (the vault's DecryptionError if it does not authenticate)."""
    return CIPHER["open"](credential.secret_ciphertext, credential.uuid, FIELD).decode()


def credential_of(user: User) -> TotpCredential | None:
    return db.session.scalar(select(TotpCredential).where(TotpCredential.user_id == user.id))


def is_enrolled(user: User) -> bool:
    credential = credential_of(user)
    return credential is not None and credential.confirmed_at is not None


def normalise(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if ch.isdigit())


def matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step within the window whose code this is, or None."""
    code = normalise(code)
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int((time.time() if at is None else at) // STEP_SECONDS)
    found = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        # compare every candidate (constant work), keep the latest match
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def current_code(secret: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows now (tests, the demo)."""
    return pyotp.TOTP(secret).at(time.time() if at is None else at)


# ---------------------------------------------------------------- enrolment


def start_enrolment(user: User) -> tuple[TotpCredential, str]:
    """A new unconfirmed secret for the user (replacing an unconfirmed one); an enrolled
    user must disable first. Returns the credential and the secret to show."""
    credential = credential_of(user)
    if credential is not None and credential.confirmed_at is not None:
        raise ValueError("already enrolled")
    if credential is not None:
        return credential, secret_of(credential)
    secret = pyotp.random_base32()
    credential = TotpCredential(uuid=new_uuid(), user_id=user.id)
    _seal(credential, secret)
    db.session.add(credential)
    db.session.flush()
    return credential, secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """The QR code of `text` as an SVG data URI (CSP img-src allows data:)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def confirm_enrolment(user: User, code: str) -> bool:
    """The first valid code turns the pending secret into the user's second factor; audited."""
    credential = credential_of(user)
    if credential is None or credential.confirmed_at is not None:
        return False
    step = matching_step(secret_of(credential), code)
    if step is None:
        audit.record("auth.totp_enrol", actor=user, outcome="failure", detail={"why": "code"})
        return False
    credential.confirmed_at = utcnow()
    credential.last_used_step = step
    audit.record("auth.totp_enrol", actor=user, target=f"user:{user.id}")
    return True


def verify(user: User, code: str) -> bool:
    """Is this a valid, never-used code of the user's enrolled secret? Marks its step used."""
    credential = credential_of(user)
    if credential is None or credential.confirmed_at is None:
        return False
    step = matching_step(secret_of(credential), code)
    if step is None:
        return False
    used = db.session.execute(
        update(TotpCredential)
        .where(
            TotpCredential.id == credential.id,
            (TotpCredential.last_used_step.is_(None)) | (TotpCredential.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used:
        credential.last_used_step = step
    return bool(used)


def remove(user: User) -> None:
    """Forget the user's secret (confirmed or not)."""
    db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
