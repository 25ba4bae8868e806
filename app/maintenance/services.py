"""Repair tickets (state machine; equipment status follows) and maintenance done. Flush only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Select, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app import audit
from app.auth import policy
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import taipei_today
from app.inspections.models import Answer
from app.maintenance.models import (
    OPEN_TICKET_STATUSES,
    TICKET_TRANSITIONS,
    MaintenanceLog,
    RepairPhoto,
    RepairTicket,
    RepairUpdate,
)
from app.notifications import services as notifications
from app.pagination import Page, paginate
from app.photos import services as photos
from app.sites import services as site_services
from app.sites.models import Equipment, Site

#: Equipment status that each ticket status implies.
EQUIPMENT_STATUS = {
    "reported": "fault",
    "dispatched": "under_repair",
    "fixed": "ok",
    "verified": "ok",
}
DEFAULT_DAYS_TO_REPAIR = 7
DUE_SOON = timedelta(days=14)


class RepairError(DomainError):
    messages: ClassVar = {
        "problem_required": _l("Describe the problem."),
        "not_failed": _l("Only a failed item opens a repair ticket."),
        "bad_transition": _l("That status change is not allowed from the current status."),
        "reason_required": _l("Give the reason for cancelling."),
        "supervisor_verifies": _l("A supervisor verifies the repair."),
        "work_required": _l("Describe the work done."),
        "in_future": _l("That date is in the future."),
        "site_required": _l("Choose the site."),
    }


def _follow(ticket: RepairTicket) -> None:
    """The unit's status follows its open tickets: any sent out → under repair, any
    reported → fault, none (fixed, verified or cancelled) → ok."""
    unit = ticket.equipment
    if unit is None or unit.status == "retired":
        return
    db.session.flush()
    open_statuses = set(
        db.session.scalars(
            select(RepairTicket.status).where(
                RepairTicket.equipment_id == unit.id,
                RepairTicket.status.in_(("reported", "dispatched")),
            )
        )
    )
    if "dispatched" in open_statuses:
        unit.status = "under_repair"
    elif "reported" in open_statuses:
        unit.status = "fault"
    else:
        unit.status = "ok"


def open_ticket(
    site: Site,
    *,
    user,
    uuid: str,
    problem: str,
    equipment_id: int | None = None,
    vendor: str = "",
    due_on: date | None = None,
    source: str = "manual",
    answer: Answer | None = None,
    incident_id: int | None = None,
    today: date,
) -> RepairTicket:
    """Report a fault for repair; the same uuid (or the same failed item) again returns it."""
    existing = db.session.scalar(select(RepairTicket).where(RepairTicket.uuid == uuid))
    if existing is None and answer is not None:
        existing = db.session.scalar(
            select(RepairTicket).where(RepairTicket.answer_id == answer.id)
        )
    if existing is not None:
        return existing
    if not problem.strip():
        raise RepairError("problem_required")
    equipment = db.session.get(Equipment, equipment_id) if equipment_id else None
    if equipment is not None and equipment.site_id != site.id:
        equipment = None
    ticket = RepairTicket(
        uuid=uuid,
        site_id=site.id,
        equipment=equipment,
        source=source,
        answer_id=answer.id if answer else None,
        incident_id=incident_id,
        problem=problem.strip(),
        vendor=vendor.strip(),
        due_on=due_on or today + timedelta(days=DEFAULT_DAYS_TO_REPAIR),
        status="reported",
        reported_by_id=user.id,
        reported_at=utcnow(),
    )
    db.session.add(ticket)
    db.session.flush()
    if answer is not None:
        for link in answer.photos:
            db.session.add(RepairPhoto(ticket_id=ticket.id, photo_id=link.photo_id))
    _follow(ticket)
    db.session.flush()
    audit.record(
        "repair.reported",
        actor=user,
        target=f"repair:{ticket.id}",
        detail={"site": site.id, "source": source},
    )
    return ticket


def open_from_answer(answer: Answer, *, user, uuid: str, today: date) -> RepairTicket:
    """One tap from a failed checklist item: its equipment, note and photos come along."""
    if answer.is_pass is not False:
        raise RepairError("not_failed")
    problem = answer.note or answer.item.text_zh
    equipment_id = answer.equipment_id
    if equipment_id is None and answer.item.equipment_kind:
        # The site has a single unit of the kind the item concerns: that is the one.
        units = db.session.scalars(
            select(Equipment.id).where(
                Equipment.site_id == answer.inspection.site_id,
                Equipment.kind == answer.item.equipment_kind,
                Equipment.status != "retired",
            )
        ).all()
        equipment_id = units[0] if len(units) == 1 else None
    return open_ticket(
        answer.inspection.site,
        user=user,
        uuid=uuid,
        problem=problem,
        equipment_id=equipment_id,
        source="inspection",
        answer=answer,
        today=today,
    )


def change_status(ticket: RepairTicket, *, user, to: str, note: str = "") -> RepairUpdate:
    """Move the ticket on (reported → dispatched → fixed → verified | cancelled with a reason)."""
    if to not in TICKET_TRANSITIONS[ticket.status]:
        raise RepairError("bad_transition")
    if to == "cancelled" and not note.strip():
        raise RepairError("reason_required")
    if to == "verified" and not policy.can_list_site_work(user):
        raise RepairError("supervisor_verifies")
    entry = RepairUpdate(
        ticket_id=ticket.id,
        author_id=user.id,
        at=utcnow(),
        from_status=ticket.status,
        to_status=to,
        note=note.strip(),
    )
    ticket.status = to
    if to == "fixed":
        ticket.fixed_at = utcnow()
    if to == "verified":
        ticket.verified_at = utcnow()
        ticket.verified_by_id = user.id
    if to == "cancelled":
        ticket.cancel_reason = note.strip()
    _follow(ticket)
    db.session.add(entry)
    ticket.updates.append(entry)
    db.session.flush()
    audit.record("repair.status", actor=user, target=f"repair:{ticket.id}", detail={"to": to})
    return entry


def tickets_query(user) -> Select:
    return site_services.scope_to_sites(select(RepairTicket), RepairTicket.site_id, user)


def list_tickets(
    user,
    *,
    site_id: int | None = None,
    state: str = "open",
    today: date,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    stmt = tickets_query(user)
    if site_id:
        stmt = stmt.where(RepairTicket.site_id == site_id)
    if state == "open":
        stmt = stmt.where(RepairTicket.status.in_(OPEN_TICKET_STATUSES))
    elif state == "overdue":
        stmt = stmt.where(
            RepairTicket.status.in_(("reported", "dispatched")), RepairTicket.due_on < today
        )
    elif state == "closed":
        stmt = stmt.where(RepairTicket.status.in_(("verified", "cancelled")))
    return paginate(
        stmt.order_by(RepairTicket.due_on, RepairTicket.id), page=page, per_page=per_page
    )


def overdue_tickets(user, *, today: date) -> list[RepairTicket]:
    return list(
        db.session.scalars(
            tickets_query(user)
            .where(RepairTicket.status.in_(("reported", "dispatched")), RepairTicket.due_on < today)
            .order_by(RepairTicket.due_on)
        )
    )


def count_overdue_tickets(user, *, today: date) -> int:
    """How many of the user's sites' open tickets are past their due date (one statement)."""
    stmt = tickets_query(user).where(
        RepairTicket.status.in_(("reported", "dispatched")), RepairTicket.due_on < today
    )
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def notify_overdue_tickets(today: date) -> int:
    count = 0
    for ticket in db.session.scalars(
        select(RepairTicket).where(
            RepairTicket.status.in_(("reported", "dispatched")), RepairTicket.due_on < today
        )
    ):
        count += len(
            notifications.notify(
                notifications.site_watchers(ticket.site_id),
                kind="repair_overdue",
                dedupe_key=f"repair:{ticket.id}:overdue",
                subject=ticket.site.name,
                link=f"/repairs/{ticket.id}",
            )
        )
    return count


# ---------------------------------------------------------------- maintenance


def record_maintenance(
    equipment: Equipment, *, user, done_on: date, work: str, photo_data: bytes | None = None
) -> MaintenanceLog:
    """Maintenance done: logged, and the equipment's next due date moves on."""
    if not work.strip():
        raise RepairError("work_required")
    if done_on > taipei_today():
        raise RepairError("in_future")
    photo = (
        photos.store_photo(photo_data, owner=user, site_id=equipment.site_id)
        if photo_data
        else None
    )
    log = MaintenanceLog(
        equipment_id=equipment.id,
        done_on=done_on,
        done_by_id=user.id,
        work=work.strip(),
        photo_id=photo.id if photo else None,
    )
    db.session.add(log)
    if equipment.last_maintained_on is None or done_on > equipment.last_maintained_on:
        equipment.last_maintained_on = done_on
    db.session.flush()
    audit.record("maintenance.done", actor=user, target=f"equipment:{equipment.id}")
    return log


