"""RepairTicket (with its timeline) and MaintenanceLog."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

TICKET_STATUSES = ("reported", "dispatched", "fixed", "verified", "cancelled")
TICKET_TRANSITIONS = {
    "reported": {"dispatched", "fixed", "cancelled"},
    "dispatched": {"fixed", "cancelled"},
    "fixed": {"verified", "dispatched"},
    "verified": set(),
    "cancelled": set(),
}
OPEN_TICKET_STATUSES = ("reported", "dispatched", "fixed")


class RepairTicket(Base):
    __tablename__ = "repair_ticket"
    __table_args__ = (
        CheckConstraint(
            "status IN ('reported', 'dispatched', 'fixed', 'verified', 'cancelled')", name="status"
        ),
        CheckConstraint("source IN ('inspection', 'incident', 'manual')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment.id", ondelete="SET NULL")
    )
    #: inspection, incident or manual.
    source: Mapped[str] = mapped_column(String(20), default="manual")
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answer.id", ondelete="SET NULL"), unique=True
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    problem: Mapped[str] = mapped_column(Text)
    vendor: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="reported", index=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    fixed_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    site = relationship("Site")
    equipment = relationship("Equipment")
    reporter = relationship("User", foreign_keys=[reported_by_id])
    updates: Mapped[list[RepairUpdate]] = relationship(
        back_populates="ticket", order_by="RepairUpdate.at"
    )
    photos: Mapped[list[RepairPhoto]] = relationship(order_by="RepairPhoto.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES

    def is_overdue(self, today: date) -> bool:
        return (
            self.is_open
            and self.status != "fixed"
            and self.due_on is not None
            and self.due_on < today
        )


class RepairUpdate(Base):
    __tablename__ = "repair_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("repair_ticket.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[RepairTicket] = relationship(back_populates="updates")
    author = relationship("User")


class RepairPhoto(Base):
    """Photos carried over from the failed checklist item (or added later)."""

    __tablename__ = "repair_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("repair_ticket.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"))

    photo = relationship("Photo")


class MaintenanceLog(Base):
    """Maintenance done on a piece of equipment: moves its next due date."""

    __tablename__ = "maintenance_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="RESTRICT"), index=True
    )
    done_on: Mapped[date]
    done_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    work: Mapped[str] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    equipment = relationship("Equipment")
    done_by = relationship("User")
    photo = relationship("Photo")
