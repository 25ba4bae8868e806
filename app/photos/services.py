"""Accept an upload only if it is a real image of sane size; re-encode it (EXIF gone, orientation
kept); store it and a thumbnail under UPLOAD_DIR with a uuid name and its SHA-256.

Decoding is bounded before it starts: the format, width and height are read from the header
(`Image.open` decodes nothing) and refused beyond the limits below; a JPEG is then decoded
straight at the scale it is stored at (`draft`: libjpeg scales by 1/2, 1/4 or 1/8 while it
decodes), so even a 40-megapixel photo costs a few megabytes; a truncated file is refused,
never padded out (`ImageFile.LOAD_TRUNCATED_IMAGES` stays off).
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app import files
from app.db import new_uuid
from app.errors import DomainError
from app.extensions import db
from app.photos.models import Photo

#: Largest upload accepted (the phone sends ≤ 1600 px JPEGs of a few hundred kB).
MAX_BYTES = 10 * 1024 * 1024
#: Longest side accepted. A camera's widest frame is about 8 000 px (50 MP); a strip of
#: 1 x 49 000 000 px has few pixels but its 49 million rows alone cost Pillow 370 MB.
MAX_SIDE = 12_000
#: Largest JPEG accepted, in pixels: every phone's default photo (12-24 MP) and most cameras'.
#: It is decoded at 1/4 or 1/8 scale, so its size costs time to read, not memory.
MAX_PIXELS = 40_000_000
#: Largest PNG, WebP or GIF: these are decoded whole, at 4 bytes a pixel, and resampling one
#: with transparency takes a premultiplied copy (10 MP: about 105 MB at the peak). They are
#: screenshots or drawings (a phone's screen is 3-6 MP, a 4K monitor's 8.3), not camera photos.
MAX_PIXELS_DECODED_WHOLE = 10_000_000
#: Long side of the stored image and of its thumbnail.
STORED_SIDE = 1600
THUMB_SIDE = 320
#: Formats tried when opening (no other Pillow plugin ever sees an upload); MPO is the JPEG
#: of phones that add a depth map, opened by the JPEG plugin.
OPENED_AS = ("JPEG", "PNG", "WEBP", "GIF")
FORMATS = {*OPENED_AS, "MPO"}
#: Decoded at reduced scale (`Image.draft`).
SCALED_WHILE_DECODING = {"JPEG", "MPO"}

# One limit for every image Pillow opens in this process: beyond it Pillow itself warns, beyond
# twice it refuses (both are caught below as too many pixels).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - a guard against a global switch
    raise RuntimeError(
        "Pillow's LOAD_TRUNCATED_IMAGES must stay off: truncated uploads are refused"
    )


class PhotoError(DomainError):
    """A refused upload."""

    messages: ClassVar = {
        "too_large": _l("The photo is larger than 10 MB. Take it again at a lower resolution."),
        "not_an_image": _l("That file is not a photo (JPEG, PNG or WebP)."),
        "conflict": _l("This photo belongs to another record."),
        "too_many_pixels": _l(
            "The image has too many pixels to be a photo (at most 12,000 pixels a side; "
            "40 megapixels for a JPEG, 10 for a PNG, WebP or GIF). Take it again with the camera."
        ),
        "truncated": _l("The photo arrived incomplete (the file is cut short). Send it again."),
    }


def _is_truncation(error: Exception) -> bool:
    text = str(error)
    return "truncated" in text or "broken data stream" in text or "premature end" in text.lower()


def _check_header(image: Image.Image) -> None:
    """Refuse by what the header declares, before a single pixel is decoded."""
    if image.format not in FORMATS:
        raise PhotoError("not_an_image")
    width, height = image.size
    limit = MAX_PIXELS if image.format in SCALED_WHILE_DECODING else MAX_PIXELS_DECODED_WHOLE
    if width < 1 or height < 1:
        raise PhotoError("not_an_image")
    if max(width, height) > MAX_SIDE or width * height > limit:
        raise PhotoError("too_many_pixels")


def _decode(data: bytes) -> Image.Image:
    """The upload's first frame, decoded within bounds and at most about 2 x STORED_SIDE."""
    if len(data) > MAX_BYTES:
        raise PhotoError("too_large")
    if not data:
        raise PhotoError("not_an_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=OPENED_AS)
            _check_header(image)
            if image.format in SCALED_WHILE_DECODING:
                # The smallest 1/2, 1/4 or 1/8 scale whose long side is still ≥ STORED_SIDE.
                ratio = STORED_SIDE / max(image.size)
                if ratio < 1:
                    image.draft(
                        None,
                        (
                            max(1, math.ceil(image.width * ratio)),
                            max(1, math.ceil(image.height * ratio)),
                        ),
                    )
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_many_pixels") from None
    except OSError as error:
        raise PhotoError("truncated" if _is_truncation(error) else "not_an_image") from None
    except (UnidentifiedImageError, ValueError, SyntaxError, EOFError):
        raise PhotoError("not_an_image") from None
    return image


@dataclass(frozen=True)
class Encoded:
    """A re-encoded upload: the stored JPEG, its thumbnail and the stored size."""

    stored: bytes
    thumb: bytes
    width: int
    height: int


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Saved without exif=: nothing of the original metadata (GPS, camera, owner) survives.
    image.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def encode_photo(data: bytes) -> Encoded:
    """Check and re-encode an upload (no database, no files): JPEG ≤ STORED_SIDE, thumbnail."""
    image = _decode(data)
    if image.mode not in ("RGB", "RGBA", "L"):  # palette, 1-bit, 16-bit, CMYK...: resampled right
        image = image.convert("RGBA")
    factor = max(image.size) // STORED_SIDE
    if factor >= 2:  # a box average to ≥ STORED_SIDE first: LANCZOS then works on a quarter of
        image = image.reduce(factor)  # the pixels, not on a premultiplied full-size copy
    image.thumbnail((STORED_SIDE, STORED_SIDE), Image.LANCZOS)
    # Turn the pixels the way the camera meant, then drop the orientation tag with the rest.
    image = ImageOps.exif_transpose(image)
    flat = image.convert("RGBA")
    background = Image.new("RGB", flat.size, "white")
    background.paste(flat, mask=flat.split()[3])
    thumb = background.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.LANCZOS)
    return Encoded(_jpeg(background), _jpeg(thumb), background.width, background.height)


def _write(relative: str, data: bytes) -> None:
    files.write_private(Path(current_app.config["UPLOAD_DIR"]), relative, data)


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
    encoded = encode_photo(data)
    stored, thumb, width, height = encoded.stored, encoded.thumb, encoded.width, encoded.height
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
