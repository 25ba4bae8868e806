"""Incident → IncidentUpdate (timeline), IncidentPhoto; AlarmResponse."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

CATEGORIES = (
    "intrusion",
    "false_alarm",
    "equipment_fault",
    "fire",
    "medical",
    "suspicious_person",
    "theft",
    "robbery",
    "other",
)
#: 保全業法 Art. 4-1: robbery, theft, fire and other public-order events go to the police.
POLICE_CATEGORIES = frozenset({"intrusion", "theft", "robbery", "fire"})
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in_progress", "resolved", "closed")
#: Allowed status changes; anything else is refused.
TRANSITIONS = {
    "open": {"in_progress", "resolved"},
    "in_progress": {"resolved"},
    "resolved": {"closed", "in_progress"},
    "closed": set(),
}
#: User error (arming by mistake, a wrong code) is the commonest cause of a false alarm.
ALARM_CAUSES = ("intrusion", "false_alarm", "equipment", "environment", "user_error", "unknown")


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed')", name="status"),
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        # A site's incidents newest first (lists scoped to the user's sites).
        Index("ix_incident_site_id_occurred_at", "site_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made on the device: the idempotency key of a retried or queued report.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    #: One of CATEGORIES.
    category: Mapped[str] = mapped_column(String(30))
    #: One of SEVERITIES.
    severity: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What happened.
    narrative: Mapped[str] = mapped_column(Text)
    #: What was done about it.
    actions_taken: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    client_notified_at: Mapped[datetime | None]
    police_notified_at: Mapped[datetime | None]

    site = relationship("Site")
    reporter = relationship("User")
    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.at"
    )
    photos: Mapped[list[IncidentPhoto]] = relationship(order_by="IncidentPhoto.id")

    @property
    def needs_police_report(self) -> bool:
        """A police-reportable category whose report has not been recorded yet."""
        return self.category in POLICE_CATEGORIES and self.police_notified_at is None


class IncidentUpdate(Base):
    """One entry of an incident's timeline: a note, a status change, a notification."""

    __tablename__ = "incident_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    #: "client_notified" or "police_notified" when the entry records one.
    event: Mapped[str | None] = mapped_column(String(30))

    incident: Mapped[Incident] = relationship(back_populates="updates")
    author = relationship("User")


class IncidentPhoto(Base):
    __tablename__ = "incident_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"), unique=True)

    photo = relationship("Photo")


class AlarmResponse(Base):
    """An alarm from the monitoring centre: received → dispatched → arrived → cleared."""

    __tablename__ = "alarm_response"
    __table_args__ = (
        # Lists newest first: a site's, a guard's; running alarms (cleared_at null) oldest first.
        Index("ix_alarm_response_site_id_received_at", "site_id", "received_at"),
        Index("ix_alarm_response_guard_id_received_at", "guard_id", "received_at"),
        Index("ix_alarm_response_cleared_at_received_at", "cleared_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    guard_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    dispatched_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    #: Set when the guard's QR check-in recorded the arrival.
    arrival_check_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("check_in.id", ondelete="SET NULL")
    )
    #: One of ALARM_CAUSES, once known.
    cause: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))

    site = relationship("Site")
    guard = relationship("User", foreign_keys=[guard_id])
    incident = relationship("Incident")

    @property
    def is_running(self) -> bool:
        return self.cleared_at is None

    @property
    def response_time(self) -> timedelta | None:
        """From the alarm to the guard on site."""
        return self.arrived_at - self.received_at if self.arrived_at else None

    def target(self) -> timedelta:
        return timedelta(minutes=self.site.arrival_target_minutes)

    def is_late(self, now: datetime) -> bool:
        """Arrived after the target, or no arrival before the target (or the clearing)."""
        reference = self.arrived_at or self.cleared_at or now
        return reference - self.received_at > self.target()
