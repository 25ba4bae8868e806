"""Image decoding is bounded before it starts (issue 10, item 1).

Each hostile upload is measured in a process of its own: refused, quickly, and without the
memory its header claims. Today's numbers before the fix: the 68-byte 1 x 49,000,000 PNG cost
370 MB, the 194 KB 7071 x 7071 RGBA PNG was accepted for about 1 GB.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.photos.models import Photo
from tests.photos.test_uploads import fault, upload  # noqa: F401 (the fixture is used)

MEASURE = Path(__file__).with_name("measure_decode.py")
#: What a refusal (or a bounded decode) may cost: the interpreter's own noise is a few MB.
PEAK_MB = 50
SECONDS = 2.0


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def tall_png() -> bytes:
    """68 bytes that declare a grey PNG of 1 x 49,000,000 pixels."""
    header = struct.pack(">IIBBBBB", 1, 49_000_000, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 3, 9))
        + _chunk(b"IEND", b"")
    )
    assert len(data) == 68
    return data


def rgba_png(side: int = 7071) -> bytes:
    """A real, valid, fully decodable RGBA PNG of side x side (7071: 50 MP in ~194 KB)."""
    buffer = io.BytesIO()
    Image.new("RGBA", (side, side)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(size, quality=85) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((1200, 900), 60).convert("RGB").save(buffer, format="JPEG")
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((1200, 900), 60).convert("RGB").save(buffer, format="PNG")
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def measure(tmp_path: Path, data: bytes) -> dict:
    payload = tmp_path / "payload"
    payload.write_bytes(data)
    done = subprocess.run(
        [sys.executable, str(MEASURE), str(payload), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (tall_png, "too_many_pixels"),
        (rgba_png, "too_many_pixels"),
        (truncated_jpeg, "truncated"),
        (truncated_png, "truncated"),
    ],
    ids=["1x49000000-png", "7071x7071-rgba-png", "truncated-jpeg", "truncated-png"],
)
def test_hostile_images_are_refused_quickly_within_little_memory(tmp_path, make, refusal):
    result = measure(tmp_path, make())
    seen = (result["outcome"], result["seconds"] < SECONDS, result["peak_mb"] < PEAK_MB)
    assert seen == (refusal, True, True), result


def test_a_40_megapixel_jpeg_is_decoded_at_the_scale_it_is_stored(tmp_path):
    """Accepted (a camera's full frame), but decoded at 1/4 scale: not the 160 MB of its pixels."""
    result = measure(tmp_path, jpeg((7300, 5400)))
    assert (result["outcome"], result["peak_mb"] < PEAK_MB) == ("stored", True), result


def test_the_largest_png_accepted_is_decoded_within_a_known_bound(tmp_path):
    """A PNG cannot be decoded at reduced scale: its area limit is what bounds it (10 MP with
    transparency, the worst case: decoded, then premultiplied to be resampled: about 105 MB)."""
    result = measure(tmp_path, rgba_png(3160))
    assert (result["outcome"], result["peak_mb"] < 128) == ("stored", True), result


def test_sides_and_areas_over_the_limits_are_refused_from_the_header(tmp_path):
    from app.photos import services

    def png_header_only(width, height):
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")

    for width, height in [(12_001, 10), (10, 12_001), (3200, 3200)]:  # side; PNG area > 10 MP
        with pytest.raises(services.PhotoError) as refused:
            services._decode(png_header_only(width, height))
        assert refused.value.key == "too_many_pixels"
    assert Image.MAX_IMAGE_PIXELS == services.MAX_PIXELS


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (tall_png, "too many pixels"),
        (truncated_jpeg, "arrived incomplete"),
        (truncated_png, "arrived incomplete"),
    ],
)
def test_each_refusal_is_a_clear_message_not_a_server_error(client, fault, make, message):  # noqa: F811
    response = upload(client, fault, make(), name="photo.png")
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(Photo)) is None
