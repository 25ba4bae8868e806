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
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SheetPhotos(URLFetcher):
        """Only the sheet's own photo thumbnails, read from the upload folder."""

        def fetch(self, url, headers=None):
            uuid = url.removeprefix("photo:") if url.startswith("photo:") else ""
            photo = (
                db.session.scalar(select(Photo).where(Photo.uuid == uuid))
                if uuid in allowed
                else None
            )
            if photo is None:
                raise ValueError(f"the sheet's PDF fetches nothing else: {url[:40]}")
            body = photos.photo_file(photo, thumb=True).read_bytes()
            return URLFetcherResponse(url, body, {"Content-Type": "image/jpeg"})

    return SheetPhotos(allowed_protocols=("photo",))


def render_pdf(html: str, *, photo_uuids: set[str]) -> bytes:
    """The PDF of the sheet's print HTML (A4, @page from static/css/records.css)."""
    from weasyprint import CSS, HTML  # imported here: loading pango takes a moment

    stylesheet = CSS(filename=str(STATIC / "css" / "records.css"))
    document = HTML(string=html, url_fetcher=_fetcher(photo_uuids), base_url="photo:")
    return document.write_pdf(stylesheets=[stylesheet])
