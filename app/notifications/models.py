"""Notification: one message to one user, read or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        # The bell's list, newest first, and its unread count on every page.
        Index("ix_notification_user_id_created_at", "user_id", "created_at"),
        Index("ix_notification_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    #: Message key with parameters, rendered in the reader's language (see notifications.messages).
    kind: Mapped[str] = mapped_column(String(40))
    #: The same event never notifies the same person twice, e.g. "incident:12:high".
    dedupe_key: Mapped[str] = mapped_column(String(120), index=True)
    #: Short parameters for the message, e.g. the site's name (never confidential values).
    subject: Mapped[str] = mapped_column(String(200), default="")
    #: Where a tap leads.
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
