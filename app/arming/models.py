"""Opening hours of a site, its arm/disarm events, and the integrations that post them."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_uuid, utcnow

#: arm 設定, disarm 解除.
KINDS = ("arm", "disarm")
#: Where an event came from: the monitoring centre's API, a CSV import, typed by hand.
SOURCES = ("api", "csv", "manual")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class OpeningHours(Base):
    """One weekday of a site's opening hours (Taipei wall clock). A site with no rows is not
    monitored for arming; with rows, each weekday is open from `opens_at` to `closes_at` on the
    same day, or closed all day (then it should stay armed). Spans past midnight are refused."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("site_id", "weekday", name="site_weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "is_closed OR (opens_at IS NOT NULL AND closes_at IS NOT NULL"
            " AND opens_at < closes_at)",
            name="span",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    #: Monday 0 … Sunday 6 (Python's weekday()).
    weekday: Mapped[int]
    #: Closed all day: no opening, so any disarm that day is out of hours.
    is_closed: Mapped[bool] = mapped_column(default=False, server_default=false())
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]


class ArmIntegration(Base):
    """A monitoring centre's connection: its token (kept only as a SHA-256 hash) may post
    events for its sites until revoked."""

    __tablename__ = "arm_integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token, hex. The token itself is shown once, at creation, and never kept.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, to tell integrations apart (not enough to guess it).
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    created_by = relationship("User", foreign_keys=[created_by_id])
    sites = relationship("Site", secondary="arm_integration_site", order_by="Site.code")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ArmIntegrationSite(Base):
    """A site an integration may post events for."""

    __tablename__ = "arm_integration_site"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("arm_integration.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ArmEvent(Base):
    """A site armed (設定) or disarmed (解除) at an instant, as the panel reported it."""

    __tablename__ = "arm_event"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        CheckConstraint(f"source IN {_in(SOURCES)}", name="source"),
        # The monitoring centre re-sends an event it is unsure of: one row per its own id.
        UniqueConstraint("integration_id", "external_id", name="integration_external_id"),
        Index("ix_arm_event_site_occurred", "site_id", "occurred_at"),
        Index("ix_arm_event_out_of_hours_open", "is_out_of_hours", "out_of_hours_notified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    #: One of KINDS.
    kind: Mapped[str] = mapped_column(String(10))
    #: When the panel was armed or disarmed (UTC).
    occurred_at: Mapped[datetime]
    #: One of SOURCES.
    source: Mapped[str] = mapped_column(String(10))
    #: The panel's user number (使用者編號) that armed or disarmed: not a secret, never a code.
    user_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("arm_integration.id", ondelete="RESTRICT")
    )
    #: The sender's own id of the event (the API's idempotency key; a CSV's optional column).
    external_id: Mapped[str | None] = mapped_column(String(100))
    #: Who typed or imported it (None for the API).
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A disarm outside the site's opening hours as they were when it was recorded.
    is_out_of_hours: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The out-of-hours disarm was notified then (once per event).
    out_of_hours_notified_at: Mapped[datetime | None]

    site = relationship("Site")
    entered_by = relationship("User", foreign_keys=[entered_by_id])
    integration = relationship("ArmIntegration")
