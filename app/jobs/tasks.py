"""The scheduled jobs. Each takes the instant of its turn and returns a count for the log.

Order matters within a minute: the jobs that notify run before the mail and push jobs, so
their notifications are mailed and pushed in the same pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app import device_requests
from app.arming import services as arming_services
from app.audit import services as audit_services
from app.briefings import compliance as training_compliance
from app.briefings import services as briefing_services
from app.custody import services as custody_services
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents import services as incident_services
from app.jobs.runner import Job
from app.maintenance import services as maintenance_services
from app.notifications import push
from app.notifications import services as notifications
from app.ops import backup as ops_backup
from app.vault import retention

#: At most this many claims of notifications.MAIL_BATCH rows in one run of the mail job.
MAIL_BATCHES_PER_RUN = 25
#: At most this many claims of push.BATCH rows in one run of the push job.
PUSH_BATCHES_PER_RUN = 25


def _taipei_date(now: datetime):
    return now.astimezone(TAIPEI).date()


def late_alarms(now: datetime) -> int:
    """Alarm responses past their arrival target notify the site's supervisors and managers."""
    return incident_services.notify_late_alarms(now)


def overdue_keys(now: datetime) -> int:
    """Key bags out past their return time notify the taker and the site's supervisors and
    managers, once per take-out."""
    return custody_services.notify_overdue_keys(now)


def not_armed(now: datetime) -> int:
    """A monitored site not armed by closing plus the grace notifies its supervisors (or the
    managers), once per site and Taipei day."""
    return arming_services.notify_not_armed(now)


def out_of_hours_disarm(now: datetime) -> int:
    """A disarm outside opening hours notifies the site's supervisors (or the managers), once
    per event."""
    return arming_services.notify_out_of_hours(now)


def overdue_repairs(now: datetime) -> int:
    """Repair tickets past their due date notify the site's supervisors and managers."""
    return maintenance_services.notify_overdue_tickets(_taipei_date(now))


def maintenance_due(now: datetime) -> int:
    """Equipment due for maintenance notifies the site's supervisors (or managers)."""
    return maintenance_services.notify_maintenance_due(_taipei_date(now))


def briefing_reminders(now: datetime) -> int:
    """Briefings due tomorrow or today remind whoever has not acknowledged them."""
    return briefing_services.remind_due_briefings(_taipei_date(now))


def training_hours(now: datetime) -> int:
    """In the month's last 5 days (Taipei), guards below 4 on-the-job hours this month and
    their supervisors are told, once per guard and month (保全業法 §10-2)."""
    return training_compliance.notify_short_of_hours(now)


def audit_anchor(now: datetime) -> int:
    """The audit chain's head is written down outside the database (a truncation shows)."""
    return audit_services.write_anchor(now).seq


def device_requests_prune(now: datetime) -> int:
    """The claims of phones' device uuids older than device_requests.KEEP are forgotten."""
    return device_requests.prune(now)


def vault_retention(now: datetime) -> int:
    """Confidential records past their retention day (Taipei date) are deleted, each audited.

    Commits by itself, one batch at a time (like the mail job): a large purge does not hold the
    database's write lock for all of it, and what a failed run purged stays purged (the next
    run carries on). Records without a retention day are never deleted here.
    """
    return retention.purge_expired_in_batches(_taipei_date(now))


def backup(now: datetime) -> int:
    """A checked backup of the database and the uploaded files into BACKUP_DIR, keeping the
    newest BACKUP_KEEP (off while BACKUP_DIR is not set).

    Commits by itself (its audit row, before the snapshot that then holds it); returns the
    number of backups kept."""
    return ops_backup.scheduled_backup(now)


def mail_outbox(now: datetime) -> int:
    """E-mail the notifications not yet sent (when SMTP_URL is set), retrying with backoff.

    The one job that commits by itself: each batch is claimed and committed before its mail
    leaves, so no lock is held while talking to the mail server and no other runner can
    claim the same rows; the outcome of the batch is committed before the next claim.
    """
    if not current_app.config.get("SMTP_URL"):
        return 0
    sent = 0
    for _ in range(MAIL_BATCHES_PER_RUN):
        ids = notifications.claim_mail(now)
        db.session.commit()
        if not ids:
            break
        batch_sent = notifications.send_claimed_mail(ids, now)
        db.session.commit()
        sent += batch_sent
        if batch_sent < len(ids):
            break  # the server refuses or is down: the rest waits for the next turn
    return sent


def push_outbox(now: datetime) -> int:
    """Send the push notifications not yet sent to the users' phones, retrying with backoff.

    Commits by itself like the mail job: each batch is claimed and committed before anything
    leaves, and its outcome committed before the next claim. A device its push service no
    longer knows (404, 410) is deleted. Deliveries older than push.KEEP are deleted.
    """
    if not push.is_enabled():
        return 0
    sent = 0
    for _ in range(PUSH_BATCHES_PER_RUN):
        ids = push.claim(now)
        db.session.commit()
        if not ids:
            break
        sent += push.send_claimed(ids, now)
        db.session.commit()
    push.prune(now)
    return sent


JOBS: list[Job] = [
    Job("late_alarms", timedelta(minutes=1), late_alarms),
    Job("overdue_keys", timedelta(minutes=5), overdue_keys),
    Job("not_armed", timedelta(minutes=5), not_armed),
    Job("out_of_hours_disarm", timedelta(minutes=1), out_of_hours_disarm),
    Job("overdue_repairs", timedelta(minutes=10), overdue_repairs),
    Job("maintenance_due", timedelta(hours=1), maintenance_due),
    Job("briefing_reminders", timedelta(hours=1), briefing_reminders),
    Job("training_hours", timedelta(hours=1), training_hours),
    Job("audit_anchor", timedelta(days=1), audit_anchor),
    Job("device_requests_prune", timedelta(days=1), device_requests_prune),
    Job("vault_retention", timedelta(days=1), vault_retention),
    Job("backup", timedelta(days=1), backup),
    Job("mail_outbox", timedelta(minutes=1), mail_outbox),
    Job("push_outbox", timedelta(minutes=1), push_outbox),
]
