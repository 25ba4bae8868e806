"""CompanySetting: one row, edited by the administrator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

#: Gregorian (2026-11-25) or the ROC calendar of Taiwan's official papers (民國 115 年 11 月 25 日).
CALENDARS = ("gregorian", "roc")
#: The one row's id: the table never holds another.
SETTING_ID = 1


class CompanySetting(Base):
    __tablename__ = "company_setting"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("date_calendar IN ('gregorian', 'roc')", name="date_calendar"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The security company's name, printed at the head of reports; empty: not printed.
    company_name: Mapped[str] = mapped_column(String(200), server_default="", default="")
    #: How printed reports and sheets write dates: one of CALENDARS.
    date_calendar: Mapped[str] = mapped_column(
        String(10), server_default="gregorian", default="gregorian"
    )
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    #: The logo printed at the head of sheets, and the seal stamped on approved ones; none: not
    #: printed. Removing one clears this, never the image (approved sheets keep theirs).
    logo_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_image.id", ondelete="RESTRICT"), nullable=True
    )
    seal_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_image.id", ondelete="RESTRICT"), nullable=True
    )

    logo_image = relationship("CompanyImage", foreign_keys=[logo_image_id])
    seal_image = relationship("CompanyImage", foreign_keys=[seal_image_id])


#: The company's pictures: its logo (head of every sheet) and its seal (公司章, stamped beside
#: the approver's signature on approved sheets).
IMAGE_KINDS = ("logo", "seal")


class CompanyImage(Base):
    """An uploaded logo or seal, re-encoded, stored under UPLOAD_DIR and never changed: a new
    upload is a new row, so a sheet approved with an image keeps it after the next upload."""

    __tablename__ = "company_image"
    __table_args__ = (CheckConstraint("kind IN ('logo', 'seal')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One of IMAGE_KINDS.
    kind: Mapped[str] = mapped_column(String(10))
    #: SHA-256 of the stored (re-encoded) file: the ETag and the URL's version.
    sha256: Mapped[str] = mapped_column(String(64))
    #: Path below UPLOAD_DIR; never below static/.
    path: Mapped[str] = mapped_column(String(200))
    #: image/png (transparency kept: a seal is stamped over the signature line) or image/jpeg.
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
