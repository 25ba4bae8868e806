"""Photo: an image a user uploaded, re-encoded and stored outside static/ under a uuid name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Photo(Base):
    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The file name and the URL key; made on the device when it comes from a queued upload.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    #: The site whose records it belongs to: who may see the photo follows from it.
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    #: "photo", "signature", or "training" (evidence of a training session: served only by
    #: the session's route, to whom the session concerns — never by its site).
    kind: Mapped[str] = mapped_column(String(20), default="photo")
    #: SHA-256 of the stored (re-encoded) file.
    sha256: Mapped[str] = mapped_column(String(64))
    #: Path below UPLOAD_DIR; never below static/.
    path: Mapped[str] = mapped_column(String(200))
    thumb_path: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
