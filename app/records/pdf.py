"""The sheet as a PDF: the print page's HTML through WeasyPrint, fonts Noto Sans CJK TC.

Photo thumbnails are fetched from the upload folder by their uuid (`photo:<uuid>` in the
HTML), never over HTTP: the PDF is made inside the request that authorised it, and the
renderer must not reach any other URL (a `file:` or `http:` reference is refused).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.photos import services as photos
from app.photos.models import Photo

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


def _fetcher(allowed: set[str]):
    def fetch(url: str, *args, **kwargs):
        if url.startswith("photo:"):
            uuid = url.removeprefix("photo:")
            photo = (
                db.session.scalar(select(Photo).where(Photo.uuid == uuid))
                if uuid in allowed
                else None
            )
            if photo is None:
                raise ValueError("not a photo of this sheet")
            return {
                "string": photos.photo_file(photo, thumb=True).read_bytes(),
                "mime_type": "image/jpeg",
            }
        raise ValueError(f"the sheet's PDF fetches nothing else: {url[:40]}")

    return fetch


def render_pdf(html: str, *, photo_uuids: set[str]) -> bytes:
    """The PDF of the sheet's print HTML (A4, @page from static/css/records.css)."""
    from weasyprint import CSS, HTML  # imported here: loading pango takes a moment

    stylesheet = CSS(filename=str(STATIC / "css" / "records.css"))
    document = HTML(string=html, url_fetcher=_fetcher(photo_uuids), base_url="photo:")
    return document.write_pdf(stylesheets=[stylesheet])
