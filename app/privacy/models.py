"""NoticeAcknowledgement, PermissionReview, PrivacyIncident."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_uuid, utcnow


class NoticeAcknowledgement(Base):
    """A staff member was shown the collection notice (個資法 §8) of this version and said so."""

    __tablename__ = "notice_acknowledgement"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: The notice's version (app/privacy/notice.py NOTICE_VERSION) that was shown.
    version: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The address it was acknowledged from.
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    user = relationship("User")


class PermissionReview(Base):
    """A manager checked who may access a site's confidential information (施行細則 §12)."""

    __tablename__ = "permission_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: Copied at the time: the review still says who made it after the user is gone.
    reviewer_name: Mapped[str] = mapped_column(String(120), default="")
    #: How many people could access the site's confidential information when reviewed.
    people_count: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(1000), default="")

    site = relationship("Site")
    reviewer = relationship("User")


#: The steps of handling a personal-data incident, in order; each is recorded, or marked
#: not applicable with a reason, before the incident can be closed.
INCIDENT_STEPS = (
    "scope",  # the kinds of personal data and how many people
    "containment",
    "cause",
    "subjects_notified",  # 個資法 §12: tell the people concerned
    "authority_notified",
    "improvements",
)
INCIDENT_STATUSES = ("open", "closed")


class PrivacyIncident(Base):
    """A leak, loss or misuse of personal data and how it was handled (施行細則 §12 item 4)."""

    __tablename__ = "privacy_incident"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    discovered_at: Mapped[datetime] = mapped_column(index=True)
    #: What happened, in plain words.
    summary: Mapped[str] = mapped_column(Text)
    #: Step "scope": which kinds of personal data (names, phones, ID numbers, photos…).
    data_categories: Mapped[str] = mapped_column(Text, default="")
    #: Step "scope": how many data subjects (None: not known yet).
    subjects_count: Mapped[int | None]
    containment: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    subjects_notified_at: Mapped[datetime | None]
    #: How and what the people concerned were told.
    subjects_notice: Mapped[str] = mapped_column(Text, default="")
    authority_notified_at: Mapped[datetime | None]
    #: Which authority, and its case number if it gave one.
    authority: Mapped[str] = mapped_column(String(300), default="")
    improvements: Mapped[str] = mapped_column(Text, default="")
    #: Why a step does not apply (empty: it applies). One column per INCIDENT_STEPS entry.
    scope_na_reason: Mapped[str] = mapped_column(String(500), default="")
    containment_na_reason: Mapped[str] = mapped_column(String(500), default="")
    cause_na_reason: Mapped[str] = mapped_column(String(500), default="")
    subjects_notified_na_reason: Mapped[str] = mapped_column(String(500), default="")
    authority_notified_na_reason: Mapped[str] = mapped_column(String(500), default="")
    improvements_na_reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    created_by = relationship("User", foreign_keys=[created_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])

    def na_reason(self, step: str) -> str:
        return getattr(self, f"{step}_na_reason")

    def is_recorded(self, step: str) -> bool:
        """The step's own facts are written down (not counting a 'not applicable')."""
        if step == "scope":
            return bool(self.data_categories.strip()) and self.subjects_count is not None
        if step == "subjects_notified":
            return self.subjects_notified_at is not None
        if step == "authority_notified":
            return self.authority_notified_at is not None and bool(self.authority.strip())
        return bool(getattr(self, step).strip())

    def is_done(self, step: str) -> bool:
        return self.is_recorded(step) or bool(self.na_reason(step).strip())

    @property
    def steps_left(self) -> list[str]:
        return [step for step in INCIDENT_STEPS if not self.is_done(step)]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"
