"""Notify people in the app (the bell) and, when SMTP_URL is set, by e-mail."""

from __future__ import annotations

import smtplib
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app, g, has_request_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.auth import policy
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification
from app.pagination import Page, paginate

MESSAGES = {
    "incident_high": _l("High-severity incident at %(subject)s"),
    "incident_critical": _l("Critical incident at %(subject)s"),
    "alarm_late": _l("Alarm response running late at %(subject)s"),
    "repair_overdue": _l("Repair overdue at %(subject)s"),
    "briefing_reminder": _l("Please read and acknowledge: %(subject)s"),
}


def message(notification: Notification) -> str:
    return str(MESSAGES[notification.kind]) % {"subject": notification.subject}


def site_watchers(site_id: int) -> list[User]:
    """Who hears about a site's serious events: its supervisors and every manager."""
    return list(db.session.scalars(select(User).where(policy.site_watchers_clause(User, site_id))))


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
    if created and has_request_context():
        g.setdefault("pending_notifications", []).extend(n.id for n in created)
    return created


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


# ---------------------------------------------------------------- e-mail


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


def deliver_email(ids: list[int]) -> int:
    """E-mail these notifications to users who have an address; returns how many were sent.

    A failure is logged and leaves them unsent (emailed_at stays empty); nothing in the
    request depends on the mail server.
    """
    url = current_app.config.get("SMTP_URL")
    if not url or not ids:
        return 0
    rows = db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids), Notification.emailed_at.is_(None), User.email.is_not(None))
    ).all()
    if not rows:
        return 0
    sender = current_app.config.get("MAIL_FROM") or "guardpost@localhost"
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    sent = 0
    try:
        with _smtp(url) as server:
            for note, user in rows:
                with force_locale(user.locale or "zh_Hant_TW"):
                    text = message(note)
                mail = EmailMessage()
                mail["From"] = sender
                mail["To"] = user.email
                mail["Subject"] = f"[Guardpost] {text}"
                mail.set_content(f"{text}\n\n{base}{note.link}\n")
                server.send_message(mail)
                note.emailed_at = utcnow()
                sent += 1
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("notification e-mail failed")
    db.session.commit()
    return sent


def deliver_pending_after_request(response):
    """after_request: mail what this request notified, once its transaction is committed.

    The mail goes out from a thread: a slow or dead mail server never holds up the page.
    """
    ids = g.pop("pending_notifications", None)
    if ids and response.status_code < 400 and current_app.config.get("SMTP_URL"):
        app = current_app._get_current_object()
        threading.Thread(target=_deliver_in_thread, args=(app, ids), daemon=True).start()
    return response


def _deliver_in_thread(app, ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver_email(ids)
        finally:
            db.session.remove()