@dataclass
class DueItem:
    equipment: Equipment
    due_on: date
    is_overdue: bool


class _days_after(FunctionElement):
    """SQL for a date plus a number of days, a date again."""

    type = Date()
    inherit_cache = True
    name = "days_after"


#: The last day Python (and so every page) can show: a later date read back would not load.
_LAST_DAY = "9999-12-31"
#: More days than any interval can mean (a century): keeps the sum within PostgreSQL's dates.
_MAX_DAYS = 36_600


@compiles(_days_after)
def _days_after_default(element, compiler, **kw):
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    # PostgreSQL: date + integer is a date, which may lie beyond the year 9999.
    # LEAST ignores NULLs: a unit without a date (or an interval) has no due date, as before.
    shifted = f"LEAST({day} + LEAST({days}, {_MAX_DAYS}), DATE '{_LAST_DAY}')"
    return f"CASE WHEN {day} IS NULL OR {days} IS NULL THEN NULL ELSE {shifted} END"


@compiles(_days_after, "sqlite")
def _days_after_sqlite(element, compiler, **kw):
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    # 'YYYY-MM-DD', as SQLite keeps dates; beyond 9999-12-31 SQLite's date() gives NULL.
    shifted = f"date({day}, '+' || ({days}) || ' days')"
    return f"CASE WHEN {day} IS NULL THEN NULL ELSE coalesce({shifted}, '{_LAST_DAY}') END"


