"""The notification messages by kind, rendered in the reader's language.

Features with kinds of their own add them here (e.g. custody's "key_overdue").
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.notifications.models import Notification

MESSAGES = {
    "incident_high": _l("High-severity incident at %(subject)s"),
    "incident_critical": _l("Critical incident at %(subject)s"),
    "alarm_late": _l("Alarm response running late at %(subject)s"),
    "alarm_dispatched": _l("You are dispatched to an alarm at %(subject)s"),
    "repair_overdue": _l("Repair overdue at %(subject)s"),
    "briefing_reminder": _l("Please read and acknowledge: %(subject)s"),
    "briefing_published": _l("New briefing: %(subject)s"),
    "maintenance_due": _l("Maintenance due at %(subject)s"),
    "training_hours_short": _l("On-the-job training below 4 hours this month: %(subject)s"),
}


def message(notification: Notification) -> str:
    return str(MESSAGES[notification.kind]) % {"subject": notification.subject}
