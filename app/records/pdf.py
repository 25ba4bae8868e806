"""The sheet as a PDF: the print page's HTML through WeasyPrint, fonts Noto Sans CJK TC.

Photo thumbnails are fetched from the upload folder by their uuid (`photo:<uuid>` in the
HTML), never over HTTP: the PDF is made inside the request that authorised it, and the
renderer must not reach any other URL (a `file:` or `http:` reference is refused). The
company's logo and seal come the same way (`company-image:<id>`), only those the sheet shows.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.company import images as company_images
from app.company.models import CompanyImage
from app.extensions import db
from app.photos import services as photos
from app.photos.models import Photo

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


def image_src(image: CompanyImage) -> str:
    """How the print HTML names a company image for the PDF."""
    return f"company-image:{image.id}"


def _weasyprint():
    """WeasyPrint's module, imported on first use (loading pango takes a moment).

    Importing it sets Pillow's process-wide `ImageFile.LOAD_TRUNCATED_IMAGES` (weasyprint/
    images.py), which would make every later upload in this process pad a truncated photo, logo
    or seal out instead of refusing it (app/photos, app/company/images). The PDF embeds only
    images the app re-encoded itself, so the switch is put back at once.
    """
    import weasyprint
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return weasyprint


def _fetcher(allowed: set[str], images: list[CompanyImage]):
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    by_url = {image_src(image): image for image in images}

    class SheetPhotos(URLFetcher):
        """Only the sheet's own photo thumbnails and company images, from the upload folder."""

        def fetch(self, url, headers=None):
            if url in by_url:
                image = by_url[url]
                body = company_images.image_file(image).read_bytes()
                return URLFetcherResponse(url, body, {"Content-Type": image.content_type})
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

    return SheetPhotos(allowed_protocols=("photo", "company-image"))


def render_pdf(
    html: str, *, photo_uuids: set[str], images: list[CompanyImage] | None = None
) -> bytes:
    """The PDF of the sheet's print HTML (A4, @page from static/css/records.css)."""
    _weasyprint()
    from weasyprint import CSS, HTML

    stylesheet = CSS(filename=str(STATIC / "css" / "records.css"))
    fetcher = _fetcher(photo_uuids, [image for image in images or [] if image is not None])
    document = HTML(string=html, url_fetcher=fetcher, base_url="photo:")
    return document.write_pdf(stylesheets=[stylesheet])
