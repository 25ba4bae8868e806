"""Accept an upload only if it is a real image of sane size; re-encode it (EXIF gone, orientation
kept); store it and a thumbnail under UPLOAD_DIR with a uuid name and its SHA-256."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import ClassVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app.db import new_uuid
from app.errors import DomainError
from app.extensions import db
from app.photos.models import Photo

#: Largest upload accepted (the phone sends ≤ 1600 px JPEGs of a few hundred kB).
MAX_BYTES = 10 * 1024 * 1024
#: Largest image accepted, in pixels: about a 50-megapixel camera. Beyond it: a pixel bomb.
MAX_PIXELS = 50_000_000
#: Long side of the stored image and of its thumbnail.
STORED_SIDE = 1600
THUMB_SIDE = 320
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}


class PhotoError(DomainError):
    """A refused upload."""

    messages: ClassVar = {
        "too_large": _l("The photo is larger than 10 MB. Take it again at a lower resolution."),
        "not_an_image": _l("That file is not a photo (JPEG, PNG or WebP)."),
        "conflict": _l("This photo belongs to another record."),
        "too_many_pixels": _l(
            "The image has too many pixels to be a photo. Take it again with the camera."
        ),
    }


def _open_checked(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise PhotoError("too_large")
    if not data:
        raise PhotoError("not_an_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size  # read from the header, before any decoding
            if width * height > MAX_PIXELS:
                raise PhotoError("too_many_pixels")
            if image.format not in FORMATS:
                raise PhotoError("not_an_image")
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise PhotoError("not_an_image") from None
    return image


def _encode(image: Image.Image, side: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.LANCZOS)
    buffer = io.BytesIO()
    # Saved without exif=: nothing of the original metadata (GPS, camera, owner) survives.
    copy.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def _write(relative: str, data: bytes) -> None:
    target = Path(current_app.config["UPLOAD_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def store_photo(
    data: bytes, *, owner, site_id: int, kind: str = "photo", uuid: str | None = None
) -> Photo:
    """Check, re-encode and store an uploaded image; returns the (flushed) Photo row.

    `uuid` (from the device) is only the idempotency key: the same owner sending it again
    gets the stored photo back; anybody else is refused. File names are always fresh, so no
    upload can overwrite another's file.
    """
    if uuid:
        existing = db.session.scalar(select(Photo).where(Photo.uuid == uuid))
        if existing is not None:
            if existing.owner_id != owner.id or existing.site_id != site_id:
                raise PhotoError("conflict")
            return existing
    image = _open_checked(data)
    # Turn the pixels the way the camera meant, then drop the orientation tag with the rest.
    image = ImageOps.exif_transpose(image)
    flat = image.convert("RGBA")
    background = Image.new("RGB", flat.size, "white")
    background.paste(flat, mask=flat.split()[3])
    stored = _encode(background, STORED_SIDE)
    thumb = _encode(background, THUMB_SIDE)
    with Image.open(io.BytesIO(stored)) as check:
        width, height = check.size
    name = new_uuid()
    folder = f"photos/{name[:2]}"
    photo = Photo(
        uuid=uuid or new_uuid(),
        owner_id=owner.id,
        site_id=site_id,
        kind=kind,
        sha256=hashlib.sha256(stored).hexdigest(),
        path=f"{folder}/{name}.jpg",
        thumb_path=f"{folder}/{name}.thumb.jpg",
        width=width,
        height=height,
        size_bytes=len(stored),
    )
    _write(photo.path, stored)
    _write(photo.thumb_path, thumb)
    db.session.add(photo)
    db.session.flush()
    return photo


def photo_file(photo: Photo, *, thumb: bool = False) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / (photo.thumb_path if thumb else photo.path)
