"""Briefing (versioned) → Acknowledgement; TrainingSession → TrainingAttendance."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

KINDS = ("pre_duty", "notice", "work_order", "pledge")
AUDIENCES = ("all_guards", "sites", "users", "confidential")
#: first_aid (K13), fire_safety (K14, also 施行細則 §8's 防火), personal_data (K15), then the
#: other topics 施行細則 §8 names: 法令常識 (law), 執行技巧 (technique), 防盜 (anti_theft),
#: 防搶 (anti_robbery), 防災 (disaster).
TOPICS = (
    "first_aid",
    "fire_safety",
    "personal_data",
    "law",
    "technique",
    "anti_theft",
    "anti_robbery",
    "disaster",
    "on_the_job",
    "other",
)
#: 保全業法 §10-2: pre-employment training (at least a week) and on-the-job training
#: (at least 4 hours a month per guard).
TRAINING_KINDS = ("on_the_job", "pre_employment")
#: The most one session may count (a day's training).
MAX_SESSION_HOURS = 12
#: On-the-job hours a guard needs each calendar month (保全業法 §10-2).
MONTHLY_HOURS = 4
#: "At least one week" of pre-employment training, read as five eight-hour days.
PRE_EMPLOYMENT_HOURS = 40


class Briefing(Base):
    __tablename__ = "briefing"
    __table_args__ = (
        CheckConstraint("kind IN ('pre_duty', 'notice', 'work_order', 'pledge')", name="kind"),
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    #: Plain text; shown with line breaks and links, never as markup.
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    #: Raised by a substantive edit: everyone acknowledges the new version again.
    version: Mapped[int] = mapped_column(default=1)
    requires_ack: Mapped[bool] = mapped_column(default=True)
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    #: all_guards, sites (guards of the chosen sites), users (chosen people), confidential
    #: (everyone who may see confidential information: the pledge's audience).
    audience: Mapped[str] = mapped_column(String(20), default="sites")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User")
    sites = relationship("Site", secondary="briefing_site", order_by="Site.code")
    users = relationship("User", secondary="briefing_user")
    attachments: Mapped[list[BriefingAttachment]] = relationship(order_by="BriefingAttachment.id")


class BriefingSite(Base):
    __tablename__ = "briefing_site"
    __table_args__ = (UniqueConstraint("briefing_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(
        ForeignKey("briefing.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)


class BriefingUser(Base):
    __tablename__ = "briefing_user"
    __table_args__ = (UniqueConstraint("briefing_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(
        ForeignKey("briefing.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)


class BriefingAttachment(Base):
    """An image (through the photo pipeline) or a PDF attached to a briefing."""

    __tablename__ = "briefing_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(
        ForeignKey("briefing.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"))
    #: For PDFs: path below UPLOAD_DIR, name shown, SHA-256.
    path: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")

    photo = relationship("Photo")


class Acknowledgement(Base):
    __tablename__ = "acknowledgement"
    __table_args__ = (UniqueConstraint("briefing_id", "version", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(
        ForeignKey("briefing.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User")


class TrainingSession(Base):
    __tablename__ = "training_session"
    __table_args__ = (
        CheckConstraint(
            "topic IN ('first_aid', 'fire_safety', 'personal_data', 'law', 'technique',"
            " 'anti_theft', 'anti_robbery', 'disaster', 'on_the_job', 'other')",
            name="topic",
        ),
        CheckConstraint("kind IN ('on_the_job', 'pre_employment')", name="kind"),
        CheckConstraint("hours > 0", name="hours_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(20))
    #: on_the_job (the monthly 4 hours) or pre_employment (the week before starting).
    kind: Mapped[str] = mapped_column(String(20), default="on_the_job", server_default="on_the_job")
    held_on: Mapped[date]
    #: Duration in hours, to the quarter hour or finer (a decimal, read back as a float).
    hours: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False))
    trainer: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT")
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attendees = relationship("User", secondary="training_attendance", order_by="User.display_name")
    evidence = relationship("Photo")


class TrainingAttendance(Base):
    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
