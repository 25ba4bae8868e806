"""Authenticated field encryption with a key ring (SECURITY.md decision 6).

The key ring is the setting ``DATA_KEYS``: comma-separated ``<key id>:<base64 of 32 bytes>``
entries, newest first, e.g. ``k2026a:<base64>,k2025b:<base64>``. The first key encrypts every
new value; the others only decrypt what they encrypted until ``flask keys rotate`` has moved
it under the first. A key id is 1–32 letters, digits, ``_`` or ``-``; base64 may be standard
or URL-safe, padded or not. When the environment gives no ``DATA_KEYS``, config.py generates a
ring of one random key into ``instance/secrets.json`` (mode 0600) under an id that is never
generated twice, so a lost secrets file shows as a missing key id instead of a wrong key.

A stored value is one ASCII string: ``gp1:<key id>:<base64url of nonce ‖ ciphertext ‖ tag>``.
AES-256-GCM with a fresh random 96-bit nonce per value (two equal values never look alike),
and associated data binding it to its record's uuid and field name: a ciphertext copied to
another row or another field does not decrypt. Any failure raises DecryptionError; nothing
is ever returned that the tag did not authenticate.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "gp1"
#: Prefix of the associated data: a ciphertext made for another purpose (another version of
#: this format, another application sharing the key) never authenticates here.
AAD_PREFIX = b"guardpost.vault.v1|"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeyRingError(RuntimeError):
    """DATA_KEYS does not parse: the app must not start with it."""


class DecryptionError(Exception):
    """A stored value could not be authenticated and decrypted (wrong row or field, altered
    bytes, unknown key id, malformed). Shown as an error, never as a value."""


@dataclass(frozen=True)
class KeyRing:
    #: key id -> 32-byte key, newest (current) first.
    keys: dict[str, bytes]

    @property
    def current_id(self) -> str:
        return next(iter(self.keys))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.keys


def _decode_key(key_id: str, text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"DATA_KEYS: key {key_id!r} is not base64") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"DATA_KEYS: key {key_id!r} must be 32 bytes, not {len(key)}")
    return key


def parse_key_ring(text: str | None) -> KeyRing:
    """The ring from its DATA_KEYS text; KeyRingError (naming the entry, never a key) if bad."""
    keys: dict[str, bytes] = {}
    for entry in (text or "").split(","):
        if not entry.strip():
            continue
        key_id, sep, encoded = entry.strip().partition(":")
        if not sep or not KEY_ID.fullmatch(key_id):
            raise KeyRingError(
                "DATA_KEYS: each entry is <key id>:<base64 key>, the id 1-32 of "
                f"A-Z a-z 0-9 _ - (entry {len(keys) + 1} is not)"
            )
        if key_id in keys:
            raise KeyRingError(f"DATA_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = _decode_key(key_id, encoded)
    if not keys:
        raise KeyRingError("DATA_KEYS is empty: give at least one <key id>:<base64 32 bytes>")
    return KeyRing(keys)


def new_key_entry(key_id: str) -> str:
    """A DATA_KEYS entry with a fresh random key (config.py's generated ring, tests)."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()}"


def associated_data(record_uuid: str, field: str) -> bytes:
    """What binds a ciphertext to one field of one record."""
    return AAD_PREFIX + record_uuid.encode() + b"|" + field.encode()


def encrypt(plaintext: bytes, *, ring: KeyRing, record_uuid: str, field: str) -> str:
    """`plaintext` sealed under the ring's current key for this record's field."""
    key_id = ring.current_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[key_id]).encrypt(
        nonce, plaintext, associated_data(record_uuid, field)
    )
    return f"{VERSION}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id_of(token: str) -> str:
    """The key id a stored value names (DecryptionError if it is not one of ours)."""
    _version, key_id, _body = _split(token)
    return key_id


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(":") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != VERSION or not KEY_ID.fullmatch(parts[1]):
        raise DecryptionError("not a vault ciphertext (unknown format or version)")
    return parts[0], parts[1], parts[2]


def decrypt(token: str, *, ring: KeyRing, record_uuid: str, field: str) -> bytes:
    """The plaintext of a stored value; DecryptionError unless it authenticates for exactly
    this record's field under a key of the ring."""
    _version, key_id, body = _split(token)
    if key_id not in ring:
        raise DecryptionError(f"key id {key_id!r} is not in DATA_KEYS")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
    except (binascii.Error, ValueError):
        raise DecryptionError("ciphertext is not base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError("ciphertext too short")
    try:
        return AESGCM(ring.keys[key_id]).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data(record_uuid, field)
        )
    except InvalidTag:
        raise DecryptionError("does not authenticate for this record and field") from None
