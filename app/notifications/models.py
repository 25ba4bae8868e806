"""Notification: one message to one user, read or not; also the e-mail outbox, and Web Push:
the devices, the topics each user wants, and the push outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text, true
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


class PushSubscription(Base):
    """A device (a browser on a phone) that receives Web Push for its user.

    The endpoint and keys come from the browser's PushManager.subscribe(): the endpoint is the
    push service's address for this device, p256dh and auth encrypt what is sent to it (only
    the device can read it). One endpoint belongs to one user: whoever subscribed it last.
    """

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: The push service's URL for this device (https; a capability: never shown in full).
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    #: The device's P-256 public key (base64url), and its 16-byte auth secret (base64url).
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    #: The browser's User-Agent when it subscribed: the device list names it ("Android · Chrome").
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The last push the push service accepted for this device.
    last_success_at: Mapped[datetime | None]


class PushPreference(Base):
    """A user's choice for one push topic (dispatch, late alarm, …); no row means on."""

    __tablename__ = "push_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    #: One of notifications.push.TOPICS.
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    is_on: Mapped[bool] = mapped_column(default=True, server_default=true())


class PushDelivery(Base):
    """The push outbox: one notification to one device, sent by the jobs runner.

    Written in the transaction of the event (with its notification), claimed before it is
    sent so that nothing goes twice, retried with backoff; deleted with its device.
    """

    __tablename__ = "push_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "notification_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="CASCADE"), index=True
    )
    #: The notification it carries; empty for a test push from the settings page.
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the push service accepted it; empty while unsent.
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Sends tried so far (counted when a runner claims the row, so a crash counts too).
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: Set while a runner is sending it; other runners skip the row until it is stale.
    claimed_at: Mapped[datetime | None]
    #: After a failed send: not to be tried again before this instant.
    retry_at: Mapped[datetime | None]
