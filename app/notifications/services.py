"""Notify people in the app (the bell), by e-mail when SMTP_URL is set, and by Web Push.

A notification is written in the transaction of the event that caused it, with its pushes
(app/notifications/push.py). Neither its e-mail nor its push is sent by the request: the jobs
runner's mail and push jobs (`flask jobs run`) send the outboxes within a minute, claiming
each row first so that nothing goes twice (see claim_mail).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, or_, select, update

from app import links
from app.auth import policy
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.notifications import outbox, push

# MESSAGES is named here too: features add their kinds to notifications.MESSAGES.
from app.notifications.messages import MESSAGES, message  # noqa: F401
from app.notifications.models import Notification
from app.pagination import Page, paginate

log = logging.getLogger(__name__)


def site_watchers(site_id: int) -> list[User]:
    """Who hears about a site's serious events: its supervisors and every manager."""
    return list(db.session.scalars(select(User).where(policy.site_watchers_clause(User, site_id))))


def site_supervisors_or_managers(site_id: int) -> list[User]:
    """Who does a site's routine work: its supervisors, or every manager if it has none."""
    supervisors = list(
        db.session.scalars(select(User).where(policy.site_supervisors_clause(User, site_id)))
    )
    if supervisors:
        return supervisors
    return list(db.session.scalars(select(User).where(policy.all_sites_staff_clause(User))))


def notify(
    users: list[User], *, kind: str, dedupe_key: str, subject: str, link: str
) -> list[Notification]:
    """One notification per user for this event; an event already notified is not repeated."""
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.dedupe_key == dedupe_key)
        )
    )
    created = []
    for user in users:
        if user.id in already:
            continue
        note = Notification(
            user_id=user.id, kind=kind, dedupe_key=dedupe_key, subject=subject[:200], link=link
        )
        db.session.add(note)
        created.append(note)
    db.session.flush()
    push.queue(created)  # its push to the users' devices, in this same transaction
    return created


def notified_keys(keys: list[str]) -> set[str]:
    """Which of these events have notified someone already (in one query per 500 keys)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            db.session.scalars(
                select(Notification.dedupe_key)
                .where(Notification.dedupe_key.in_(keys[start : start + 500]))
                .distinct()
            )
        )
    return found


def unread_count(user) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def list_for(user, *, page: int = 1, per_page: int = 25) -> Page:
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc())
    )
    return paginate(stmt, page=page, per_page=per_page)


def mark_all_read(user) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


# ---------------------------------------------------------------- e-mail outbox

#: Rows claimed at a time; the claim is committed before any of their mail leaves.
MAIL_BATCH = 20
#: Sends tried per notification before it is given up (the bell still shows it).
MAIL_MAX_ATTEMPTS = 8
#: A claim this old belongs to a runner that died while sending: the row may be tried again.
MAIL_CLAIM_TIMEOUT = timedelta(minutes=15)
#: Older notifications are not mailed (turning SMTP on must not mail last month's alerts).
MAIL_MAX_AGE = timedelta(days=1)


def mail_backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed send: 2, 4, 8 … minutes, at most 6 hours."""
    return min(timedelta(minutes=2**attempts), timedelta(hours=6))


def _mailable(now: datetime) -> tuple:
    """Conditions on the row itself for it to be claimable now."""
    return (
        Notification.emailed_at.is_(None),
        Notification.mail_attempts < MAIL_MAX_ATTEMPTS,
        Notification.created_at >= now - MAIL_MAX_AGE,
        or_(Notification.mail_retry_at.is_(None), Notification.mail_retry_at <= now),
        or_(
            Notification.mail_claimed_at.is_(None),
            Notification.mail_claimed_at < now - MAIL_CLAIM_TIMEOUT,
        ),
    )


def claim_mail(now: datetime, *, limit: int = MAIL_BATCH) -> list[int]:
    """Claim up to `limit` unsent notifications of users with an address for this runner;
    returns their ids (app/notifications/outbox.py says how a claim stays exclusive)."""
    with_address = select(User.id).where(
        User.is_active.is_(True), User.email.is_not(None), User.email != ""
    )
    return outbox.claim(
        Notification,
        sendable=_mailable(now),
        eligible=Notification.user_id.in_(with_address),
        values={"mail_claimed_at": now, "mail_attempts": Notification.mail_attempts + 1},
        limit=limit,
    )


def _smtp(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    timeout = 10
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(
            parts.hostname, parts.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        if parts.scheme == "smtp+starttls":
            server.starttls(context=ssl.create_default_context())
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


def _mail(note: Notification, user: User) -> EmailMessage:
    with force_locale(user.locale or "zh_Hant_TW"):
        text = message(note)
    # BASE_URL only: the jobs runner has no request (and a request's Host is never used).
    base = links.public_base_url() or ""
    mail = EmailMessage()
    mail["From"] = current_app.config.get("MAIL_FROM") or "guardpost@localhost"
    mail["To"] = user.email
    mail["Subject"] = f"[Guardpost] {text}"
    mail.set_content(f"{text}\n\n{base}{note.link}\n")
    return mail


def _release_failed(note: Notification, now: datetime, error: Exception) -> None:
    """A send failed: retry after a backoff, or give up after MAIL_MAX_ATTEMPTS."""
    note.mail_claimed_at = None
    reason = type(error).__name__
    if note.mail_attempts >= MAIL_MAX_ATTEMPTS:
        note.mail_retry_at = None
        log.error(
            "mail notification=%s given_up attempts=%s error=%s",
            note.id,
            note.mail_attempts,
            reason,
        )
    else:
        note.mail_retry_at = now + mail_backoff(note.mail_attempts)
        log.warning(
            "mail notification=%s failed attempts=%s retry_at=%s error=%s",
            note.id,
            note.mail_attempts,
            note.mail_retry_at.isoformat(),
            reason,
        )


def send_claimed_mail(ids: list[int], now: datetime) -> int:
    """Send these claimed notifications; returns how many left. Flushes, never commits.

    Each row ends sent (emailed_at), or released with a later retry time, or given up.
    A refused recipient fails only its own mail; a dead server fails the rest of the batch.
    """
    url = current_app.config.get("SMTP_URL")
    if not url or not ids:
        return 0
    pending = list(
        db.session.execute(
            select(Notification, User)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        ).all()
    )
    sent = 0
    try:
        with _smtp(url) as server:
            while pending:
                note, user = pending[0]
                if user.email:
                    try:
                        server.send_message(_mail(note, user))
                    except (
                        smtplib.SMTPRecipientsRefused,
                        smtplib.SMTPSenderRefused,
                        smtplib.SMTPDataError,
                    ) as exc:
                        _release_failed(note, now, exc)
                    else:
                        note.emailed_at, note.mail_claimed_at, note.mail_retry_at = now, None, None
                        sent += 1
                else:  # the address was removed since the claim: nothing to send to
                    note.mail_claimed_at = None
                pending.pop(0)
    except (OSError, smtplib.SMTPException) as exc:
        for note, _user in pending:
            _release_failed(note, now, exc)
    db.session.flush()
    return sent
