"""The cipher alone: fresh nonces, authentication, binding to record and field, the ring."""

from __future__ import annotations

import base64

import pytest

from app.vault import crypto

RING = crypto.parse_key_ring(crypto.new_key_entry("k2026a") + "," + crypto.new_key_entry("k2025b"))
FIXED_KEY = base64.b64encode(b"fixed-test-key-fixed-test-key-32").decode()
UUID_A = "0b6c2a52-6a43-4a43-9a0e-6f5b7d1b2c01"
UUID_B = "7d1e0c4f-1c8e-4f1e-8b1a-2a3c4d5e6f70"


def seal(plaintext: bytes = b"1234#", *, record_uuid: str = UUID_A, field: str = "value") -> str:
    return crypto.encrypt(plaintext, ring=RING, record_uuid=record_uuid, field=field)


def test_a_value_round_trips_under_the_first_key_of_the_ring():
    token = seal("王小明 0912-345-678".encode())
    assert token.startswith("gp1:k2026a:")
    assert crypto.key_id_of(token) == "k2026a"
    plain = crypto.decrypt(token, ring=RING, record_uuid=UUID_A, field="value")
    assert plain.decode() == "王小明 0912-345-678"


def test_two_equal_values_give_different_ciphertexts():
    first, second = seal(b"same secret"), seal(b"same secret")
    assert first != second
    nonce = lambda token: base64.urlsafe_b64decode(token.split(":")[2])[:12]  # noqa: E731
    assert nonce(first) != nonce(second)


@pytest.mark.parametrize(
    "position", [0, 11, 12, -17, -1], ids=["nonce", "nonce-end", "body", "last-body", "tag"]
)
def test_a_flipped_byte_is_an_error(position):
    token = seal(b"alarm code 4711")
    version, key_id, body = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[position] ^= 0x01
    flipped = f"{version}:{key_id}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(flipped, ring=RING, record_uuid=UUID_A, field="value")


def test_a_ciphertext_moved_to_another_record_or_field_is_refused():
    token = seal(b"alarm code 4711")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, ring=RING, record_uuid=UUID_B, field="value")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, ring=RING, record_uuid=UUID_A, field="label")
    assert crypto.decrypt(token, ring=RING, record_uuid=UUID_A, field="value") == b"alarm code 4711"


def test_a_key_id_not_in_the_ring_or_a_foreign_string_is_an_error():
    other = crypto.parse_key_ring(crypto.new_key_entry("k2024z"))
    token = crypto.encrypt(b"x", ring=other, record_uuid=UUID_A, field="value")
    with pytest.raises(crypto.DecryptionError, match="k2024z"):
        crypto.decrypt(token, ring=RING, record_uuid=UUID_A, field="value")
    for foreign in ("1234#", "gp2:k2026a:AAAA", "gp1:k2026a:", "gp1:k2026a:AAAA"):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(foreign, ring=RING, record_uuid=UUID_A, field="value")


def test_a_key_with_the_same_id_but_other_bytes_does_not_decrypt():
    """A regenerated key under an old id: an error, never garbage."""
    token = seal(b"secret")
    impostor = crypto.parse_key_ring(crypto.new_key_entry("k2026a"))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, ring=impostor, record_uuid=UUID_A, field="value")


def test_the_ring_reads_standard_and_url_safe_base64_newest_first():
    key = bytes(range(250, 256)) + bytes(26)  # bytes that encode to + and / (or - and _)
    standard = base64.b64encode(key).decode()
    url_safe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "+" in standard or "/" in standard
    ring = crypto.parse_key_ring(f" new:{url_safe} , old:{standard}")
    assert list(ring.keys) == ["new", "old"] and ring.current_id == "new"
    assert ring.keys["new"] == ring.keys["old"] == key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("k1", "entry 1"),
        ("bad id!:AAAA", "entry 1"),
        ("k1:c2hvcnQ=", "32 bytes"),
        ("k1:not*base64", "base64"),
        (f"k1:{FIXED_KEY},k1:{FIXED_KEY}", "twice"),
    ],
    ids=["empty", "no-colon", "bad-id", "short", "not-base64", "twice"],
)
def test_a_malformed_ring_is_refused_with_a_message_that_names_no_key(text, message):
    with pytest.raises(crypto.KeyRingError, match=message) as refused:
        crypto.parse_key_ring(text)
    for entry in text.split(","):
        secret = entry.partition(":")[2]
        if len(secret) > 8:
            assert secret not in str(refused.value)
