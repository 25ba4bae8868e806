"""What /healthz and /metrics report about the background work, read in one statement.

The jobs runner's last run (the newest start of any job: a live runner starts one every
minute), the e-mail and push outboxes (what is still to be sent: not sent, not given up, not
too old to send, to a user who can receive it), and the audit chain's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.jobs.models import JobState
from app.notifications import push
from app.notifications import services as notifications
from app.notifications.models import Notification, PushDelivery, PushSubscription

#: The runner is stale when no job has started for this long (it ticks every minute).
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Outbox:
    enabled: bool
    unsent: int
    oldest: datetime | None

    def oldest_seconds(self, now: datetime) -> int | None:
        return None if self.oldest is None else max(0, int((now - self.oldest).total_seconds()))


@dataclass(frozen=True)
class Health:
    now: datetime
    jobs_last_run: datetime | None
    mail: Outbox
    push: Outbox
    audit_events: int

    @property
    def jobs_stale(self) -> bool:
        return self.jobs_last_run is None or self.now - self.jobs_last_run > STALE_AFTER


def _mail_unsent(now: datetime) -> tuple:
    with_address = select(User.id).where(
        User.is_active.is_(True), User.email.is_not(None), User.email != ""
    )
    return (
        Notification.emailed_at.is_(None),
        Notification.mail_attempts < notifications.MAIL_MAX_ATTEMPTS,
        Notification.created_at >= now - notifications.MAIL_MAX_AGE,
        Notification.user_id.in_(with_address),
    )


def _push_unsent(now: datetime) -> tuple:
    active = (
        select(PushSubscription.id)
        .join(User, User.id == PushSubscription.user_id)
        .where(User.is_active.is_(True))
    )
    return (
        PushDelivery.sent_at.is_(None),
        PushDelivery.attempts < push.MAX_ATTEMPTS,
        PushDelivery.created_at >= now - push.MAX_AGE,
        PushDelivery.subscription_id.in_(active),
    )


def read(now: datetime | None = None) -> Health:
    """One SELECT of scalar subqueries: cheap enough for every load balancer probe."""
    now = now or utcnow()
    mail_on = bool(current_app.config.get("SMTP_URL"))
    push_on = bool(current_app.config.get("WEB_PUSH"))
    mail = _mail_unsent(now)
    pushes = _push_unsent(now)
    columns = [
        select(func.max(JobState.last_started_at)).scalar_subquery(),
        select(func.max(AuditEvent.seq)).scalar_subquery(),
    ]
    if mail_on:
        columns += [
            select(func.count()).select_from(Notification).where(*mail).scalar_subquery(),
            select(func.min(Notification.created_at)).where(*mail).scalar_subquery(),
        ]
    if push_on:
        columns += [
            select(func.count()).select_from(PushDelivery).where(*pushes).scalar_subquery(),
            select(func.min(PushDelivery.created_at)).where(*pushes).scalar_subquery(),
        ]
    row = list(db.session.execute(select(*columns)).one())
    last_run, audit_events = row[0], row[1] or 0
    rest = row[2:]
    mail_box = Outbox(True, rest[0] or 0, rest[1]) if mail_on else Outbox(False, 0, None)
    rest = rest[2:] if mail_on else rest
    push_box = Outbox(True, rest[0] or 0, rest[1]) if push_on else Outbox(False, 0, None)
    return Health(now, last_run, mail_box, push_box, audit_events)


def job_states() -> list[JobState]:
    return list(db.session.scalars(select(JobState).order_by(JobState.name)))
