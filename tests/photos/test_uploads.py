"""The photo pipeline: real images only, size and pixel limits, EXIF stripped, served privately."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.inspections.models import Answer
from app.inspections.services import active_template
from app.photos.models import Photo
from tests import factories


@pytest.fixture
def fault(app, client, make_user, login):
    """A draft inspection whose control-panel item has failed: it takes photos."""
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    db.session.commit()
    login(supervisor)
    key = str(uuid.uuid4())
    client.post(f"/sites/{site.id}/inspections", data={"uuid": key})
    panel = active_template().live_items[4]
    client.post(f"/inspections/{key}/items/{panel.id}", data={"value": "fail"})
    return {
        "url": f"/inspections/{key}/items/{panel.id}/photos?lang=en",
        "site": site,
        "supervisor": supervisor,
    }


def upload(client, fault, data: bytes, name="photo.jpg", **extra):
    return client.post(
        fault["url"],
        data={"photo": (io.BytesIO(data), name), **extra},
        headers={"HX-Request": "true"},
        content_type="multipart/form-data",
    )


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (800, 600), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    exif[0x8825] = {1: "N", 2: (25.0, 2.0, 0.0), 3: "E", 4: (121.0, 33.0, 0.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_bomb(width=20_000, height=20_000) -> bytes:
    """A real, valid 1-bit PNG of 400 megapixels that compresses to a few hundred kB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_a_real_photo_is_stored_outside_static_with_a_thumbnail(app, client, fault):
    response = upload(client, fault, factories.png_bytes((2400, 1800)))
    assert response.status_code == 200 and 'class="thumb"' in response.text
    photo = db.session.scalar(select(Photo))
    assert (photo.width, photo.height) == (1600, 1200)  # downscaled to ≤ 1600 px
    stored = app.config["UPLOAD_DIR"] + "/" + photo.path
    assert "static" not in stored
    import hashlib

    with open(stored, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == photo.sha256
    served = client.get(f"/photos/{photo.uuid}")
    assert (
        served.mimetype == "image/jpeg" and served.headers["Cache-Control"] == "private, no-store"
    )
    assert client.get(f"/photos/{photo.uuid}/thumb").status_code == 200
    assert len(db.session.scalar(select(Answer)).photos) == 1


def test_gps_and_other_exif_are_stripped_but_orientation_is_applied(app, client, fault):
    upload(client, fault, jpeg_with_gps())
    photo = db.session.scalar(select(Photo))
    with Image.open(app.config["UPLOAD_DIR"] + "/" + photo.path) as stored:
        assert dict(stored.getexif()) == {}
        assert stored.getexif().get_ifd(0x8825) == {}
        assert stored.size == (600, 800)  # turned upright, as the camera meant
    with open(app.config["UPLOAD_DIR"] + "/" + photo.path, "rb") as fh:
        raw = fh.read()
    assert b"PhoneMaker" not in raw and b"Exif" not in raw


def test_a_text_file_named_jpg_is_refused(client, fault):
    response = upload(client, fault, b"this is not an image at all\n" * 10, name="evil.jpg")
    assert response.status_code == 422
    assert "That file is not a photo" in response.text
    assert db.session.scalar(select(Photo)) is None


def test_a_30_mb_file_is_refused(client, fault):
    response = upload(client, fault, b"\xff\xd8" + b"0" * (30 * 1024 * 1024))
    assert response.status_code == 413
    assert "Too large" in response.text
    assert db.session.scalar(select(Photo)) is None


def test_an_11_mb_file_gets_the_photo_size_message(client, fault):
    response = upload(client, fault, b"\xff\xd8" + b"0" * (11 * 1024 * 1024))
    assert response.status_code == 422
    assert "larger than 10 MB" in response.text


def test_a_20000_by_20000_png_is_refused_as_a_pixel_bomb(client, fault):
    bomb = png_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    response = upload(client, fault, bomb, name="bomb.png")
    assert response.status_code == 422
    assert "too many pixels" in response.text
    assert db.session.scalar(select(Photo)) is None


def test_the_same_photo_uuid_sent_twice_is_stored_once(client, fault):
    key = str(uuid.uuid4())
    upload(client, fault, factories.png_bytes(), photo_uuid=key)
    upload(client, fault, factories.png_bytes(), photo_uuid=key)
    assert len(db.session.scalars(select(Photo)).all()) == 1


def test_photos_are_not_served_to_other_sites_people(app, client, fault, make_user, login):
    upload(client, fault, factories.png_bytes())
    photo = db.session.scalar(select(Photo))
    stranger = make_user("supervisor")
    phone = app.test_client()
    login(stranger, test_client=phone)
    assert phone.get(f"/photos/{photo.uuid}").status_code == 404
    manager = app.test_client()
    login(make_user("manager"), test_client=manager)
    assert manager.get(f"/photos/{photo.uuid}").status_code == 200
