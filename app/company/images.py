"""The company's logo and seal: checked by decoding them, re-encoded, stored, removed, served.

An upload is accepted only if Pillow decodes it as a PNG or JPEG within the limits below (the
size is read from the header before a pixel is decoded; a truncated file is refused). It is
then re-encoded without any of its metadata (EXIF, GPS, ICC profile, text chunks): a PNG stays
a PNG with its transparency (a seal scanned on a transparent background is stamped over the
approver's signature line), a JPEG becomes a fresh JPEG. Stored files are never changed: each
upload is a new `CompanyImage`, so a sheet approved with one keeps showing it.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import ClassVar

from flask import abort, current_app, send_file
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from app import audit, files
from app.auth.models import User
from app.company.models import IMAGE_KINDS, SETTING_ID, CompanyImage, CompanySetting
from app.db import new_uuid, utcnow
from app.errors import DomainError
from app.extensions import db

#: Largest upload: a logo or a scanned seal is a few hundred kB at most.
MAX_BYTES = 2 * 1024 * 1024
#: Largest declared side and area (a 300-dpi scan of an A4 page is 2480 x 3508).
MAX_SIDE = 4000
MAX_PIXELS = 12_000_000
#: Long side of the stored image: sharp at 300 dpi on a sheet's 4 cm logo or seal.
STORED_SIDE = 800
OPENED_AS = ("PNG", "JPEG")


class ImageError(DomainError):
    """A refused logo or seal."""

    messages: ClassVar = {
        "kind": _l("Choose from the list."),
        "missing": _l("Choose a PNG or JPEG file."),
        "too_large": _l("The image is larger than 2 MB. Save it smaller and upload it again."),
        "not_an_image": _l("That file is not a PNG or JPEG image."),
        "too_many_pixels": _l(
            "The image is too large (at most 4,000 pixels a side). Save it smaller and upload "
            "it again."
        ),
        "truncated": _l("The image arrived incomplete (the file is cut short). Send it again."),
    }


def _decode(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise ImageError("too_large", field="image")
    if not data:
        raise ImageError("missing", field="image")
    # A truncated file is refused, never padded out (a library may have flipped this switch).
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=OPENED_AS)
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageError("not_an_image", field="image")
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise ImageError("too_many_pixels", field="image")
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("too_many_pixels", field="image") from None
    except OSError as error:
        cut = "truncated" in str(error) or "broken data stream" in str(error)
        raise ImageError("truncated" if cut else "not_an_image", field="image") from None
    except (UnidentifiedImageError, ValueError, SyntaxError, EOFError):
        raise ImageError("not_an_image", field="image") from None
    return image


def encode(data: bytes) -> tuple[bytes, str, int, int]:
    """(stored bytes, content type, width, height) of an upload; no database, no files."""
    image = _decode(data)
    source_format = image.format
    image = ImageOps.exif_transpose(image)  # turned as meant, then the tag goes with the rest
    keeps_alpha = source_format == "PNG" and (
        image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    )
    image = image.convert("RGBA" if keeps_alpha else "RGB")
    image.thumbnail((STORED_SIDE, STORED_SIDE), Image.LANCZOS)
    buffer = io.BytesIO()
    # Saved afresh without exif=, icc_profile= or pnginfo=: no metadata of the upload survives.
    if source_format == "PNG":
        image.save(buffer, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        image.save(buffer, format="JPEG", quality=90, optimize=True)
        content_type = "image/jpeg"
    return buffer.getvalue(), content_type, image.width, image.height


def image_file(image: CompanyImage) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / image.path


def _setting() -> CompanySetting:
    setting = db.session.get(CompanySetting, SETTING_ID)
    if setting is None:
        setting = CompanySetting(id=SETTING_ID)
        db.session.add(setting)
    return setting


def _check_kind(kind: str) -> None:
    if kind not in IMAGE_KINDS:
        raise ImageError("kind")


def upload(*, actor: User, kind: str, data: bytes) -> CompanyImage:
    """Check, re-encode and store a new logo or seal; it replaces the current one (audited)."""
    _check_kind(kind)
    stored, content_type, width, height = encode(data)
    name = new_uuid()
    extension = "png" if content_type == "image/png" else "jpg"
    image = CompanyImage(
        kind=kind,
        sha256=hashlib.sha256(stored).hexdigest(),
        path=f"company/{name}.{extension}",
        content_type=content_type,
        width=width,
        height=height,
        size_bytes=len(stored),
        created_by_id=actor.id,
    )
    files.write_private(Path(current_app.config["UPLOAD_DIR"]), image.path, stored)
    db.session.add(image)
    db.session.flush()
    setting = _setting()
    setattr(setting, f"{kind}_image_id", image.id)
    setting.updated_at = utcnow()
    setting.updated_by_id = actor.id
    db.session.flush()
    audit.record(
        f"company.{kind}_uploaded",
        actor=actor,
        target=f"company_image:{image.id}",
        detail={"sha256": image.sha256, "width": width, "height": height, "bytes": len(stored)},
    )
    return image


def remove(*, actor: User, kind: str) -> CompanySetting:
    """Stop printing the logo or seal. The file stays: sheets approved with it keep it."""
    _check_kind(kind)
    setting = _setting()
    current = getattr(setting, f"{kind}_image_id")
    if current is None:
        return setting
    setattr(setting, f"{kind}_image_id", None)
    setting.updated_at = utcnow()
    setting.updated_by_id = actor.id
    db.session.flush()
    audit.record(f"company.{kind}_removed", actor=actor, target=f"company_image:{current}")
    return setting


def current_image(kind: str) -> CompanyImage | None:
    """The logo or seal printed from now on, or None."""
    setting = db.session.get(CompanySetting, SETTING_ID)
    return getattr(setting, f"{kind}_image") if setting is not None else None


def version(image: CompanyImage) -> str:
    """The `v` of the image's URLs: its content, so a cached copy is never a stale one."""
    return image.sha256[:16]


#: A URL that names the image's content (`?v=`) may be kept by the browser; any other asks
#: again each time (a 304 while unchanged). `private`: never by a shared cache, since only
#: signed-in users who may see a sheet get it.
CACHE_VERSIONED = "private, max-age=31536000, immutable"
CACHE_REVALIDATE = "private, no-cache"


def serve(image: CompanyImage, *, requested_version: str | None):
    """The stored file as a response, with its ETag and the cache rule above."""
    path = image_file(image)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=image.content_type, etag=image.sha256, conditional=True)
    response.headers["Cache-Control"] = (
        CACHE_VERSIONED if requested_version == version(image) else CACHE_REVALIDATE
    )
    response.headers.pop("Expires", None)
    return response
