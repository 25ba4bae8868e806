"""ControlRecordSheet: one version of a month's control-record sheet for a site or a client."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

#: prepared (awaiting the manager) → approved (figures frozen) → released (the client sees it)
#: → acknowledged (the client signed for it); returned goes back to the supervisor; a released
#: sheet corrected by a newer version is superseded once that version is released.
SHEET_STATUSES = ("prepared", "returned", "approved", "released", "acknowledged", "superseded")
#: Statuses in which the supervisor's remarks may still change (the figures are live).
OPEN_STATUSES = ("prepared", "returned")
#: Statuses the client has been given (released_at is set).
RELEASED_STATUSES = ("released", "acknowledged", "superseded")
SCOPES = ("site", "client")
#: Statuses that carry the company's seal beside the approver's signature.
SEALED_STATUSES = ("approved", "released", "acknowledged")


class ControlRecordSheet(Base):
    __tablename__ = "control_record_sheet"
    __table_args__ = (
        CheckConstraint(
            "status IN ('prepared', 'returned', 'approved', 'released', 'acknowledged', "
            "'superseded')",
            name="status",
        ),
        CheckConstraint("scope IN ('site', 'client')", name="scope"),
        # One version number per subject and month: preparing twice makes one sheet.
        UniqueConstraint("subject", "month", "version"),
        Index("ix_control_record_sheet_client_id_month", "client_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "site": one site's month; "client": the roll-up of all the client's sites.
    scope: Mapped[str] = mapped_column(String(10), default="site")
    #: "site:12" or "client:3": what the sheet is about (the uniqueness key).
    subject: Mapped[str] = mapped_column(String(30))
    #: The site (site sheets only).
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="RESTRICT"), index=True
    )
    #: The client (always: the site's client for a site sheet), who may read it once released.
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"))
    #: The first day of the Taipei calendar month.
    month: Mapped[date]
    #: 1, then 2, 3… for each correction of an approved sheet.
    version: Mapped[int] = mapped_column(default=1)
    #: The version this one corrects, and why.
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("control_record_sheet.id", ondelete="RESTRICT")
    )
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    #: One of SHEET_STATUSES.
    status: Mapped[str] = mapped_column(String(20), default="prepared", index=True)
    #: The supervisor's remarks (督導意見).
    remarks: Mapped[str] = mapped_column(Text, default="")
    #: The manager's comment when he returned it (required then).
    return_comment: Mapped[str] = mapped_column(Text, default="")
    #: The figures frozen at approval (JSON of services.compute's snapshot); "" before.
    snapshot: Mapped[str] = mapped_column(Text, default="")
    prepared_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    prepared_at: Mapped[datetime] = mapped_column(default=utcnow)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    returned_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    released_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT")
    )
    acknowledged_at: Mapped[datetime | None]
    #: The company's logo and seal at approval (company.CompanyImage), frozen with the figures:
    #: a later upload does not change an approved sheet. Before approval the sheet shows the
    #: current logo and no seal.
    logo_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_image.id", ondelete="RESTRICT")
    )
    seal_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_image.id", ondelete="RESTRICT")
    )

    site = relationship("Site")
    client = relationship("Client")
    prepared_by = relationship("User", foreign_keys=[prepared_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    released_by = relationship("User", foreign_keys=[released_by_id])
    returned_by = relationship("User", foreign_keys=[returned_by_id])
    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id])
    logo_image = relationship("CompanyImage", foreign_keys=[logo_image_id])
    seal_image = relationship("CompanyImage", foreign_keys=[seal_image_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_frozen(self) -> bool:
        return bool(self.snapshot)

    @property
    def is_sealed(self) -> bool:
        """The company's seal belongs on the sheet: approved and not superseded by a correction
        (a superseded version stays readable, but no longer as the company's sealed word)."""
        return self.status in SEALED_STATUSES

    @property
    def is_released(self) -> bool:
        return self.released_at is not None
