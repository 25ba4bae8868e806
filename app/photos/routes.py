"""Photos are served only through here, to those who may see their site, never cached."""

from __future__ import annotations

from flask import Blueprint, abort, send_file
from flask_login import current_user
from sqlalchemy import select

from app.auth import policy
from app.authz import authorize_hidden
from app.extensions import db
from app.photos.models import Photo
from app.photos.services import photo_file
from app.sites.services import assigned_site_ids

bp = Blueprint("photos", __name__)


def _serve(uuid: str, *, thumb: bool):
    photo = db.session.scalar(select(Photo).where(Photo.uuid == uuid))
    if photo is None:
        abort(404)
    authorize_hidden(
        policy.can_view_photo(
            current_user, photo, assigned_site_ids=assigned_site_ids(current_user)
        ),
        target=f"photo:{photo.id}",
    )
    path = photo_file(photo, thumb=thumb)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=photo.content_type, conditional=False, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/photos/<uuid>")
def photo(uuid: str):
    """A stored photo."""
    return _serve(uuid, thumb=False)


@bp.get("/photos/<uuid>/thumb")
def thumb(uuid: str):
    """A photo's thumbnail."""
    return _serve(uuid, thumb=True)
