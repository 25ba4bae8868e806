"""Retention (issue 12 item 8): a confidential record is kept no longer than needed.

A record past its `retain_until` day (a Taipei date) is deleted by the daily job: the row and
its ciphertext go; what stays is a "purge" row in the access log (the record's uuid and label,
never its value) and an audit event naming what was purged. The same `purge_record` serves
the offboarding of a client. Flush, never commit, except `purge_expired_in_batches`, which
commits each batch (a long purge must not hold SQLite's write lock for all of it).

Why the job purges only records whose day is set: `retain_until` None means "kept until
someone decides" (the client's contract end was unknown when the record was made, or a person
chose to keep it); an automatic deletion of something nobody put a date on would be a guess.
Offboarding the client deletes those too, after the handover export.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from types import SimpleNamespace

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from app import audit
from app.extensions import db
from app.sites.models import Client, Site
from app.vault.access import log_access
from app.vault.models import ConfidentialRecord
from app.vault.services import default_retain_until

#: Records deleted per flush (and per commit in `purge_expired_in_batches`).
BATCH = 200
#: At most this many batches in one run of the job; the rest waits for the next run.
BATCHES_PER_RUN = 50


def deletion_notice(retain_until: date | None) -> str:
    """The words to show beside a `retain_until` field or value: when the record will go."""
    if retain_until is None:
        return _("Kept until someone sets a date: the retention job never deletes it.")
    return _(
        "Will be deleted on %(date)s (the day after this date, by the daily retention job).",
        date=format_date(retain_until, "yyyy-MM-dd"),
    )


def expired_clause(today: date):
    """SQL: the records whose last day to keep is before `today` (never one without a day)."""
    return ConfidentialRecord.retain_until.is_not(None) & (ConfidentialRecord.retain_until < today)


def purge_record(record: ConfidentialRecord, *, user, reason: str) -> None:
    """Delete one record (its ciphertext with it): a purge row in the access log and an audit
    event saying what it was — category, label, owner, retention day — never the value.
    `user` None is the system (the retention job)."""
    log_access(user, "purge", record=record, reason=reason)
    audit.record(
        "vault.purged",
        actor=user,
        actor_name="" if user is not None else "system",
        target=f"confidential_record:{record.uuid}",
        detail={
            "reason": reason,
            "category": record.category,
            "sensitivity": record.sensitivity,
            "label": record.label,
            "site_id": record.site_id,
            "client_id": record.client_id,
            "retain_until": record.retain_until.isoformat() if record.retain_until else None,
            "key_id": record.key_id,
        },
    )
    db.session.delete(record)


def purge_expired(today: date, *, limit: int = BATCH) -> int:
    """Purge up to `limit` records past their day, oldest day first; the count purged.
    Run again until it returns less than `limit`. A second run the same day finds nothing."""
    records = db.session.scalars(
        select(ConfidentialRecord)
        .where(expired_clause(today))
        .order_by(ConfidentialRecord.retain_until, ConfidentialRecord.id)
        .limit(limit)
    ).all()
    for record in records:
        purge_record(record, user=None, reason="retention")
    db.session.flush()
    return len(records)


def purge_expired_in_batches(
    today: date, *, batch: int = BATCH, max_batches: int = BATCHES_PER_RUN
) -> int:
    """The job's and the command's loop: one commit per batch; the total purged."""
    total = 0
    for _turn in range(max_batches):
        count = purge_expired(today, limit=batch)
        db.session.commit()
        total += count
        if count < batch:
            break
    return total


def count_expired(today: date) -> int:
    """How many records the job would purge now."""
    return db.session.scalar(select(func.count(ConfidentialRecord.id)).where(expired_clause(today)))


# ---------------------------------------------------------------- the contract end moves


def _default_for(end_on: date | None) -> date | None:
    return default_retain_until(SimpleNamespace(contract_end_on=end_on))


def _client_records_clause(client_id: int):
    sites = select(Site.id).where(Site.client_id == client_id).scalar_subquery()
    return or_(ConfidentialRecord.client_id == client_id, ConfidentialRecord.site_id.in_(sites))


def follow_contract_end(client: Client, *, old_end_on: date | None, actor) -> int:
    """When a client's contract end changes, its records (and its sites') whose `retain_until`
    is the default of the old end move to the default of the new one; the count moved.

    A record's day equal to the old default is taken to be that default: the record keeps no
    flag saying so. A day someone chose differently stays. Records without a day stay without
    one (see the module's docstring): nobody set a default on them that could follow.
    """
    new_end_on = client.contract_end_on
    if old_end_on is None or old_end_on == new_end_on:
        return 0
    old_day, new_day = _default_for(old_end_on), _default_for(new_end_on)
    if old_day == new_day:
        return 0
    moved = db.session.execute(
        update(ConfidentialRecord)
        .where(_client_records_clause(client.id), ConfidentialRecord.retain_until == old_day)
        .values(retain_until=new_day)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if moved:
        audit.record(
            "vault.retention_followed",
            actor=actor,
            target=f"client:{client.id}",
            detail={
                "count": moved,
                "from": old_day.isoformat() if old_day else None,
                "to": new_day.isoformat() if new_day else None,
            },
        )
    return moved


def on_client_saved(client: Client, *, before: dict, actor) -> None:
    """The registry's hook (sites.services.CLIENT_SAVED): a changed contract end is followed."""
    if "contract_end_on" in before:
        follow_contract_end(client, old_end_on=before["contract_end_on"], actor=actor)


def register(hooks: list[Callable[..., None]]) -> None:
    if on_client_saved not in hooks:
        hooks.append(on_client_saved)
