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


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


STATUSES = ("open", "in_progress", "resolved", "closed")
#: Allowed status changes; anything else is refused.
TRANSITIONS = {
    "open": {"in_progress", "resolved"},
    "in_progress": {"resolved"},
    "resolved": {"closed", "in_progress"},
    "closed": set(),
}
#: What set the alarm off (the monitoring centre's signal).
SIGNAL_TYPES = (
    "intrusion",  # a zone of the intrusion system: door contact, PIR detector, glass break
    "panic",  # panic / duress button (緊急按鈕)
    "fire",
    "tamper",
    "power",  # AC fail or low battery
    "communication",  # communication fail: the panel stopped reporting
    "other",
)
#: How the client answered the call-back: the call-back password (通話密語) given and right,
#: given and wrong (a possible duress), or nobody reached.
CALLBACK_RESULTS = ("matched", "not_matched", "not_reached")
#: Why the alarm went off, once known. Real events: intrusion (theft, robbery), fire, another
#: public-safety event (保全業法 §4-1). The rest found nothing real.
ALARM_CAUSES = (
    "intrusion",
    "fire",
    "public_safety",
    "user_error",
    "equipment_fault",
    "environment",
    "unknown",
)
#: THE false-alarm rule: a closed alarm is a false alarm when nothing real was found — user
#: error (使用者操作不當), an equipment fault, the environment (weather, animals, power) or an
#: unknown cause with no trace of intrusion (原因不明). Intrusion, fire and other public-safety
#: events are real. The rate per site and cause (figures page) counts by this set alone.
FALSE_ALARM_CAUSES = frozenset({"user_error", "equipment_fault", "environment", "unknown"})
#: 保全業法 §4-1: on finding theft, robbery, fire or another public-safety event the police are
#: told at once (receiving unit and case number recorded); a fire goes to 119 too.
POLICE_CAUSES = frozenset({"intrusion", "fire", "public_safety"})
FIRE_CAUSES = frozenset({"fire"})
#: Signals that mean the intrusion system was armed: the alarm is closed only after the
#: re-arming is confirmed (a site left disarmed after an alarm is unprotected).
REARM_SIGNALS = frozenset({"intrusion"})


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed')", name="status"),
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        # A site's incidents newest first (lists scoped to the user's sites).
        # The category rides along for the dashboard's counts by category.
        Index("ix_incident_site_occurred_category", "site_id", "occurred_at", "category"),
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
    #: 保全業法 §4-1: when the police were told, the unit that took the report (受理單位) and
    #: the case number it gave (案號, which clients and insurers ask for; it may come later).
    police_notified_at: Mapped[datetime | None]
    police_unit: Mapped[str] = mapped_column(String(100), default="", server_default="")
    police_case_number: Mapped[str] = mapped_column(String(50), default="", server_default="")
    #: A fire is also reported to 119.
    fire_notified_at: Mapped[datetime | None]
    #: Shared with the client in the portal: since when (None: not shared), by whom, and what
    #: the client reads — a summary written for him, never the narrative, which may name people
    #: (個人資料保護法: need to know). Unsharing clears the first two and keeps the summary.
    shared_with_client_at: Mapped[datetime | None]
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    client_summary: Mapped[str] = mapped_column(Text, default="", server_default="")

    site = relationship("Site")
    reporter = relationship("User", foreign_keys=[reporter_id])
    shared_by = relationship("User", foreign_keys=[shared_by_id])
    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.at"
    )
    photos: Mapped[list[IncidentPhoto]] = relationship(order_by="IncidentPhoto.id")

    @property
    def is_shared_with_client(self) -> bool:
        return self.shared_with_client_at is not None

    @property
    def needs_police_report(self) -> bool:
        """A police-reportable category whose report has not been recorded yet."""
        return self.category in POLICE_CATEGORIES and self.police_notified_at is None

    @property
    def needs_fire_report(self) -> bool:
        """A fire whose call to 119 has not been recorded yet."""
        return self.category == "fire" and self.fire_notified_at is None


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
    #: What the entry records, if anything but a note or a status: "client_notified",
    #: "police_notified", "fire_notified" (119), or "police_case_number" (added later).
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
    """An alarm from the monitoring centre and its procedure: received (signal, zone) → the
    call-back to the client → dispatched → arrived (QR) → findings → police / 119 where the law
    asks → re-armed → closed (處理完畢) with its cause."""

    __tablename__ = "alarm_response"
    __table_args__ = (
        CheckConstraint(f"signal_type IN {_in(SIGNAL_TYPES)}", name="signal_type"),
        CheckConstraint(f"callback_result IN {_in(CALLBACK_RESULTS)}", name="callback_result"),
        CheckConstraint(f"cause IN {_in(ALARM_CAUSES)}", name="cause"),
        # Lists newest first: a site's, a guard's; running alarms (cleared_at null) oldest first.
        # The times and cause ride along: the dashboard's counts and percentiles read the index.
        Index(
            "ix_alarm_response_site_received_figures",
            "site_id",
            "received_at",
            "arrived_at",
            "cleared_at",
            "cause",
        ),
        Index("ix_alarm_response_guard_id_received_at", "guard_id", "received_at"),
        Index("ix_alarm_response_cleared_at_received_at", "cleared_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    guard_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    #: One of SIGNAL_TYPES; None for alarms recorded before signals were.
    signal_type: Mapped[str | None] = mapped_column(String(20))
    #: The zone as the panel reports it, e.g. "03 後門磁簧".
    zone: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: The call-back: when the client was called, who answered, whether the password matched.
    callback_at: Mapped[datetime | None]
    callback_answered_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: One of CALLBACK_RESULTS.
    callback_result: Mapped[str | None] = mapped_column(String(12))
    dispatched_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    #: What the guard found on site, and when it was recorded.
    findings: Mapped[str] = mapped_column(Text, default="", server_default="")
    findings_at: Mapped[datetime | None]
    #: 保全業法 §4-1: when the police were told, the unit that took it, its case number.
    police_notified_at: Mapped[datetime | None]
    police_unit: Mapped[str] = mapped_column(String(100), default="", server_default="")
    police_case_number: Mapped[str] = mapped_column(String(50), default="", server_default="")
    #: A fire also goes to 119.
    fire_notified_at: Mapped[datetime | None]
    #: The system armed again, confirmed (by the signal at the centre), and who armed it.
    rearmed_at: Mapped[datetime | None]
    rearmed_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: When the alarm was closed (處理完畢; the first cut called it "cleared": never 解除,
    #: which is to disarm).
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
    def closed_at(self) -> datetime | None:
        """When it was closed (處理完畢)."""
        return self.cleared_at

    @property
    def is_false_alarm(self) -> bool:
        """Closed, and nothing real found (FALSE_ALARM_CAUSES)."""
        return self.cleared_at is not None and self.cause in FALSE_ALARM_CAUSES

    def missing_before_close(self, cause: str) -> list[str]:
        """What must be recorded before this alarm is closed with `cause`: the police
        notification for a §4-1 event, 119 for a fire, re-arming after an intrusion signal."""
        missing = []
        if cause in POLICE_CAUSES and not self.police_notified_at:
            missing.append("police")
        if cause in FIRE_CAUSES and not self.fire_notified_at:
            missing.append("fire")
        if self.signal_type in REARM_SIGNALS and not self.rearmed_at:
            missing.append("rearm")
        return missing

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