def _due_on():
    """SQL: a unit's next maintenance date — `Equipment.maintenance_due_on`, in the database."""
    base = func.coalesce(Equipment.last_maintained_on, Equipment.installed_on)
    return _days_after(base, Equipment.maintenance_interval_days)


def _due_query(user, *, until: date, site_id: int | None = None) -> Select:
    """Units of the user's sites with a maintenance plan, due on or before `until`."""
    visible = site_services.visible_sites_query(user).with_only_columns(Site.id)
    due_on = _due_on()
    stmt = select(Equipment, due_on.label("due_on")).where(
        Equipment.site_id.in_(visible),
        Equipment.status != "retired",
        Equipment.maintenance_interval_days > 0,
        func.coalesce(Equipment.last_maintained_on, Equipment.installed_on).is_not(None),
        due_on <= until,
    )
    if site_id:
        stmt = stmt.where(Equipment.site_id == site_id)
    return stmt


def overdue_equipment_query(user, *, today: date) -> Select:
    """Units of the user's sites whose maintenance was due before today (the dashboard)."""
    return _due_query(user, until=today - timedelta(days=1))


def maintenance_due(
    user, *, today: date, site_id: int | None = None, page: int = 1, per_page: int = 50
) -> Page:
    """Equipment of the user's sites due within two weeks, overdue first, a page of it (each
    unit with its site); the due dates are worked out by the database."""
    stmt = _due_query(user, until=today + DUE_SOON, site_id=site_id)
    listed = paginate(
        stmt.order_by(text("due_on"), Equipment.id), page=page, per_page=per_page, rows=True
    )
    units = [unit for unit, _due in listed.items]
    if units:  # the sites the page shows, in one statement
        db.session.scalars(select(Site).where(Site.id.in_({u.site_id for u in units}))).all()
    listed.items = [DueItem(unit, due_on, due_on < today) for unit, due_on in listed.items]
    return listed


def count_maintenance_due(user, *, today: date) -> int:
    """How many units of the user's sites are due within two weeks (one statement)."""
    stmt = _due_query(user, until=today + DUE_SOON).with_only_columns(Equipment.id)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def maintenance_history(equipment: Equipment) -> list[MaintenanceLog]:
    return list(
        db.session.scalars(
            select(MaintenanceLog)
            .where(MaintenanceLog.equipment_id == equipment.id)
            .order_by(MaintenanceLog.done_on.desc())
        )
    )


def notify_maintenance_due(today: date) -> int:
    """Equipment whose maintenance falls due today (or is overdue) notifies the site's
    supervisors, or the managers where the site has none: once per due date (jobs runner)."""
    due = [
        unit
        for unit in db.session.scalars(
            select(Equipment).where(
                Equipment.status != "retired", Equipment.maintenance_interval_days > 0
            )
        )
        if unit.maintenance_due_on is not None and unit.maintenance_due_on <= today
    ]
    keys = {unit.id: f"equipment:{unit.id}:maintenance:{unit.maintenance_due_on}" for unit in due}
    done = notifications.notified_keys(list(keys.values()))
    count = 0
    for unit in due:
        if keys[unit.id] in done:
            continue
        count += len(
            notifications.notify(
                notifications.site_supervisors_or_managers(unit.site_id),
                kind="maintenance_due",
                dedupe_key=keys[unit.id],
                subject=unit.site.name,
                link=f"/equipment/{unit.id}/maintenance",
            )
        )
    return count
