"""Notification: one message to one user, read or not; also the e-mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
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
    # The e-mail outbox (the jobs runner sends it; see app/notifications/services.py).
    #: When the mail left; empty while unsent.
    emailed_at: Mapped[datetime | None]
    #: Sends tried so far (counted when a runner claims the row, so a crash counts too).
    mail_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: Set while a runner is sending it; other runners skip the row until it is stale.
    mail_claimed_at: Mapped[datetime | None]
    #: After a failed send: not to be tried again before this instant.
    mail_retry_at: Mapped[datetime | None]
