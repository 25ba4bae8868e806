"""The company's logo and seal: the administrator uploads (a real PNG or JPEG of sane size,
re-encoded without its metadata), previews and removes them; each change is audited."""

from __future__ import annotations

import io
import os
import random
import stat

import pytest
from PIL import Image
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.company import images
from app.company.models import CompanyImage, CompanySetting
from app.extensions import db


def _png_with_alpha(size=(300, 300)) -> bytes:
    """A red round seal on a transparent background, with a text chunk that must not survive."""
    from PIL import ImageDraw, PngImagePlugin

    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse(
        (10, 10, size[0] - 10, size[1] - 10), outline=(200, 0, 0, 255), width=12
    )
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author-name")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (640, 200), (20, 60, 140))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    exif[0x0112] = 6  # Orientation: turned 90°
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _upload(client, kind: str, data: bytes, name: str = "x.png"):
    return client.post(
        f"/admin/company/{kind}?lang=en",
        data={"image": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin")
    login(user)
    return user


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_png_seal_is_stored_without_its_metadata_and_keeps_its_transparency(app, client, admin):
    response = _upload(client, "seal", _png_with_alpha())
    assert response.status_code == 200 and "Seal saved." in response.text
    setting = db.session.get(CompanySetting, 1)
    seal = setting.seal_image
    assert (seal.kind, seal.content_type, seal.width, seal.height) == (
        "seal",
        "image/png",
        300,
        300,
    )
    path = images.image_file(seal)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "static" not in path.parts
    stored = path.read_bytes()
    assert b"secret-author-name" not in stored
    with Image.open(io.BytesIO(stored)) as back:
        assert back.mode == "RGBA" and back.getpixel((0, 0))[3] == 0  # transparent corner
        assert "Author" not in back.info
    assert "company.seal_uploaded" in _actions()
    # The settings page shows it, and the preview is served with its ETag and cache rule.
    page = client.get("/admin/company?lang=en").text
    assert f"/admin/company/seal?v={images.version(seal)}" in page and "Remove" in page
    served = client.get(f"/admin/company/seal?v={images.version(seal)}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert served.data == stored
    unversioned = client.get("/admin/company/seal")
    assert unversioned.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/admin/company/seal", headers={"If-None-Match": f'"{seal.sha256}"'})
    assert again.status_code == 304


def test_a_jpeg_logo_is_turned_as_meant_and_loses_its_exif(app, client, admin):
    response = _upload(client, "logo", _jpeg_with_exif(), "logo.jpg")
    assert "Logo saved." in response.text
    logo = db.session.get(CompanySetting, 1).logo_image
    assert (logo.content_type, logo.width, logo.height) == ("image/jpeg", 200, 640)
    stored = images.image_file(logo).read_bytes()
    assert b"SecretCameraMaker" not in stored
    with Image.open(io.BytesIO(stored)) as back:
        assert not back.getexif()
    assert "company.logo_uploaded" in _actions()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "That file is not a PNG or JPEG image."),
        (b"", "Choose a PNG or JPEG file."),
        ("gif", "That file is not a PNG or JPEG image."),
        ("truncated", "The image arrived incomplete"),
        ("wide", "at most 4,000 pixels a side"),
        ("oversize", "The image is larger than 2 MB."),
    ],
)
def test_what_is_not_a_sane_png_or_jpeg_is_refused(app, client, admin, data, message):
    if data == "gif":
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), "red").save(buffer, format="GIF")
        data = buffer.getvalue()
    elif data == "truncated":
        data = _png_with_alpha()[:-200]
    elif data == "wide":
        buffer = io.BytesIO()
        Image.new("1", (4100, 2)).save(buffer, format="PNG")
        data = buffer.getvalue()
    elif data == "oversize":  # a real PNG, of noise: it does not compress below 2 MB
        noise = random.Random(14).randbytes(900 * 900 * 3)
        buffer = io.BytesIO()
        Image.frombytes("RGB", (900, 900), noise).save(buffer, format="PNG")
        data = buffer.getvalue()
        assert len(data) > images.MAX_BYTES
    response = _upload(client, "logo", data)
    assert response.status_code == 200 and message in response.text
    assert db.session.scalar(select(CompanyImage)) is None
    assert not any(a.startswith("company.logo") for a in _actions())


def test_removing_stops_printing_it_but_keeps_the_file(app, client, admin):
    _upload(client, "logo", _png_with_alpha())
    logo = db.session.get(CompanySetting, 1).logo_image
    response = client.post("/admin/company/logo/remove?lang=en", follow_redirects=True)
    assert "Logo removed." in response.text
    db.session.expire_all()
    assert db.session.get(CompanySetting, 1).logo_image_id is None
    assert images.image_file(logo).exists()  # sheets approved with it keep it
    assert client.get("/admin/company/logo").status_code == 404
    assert "company.logo_removed" in _actions()
    assert "None: nothing is printed." in client.get("/admin/company?lang=en").text
