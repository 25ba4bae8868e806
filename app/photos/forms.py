"""The photo upload form: the file and the phone's key for it."""

from __future__ import annotations

from flask_wtf.file import FileField

from app.forms import Form, UUIDField
from app.photos.services import PhotoError


class PhotoForm(Form):
    photo = FileField()
    photo_uuid = UUIDField()

    def photo_bytes(self) -> bytes:
        """The file's bytes; no file at all is refused like a file that is not a photo."""
        upload = self.photo.data
        if upload is None or not getattr(upload, "filename", None):
            raise PhotoError("not_an_image")
        return upload.read()
