"""Passkeys (WebAuthn) with the `webauthn` library. Services flush, never commit.

The relying party is the app's public address (BASE_URL, or a trusted host: app/links.py),
never the request's Host header: its host name is the RP id and its origin the one the
browser must report. Without one, passkeys are not offered. Browsers refuse an IP address as
an RP id, so a test or a LAN run uses a host name (localhost is a secure context on http).

A challenge lives in the database (WebAuthnChallenge), its random handle in the signed
cookie session; answering deletes it (single use) and it expires after CHALLENGE_SECONDS.
Passkeys are made discoverable and with user verification, so one counts as both factors.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import delete, select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.auth.models import Passkey, User, WebAuthnChallenge
from app.db import utcnow
from app.extensions import db
from app.links import public_base_url

CHALLENGE_SECONDS = 300
PURPOSES = ("register", "step_up", "sign_in")
RP_NAME = "Guardpost"
NAME_MAX = 60


class PasskeyError(Exception):
    """The browser's answer does not verify (or the ceremony expired): `why` says which."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party() -> RelyingParty | None:
    """The RP id and origin from the public address; None when there is none."""
    base = public_base_url()
    if not base:
        return None
    parts = urlsplit(base)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return None
    return RelyingParty(id=parts.hostname, origin=f"{parts.scheme}://{parts.netloc}")


def passkeys_of(user: User) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def has_passkey(user: User) -> bool:
    found = db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
    return found is not None


# ---------------------------------------------------------------- challenges


def _new_challenge(purpose: str, user: User | None) -> tuple[str, bytes]:
    """A fresh challenge kept server-side; returns its handle (for the cookie) and bytes."""
    cutoff = utcnow() - timedelta(seconds=CHALLENGE_SECONDS)
    db.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.created_at < cutoff))
    handle = secrets.token_urlsafe(24)
    challenge = secrets.token_bytes(32)
    db.session.add(
        WebAuthnChallenge(
            handle=handle,
            challenge=challenge,
            purpose=purpose,
            user_id=user.id if user else None,
        )
    )
    db.session.flush()
    return handle, challenge


def _take_challenge(handle: str | None, purpose: str, user: User | None) -> bytes:
    """The challenge behind `handle`, deleted as it is read; PasskeyError if it is unknown,
    used, expired, for another purpose or another user."""
    if not handle:
        raise PasskeyError("no_challenge")
    row = db.session.scalar(select(WebAuthnChallenge).where(WebAuthnChallenge.handle == handle))
    if row is None:
        raise PasskeyError("no_challenge")
    db.session.delete(row)
    db.session.flush()
    if utcnow() - row.created_at > timedelta(seconds=CHALLENGE_SECONDS):
        raise PasskeyError("expired")
    if row.purpose != purpose or row.user_id != (user.id if user else None):
        raise PasskeyError("no_challenge")
    return row.challenge


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in filter(None, passkey.transports.split(",")):
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:
            continue
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


# ---------------------------------------------------------------- registration


def _user_handle(user: User) -> str:
    """The WebAuthn user handle: random, the same for all of a user's passkeys."""
    existing = db.session.scalar(
        select(Passkey.user_handle).where(Passkey.user_id == user.id).limit(1)
    )
    return existing or bytes_to_base64url(secrets.token_bytes(16))


def registration_options(user: User, rp: RelyingParty) -> tuple[str, dict[str, Any]]:
    """Options for navigator.credentials.create(); returns the challenge handle and them."""
    handle, challenge = _new_challenge("register", user)
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_display_name=user.display_name,
        user_id=base64url_to_bytes(_user_handle(user)),
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(p) for p in passkeys_of(user)],
    )
    return handle, json.loads(webauthn.options_to_json(options))


def clean_name(name: str | None) -> str:
    return " ".join((name or "").split())[:NAME_MAX]


def register(
    user: User, rp: RelyingParty, *, handle: str | None, credential: dict, name: str
) -> Passkey:
    """Verify the browser's new credential and keep it under `name`."""
    challenge = _take_challenge(handle, "register", user)
    name = clean_name(name)
    if not name:
        raise PasskeyError("name")
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise PasskeyError("invalid") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyError("duplicate")
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        user_id=user.id,
        name=name,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=_user_handle(user),
        transports=",".join(str(t) for t in transports if isinstance(t, str))[:100],
    )
    db.session.add(passkey)
    db.session.flush()
    return passkey


# ---------------------------------------------------------------- authentication


def authentication_options(
    purpose: str, rp: RelyingParty, user: User | None = None
) -> tuple[str, dict[str, Any]]:
    """Options for navigator.credentials.get(): the user's own passkeys when known (step-up,
    the second step of a sign-in), any discoverable one of this site otherwise."""
    handle, challenge = _new_challenge(purpose, user)
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=[_descriptor(p) for p in passkeys_of(user)] if user else [],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return handle, json.loads(webauthn.options_to_json(options))


def authenticate(
    purpose: str,
    rp: RelyingParty,
    *,
    handle: str | None,
    credential: dict,
    user: User | None = None,
) -> Passkey:
    """Verify an assertion; returns the passkey used (its counter and last use updated).
    With `user`, the passkey must be one of hers."""
    challenge = _take_challenge(handle, purpose, user)
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str):
        raise PasskeyError("invalid")
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None or (user is not None and passkey.user_id != user.id):
        raise PasskeyError("unknown")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise PasskeyError("invalid") from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    db.session.flush()
    return passkey


def remove(passkey: Passkey) -> None:
    db.session.delete(passkey)
    db.session.flush()
