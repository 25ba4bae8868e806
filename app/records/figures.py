"""The figures of a control-record sheet, computed from what the other features record.

`compute(sites, first)` returns the snapshot: a plain dict of JSON types (instants as ISO
strings in UTC, dates as ISO dates) that approval stores as it is, so an approved sheet renders
from its frozen copy exactly as a live one renders from a fresh one. The number of statements
does not depend on the number of sites, inspections, alarms or days (tests/test_statement_budgets).

Counts only for the vault and key custody: never a value, a label or a purpose text.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from app.arming import services as arming
from app.arming.models import ArmEvent
from app.auth.models import User
from app.briefings.models import (
    MONTHLY_HOURS,
    Acknowledgement,
    Briefing,
    BriefingSite,
    TrainingAttendance,
    TrainingSession,
)
from app.briefings.services import training_statuses
from app.custody.models import KeyBag, KeyMovement
from app.db import add_days, utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import AlarmResponse, Incident
from app.inspections.models import Answer, AnswerPhoto, ChecklistItem, Inspection
from app.maintenance.models import MaintenanceLog, RepairTicket
from app.photos.models import Photo
from app.sites.models import CheckIn, Client, Equipment, Site, SiteAssignment
from app.vault.models import VaultAccess

#: The snapshot's layout; a template that meets a newer one knows it.
FORMAT = 1
#: Failed items listed on a sheet (the count is always whole).
FAILED_ROWS = 60
#: Alarm responses listed on a sheet (the counts are always whole).
ALARM_ROWS = 60


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The Taipei month as UTC instants [start, end)."""
    start = datetime.combine(first, time(0), tzinfo=TAIPEI).astimezone(UTC)
    end = datetime.combine(next_month(first), time(0), tzinfo=TAIPEI).astimezone(UTC)
    return start, end


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((_aware(end) - _aware(start)).total_seconds() / 60, 1)


# ---------------------------------------------------------------- sections


def _inspections(site_ids: list[int], start: datetime, end: datetime, codes: dict) -> dict:
    """Submitted inspections of the month, their failed items with notes and photos (3)."""
    submitted = select(Inspection.id).where(
        Inspection.site_id.in_(site_ids),
        Inspection.submitted_at >= start,
        Inspection.submitted_at < end,
    )
    rows = db.session.execute(
        select(Inspection, User.display_name)
        .join(User, User.id == Inspection.inspector_id)
        .where(Inspection.id.in_(submitted))
        .order_by(Inspection.submitted_at, Inspection.id)
    ).all()
    failed = db.session.execute(
        select(Answer.id, Answer.inspection_id, Answer.note, ChecklistItem)
        .join(ChecklistItem, ChecklistItem.id == Answer.item_id)
        .where(Answer.inspection_id.in_(submitted), Answer.is_pass.is_(False))
        .order_by(Answer.inspection_id, ChecklistItem.position)
    ).all()
    photos: dict[int, list[str]] = {}
    for answer_id, uuid in db.session.execute(
        select(AnswerPhoto.answer_id, Photo.uuid)
        .join(Photo, Photo.id == AnswerPhoto.photo_id)
        .join(Answer, Answer.id == AnswerPhoto.answer_id)
        .where(Answer.inspection_id.in_(submitted), Answer.is_pass.is_(False))
        .order_by(AnswerPhoto.id)
    ):
        photos.setdefault(answer_id, []).append(uuid)
    by_id = {inspection.id: inspection for inspection, _name in rows}
    scores = [i.score for i, _n in rows if i.score is not None]
    return {
        "count": len(rows),
        "average_score": round(sum(scores) / len(scores), 1) if scores else None,
        "failed_count": len(failed),
        "rows": [
            {
                "uuid": i.uuid,
                "site": codes[i.site_id],
                "submitted_at": _iso(i.submitted_at),
                "inspector": name,
                "score": i.score,
                "failed_count": i.failed_count,
            }
            for i, name in rows
        ],
        "failed": [
            {
                "site": codes[by_id[inspection_id].site_id],
                "submitted_at": _iso(by_id[inspection_id].submitted_at),
                "indicator": item.indicator,
                "item_zh": item.text_zh,
                "item_en": item.text_en,
                "note": note,
                "photos": photos.get(answer_id, [])[:3],
            }
            for answer_id, inspection_id, note, item in failed[:FAILED_ROWS]
        ],
    }


def _operations(site_ids: list[int], start: datetime, end: datetime, sites: dict) -> dict:
    """Check-ins, alarm responses against each site's arrival limit, police and 119 (2)."""
    check_ins = db.session.scalar(
        select(func.count(CheckIn.id)).where(
            CheckIn.site_id.in_(site_ids), CheckIn.received_at >= start, CheckIn.received_at < end
        )
    )
    alarms = db.session.execute(
        select(AlarmResponse, User.display_name)
        .outerjoin(User, User.id == AlarmResponse.guard_id)
        .where(
            AlarmResponse.site_id.in_(site_ids),
            AlarmResponse.received_at >= start,
            AlarmResponse.received_at < end,
        )
        .order_by(AlarmResponse.received_at, AlarmResponse.id)
    ).all()
    rows = []
    for alarm, guard in alarms:
        site = sites[alarm.site_id]
        minutes = _minutes(alarm.received_at, alarm.arrived_at)
        rows.append(
            {
                "site": site.code,
                "received_at": _iso(alarm.received_at),
                "arrived_at": _iso(alarm.arrived_at),
                "minutes": minutes,
                "limit": site.arrival_target_minutes,
                "is_late": minutes is not None and minutes > site.arrival_target_minutes,
                "guard": guard or "",
                "cause": alarm.cause or "",
                "police_notified_at": _iso(alarm.police_notified_at),
                "police_unit": alarm.police_unit,
                "police_case_number": alarm.police_case_number,
                "fire_notified_at": _iso(alarm.fire_notified_at),
            }
        )
    return {
        "check_ins": check_ins or 0,
        "alarms": len(rows),
        "arrived": sum(1 for r in rows if r["minutes"] is not None),
        "late": sum(1 for r in rows if r["is_late"]),
        "not_arrived": sum(1 for r in rows if r["minutes"] is None),
        "police": sum(1 for r in rows if r["police_notified_at"]),
        "fire": sum(1 for r in rows if r["fire_notified_at"]),
        "rows": rows[:ALARM_ROWS],
    }


def _arming(site_ids: list[int], first: date, now: datetime, codes: dict) -> dict:
    """Days not armed on time and out-of-hours disarms, judged by arming's own day rule (3)."""
    hours = arming._hours_by_site(site_ids)
    start, end = month_bounds(first)
    events: dict[int, list[ArmEvent]] = {}
    for event in db.session.scalars(
        select(ArmEvent)
        .where(ArmEvent.site_id.in_(site_ids), ArmEvent.occurred_at >= start)
        .where(ArmEvent.occurred_at < end)
        .order_by(ArmEvent.occurred_at, ArmEvent.id)
    ):
        events.setdefault(event.site_id, []).append(event)
    since = dict(
        db.session.execute(
            select(ArmEvent.site_id, func.min(ArmEvent.occurred_at))
            .where(ArmEvent.site_id.in_(site_ids))
            .group_by(ArmEvent.site_id)
        ).all()
    )
    last = min(next_month(first), now.astimezone(TAIPEI).date() + timedelta(days=1))
    days = [first + timedelta(days=n) for n in range((last - first).days)]
    rows = []
    monitored = 0
    for site_id in site_ids:
        if not hours.get(site_id):
            continue
        monitored += 1
        for row in arming._day_rows(
            hours[site_id],
            events.get(site_id, []),
            days,
            now,
            since=arming._aware(since.get(site_id)),
        ):
            if row.is_not_armed or row.is_late or row.has_out_of_hours:
                rows.append(
                    {
                        "site": codes[site_id],
                        "day": row.day.isoformat(),
                        "is_not_armed": row.is_not_armed,
                        "is_late": row.is_late,
                        "armed_at": _iso(row.armed_at),
                        "has_out_of_hours": row.has_out_of_hours,
                    }
                )
    out_of_hours = sum(
        1
        for site_events in events.values()
        for e in site_events
        if e.kind == "disarm" and e.is_out_of_hours
    )
    return {
        "monitored_sites": monitored,
        "days_not_armed": sum(1 for r in rows if r["is_not_armed"]),
        "days_armed_late": sum(1 for r in rows if r["is_late"]),
        "out_of_hours_disarms": out_of_hours,
        "rows": sorted(rows, key=lambda r: (r["day"], r["site"])),
    }


def _equipment(
    site_ids: list[int], first: date, start: datetime, end: datetime, now: datetime
) -> dict:
    """Repairs opened, fixed and overdue; maintenance done and overdue (3).

    "Overdue" is judged at the end of the month's last day, or of yesterday while the month is
    still running (a due date of today is not overdue yet: the dashboard's rule). Maintenance
    is judged from the logs as they stood then, not from the equipment's current due date: a
    unit's base is its last maintenance done on or before the month's end (the hand-entered
    `last_maintained_on` counts when it is that early), else its installation; it is overdue
    when the base plus its interval falls on or before the cut-off (app/maintenance's rule).
    """
    last_day = next_month(first) - timedelta(days=1)
    cutoff = min(last_day, now.astimezone(TAIPEI).date() - timedelta(days=1))
    tickets = db.session.scalars(
        select(RepairTicket)
        .where(RepairTicket.site_id.in_(site_ids), RepairTicket.reported_at < end)
        # Tickets closed before the month are of no concern to it.
        .where((RepairTicket.fixed_at.is_(None)) | (RepairTicket.fixed_at >= start))
    ).all()
    opened = [t for t in tickets if _aware(t.reported_at) >= start]
    fixed = [t for t in tickets if t.fixed_at is not None and _aware(t.fixed_at) < end]
    overdue = [
        t
        for t in tickets
        if t.status != "cancelled"
        and t.due_on is not None
        and t.due_on <= cutoff
        and (t.fixed_at is None or _aware(t.fixed_at) >= end)
    ]
    done = db.session.scalar(
        select(func.count(MaintenanceLog.id))
        .join(Equipment, Equipment.id == MaintenanceLog.equipment_id)
        .where(
            Equipment.site_id.in_(site_ids),
            MaintenanceLog.done_on >= first,
            MaintenanceLog.done_on <= last_day,
        )
    )
    units = select(Equipment.id).where(Equipment.site_id.in_(site_ids))
    last_done = (
        select(MaintenanceLog.equipment_id, func.max(MaintenanceLog.done_on).label("done_on"))
        .where(MaintenanceLog.equipment_id.in_(units), MaintenanceLog.done_on <= last_day)
        .group_by(MaintenanceLog.equipment_id)
        .subquery()
    )
    equipment = db.session.execute(
        select(Equipment, last_done.c.done_on)
        .outerjoin(last_done, last_done.c.equipment_id == Equipment.id)
        .where(Equipment.site_id.in_(site_ids), Equipment.status != "retired")
    ).all()
    maintenance_overdue = 0
    for unit, logged_on in equipment:
        if not unit.maintenance_interval_days or unit.maintenance_interval_days <= 0:
            continue
        by_hand = unit.last_maintained_on
        maintained = [d for d in (logged_on, by_hand) if d is not None and d <= last_day]
        if maintained:
            base = max(maintained)
        elif unit.installed_on is not None and unit.installed_on <= last_day:
            base = unit.installed_on
        else:
            continue  # no date to count from (the maintenance list shows no due date either)
        if add_days(base, unit.maintenance_interval_days) <= cutoff:
            maintenance_overdue += 1
    return {
        "in_fault": sum(1 for e, _d in equipment if e.status in ("fault", "under_repair")),
        "repairs_opened": len(opened),
        "repairs_fixed": len(fixed),
        "repairs_overdue": len(overdue),
        "maintenance_done": done or 0,
        "maintenance_overdue": maintenance_overdue,
    }


def _incidents(site_ids: list[int], start: datetime, end: datetime) -> dict:
    """Incidents of the month by category and severity; who was notified (1)."""
    rows = db.session.execute(
        select(Incident.category, Incident.severity, Incident.client_notified_at)
        .add_columns(Incident.police_notified_at)
        .where(
            Incident.site_id.in_(site_ids),
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
        )
    ).all()
    return {
        "count": len(rows),
        "by_category": sorted(Counter(r[0] for r in rows).items()),
        "by_severity": sorted(Counter(r[1] for r in rows).items()),
        "client_notified": sum(1 for r in rows if r[2] is not None),
        "police_notified": sum(1 for r in rows if r[3] is not None),
    }


def _training(site_ids: list[int], first: date, start: datetime, end: datetime) -> dict:
    """The sites' guards: training current, on-the-job hours against 4, briefing acks (5)."""
    guard_ids = (
        select(SiteAssignment.user_id)
        .join(User, User.id == SiteAssignment.user_id)
        .where(SiteAssignment.site_id.in_(site_ids), User.role == "guard")
        .where(User.is_active.is_(True))
    )
    guards = db.session.scalars(
        select(User).where(User.id.in_(guard_ids)).order_by(User.display_name, User.id)
    ).all()
    last_day = next_month(first) - timedelta(days=1)
    hours = dict(
        db.session.execute(
            select(TrainingAttendance.user_id, func.sum(TrainingSession.hours))
            .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
            .where(
                TrainingAttendance.user_id.in_(guard_ids),
                TrainingSession.kind == "on_the_job",
                TrainingSession.held_on >= first,
                TrainingSession.held_on <= last_day,
            )
            .group_by(TrainingAttendance.user_id)
        ).all()
    )
    statuses = training_statuses(list(guards), today=last_day)
    # Briefings published in the month that ask for an acknowledgement and reach these guards.
    briefings = db.session.execute(
        select(Briefing.id, Briefing.audience, BriefingSite.site_id)
        .outerjoin(BriefingSite, BriefingSite.briefing_id == Briefing.id)
        .where(
            Briefing.requires_ack.is_(True),
            Briefing.published_at >= start,
            Briefing.published_at < end,
            Briefing.audience.in_(("all_guards", "sites")),
        )
    ).all()
    assigned: dict[int, set[int]] = {}
    for user_id, site_id in db.session.execute(
        select(SiteAssignment.user_id, SiteAssignment.site_id).where(
            SiteAssignment.user_id.in_(guard_ids)
        )
    ):
        assigned.setdefault(user_id, set()).add(site_id)
    reach: set[tuple[int, int]] = set()
    for briefing_id, audience, site_id in briefings:
        for guard in guards:
            if audience == "all_guards" or site_id in assigned.get(guard.id, set()):
                reach.add((briefing_id, guard.id))
    acked = set()
    if reach:
        acked = set(
            db.session.execute(
                select(Acknowledgement.briefing_id, Acknowledgement.user_id)
                .where(Acknowledgement.briefing_id.in_({b for b, _u in reach}))
                .where(Acknowledgement.user_id.in_(guard_ids))
            ).all()
        )
    acknowledged = len(reach & {(b, u) for b, u in acked})
    rows = [
        {
            "name": g.display_name,
            "hours": float(hours.get(g.id) or 0),
            "meets": float(hours.get(g.id) or 0) >= MONTHLY_HOURS,
            "is_current": all(s.status in ("current", "expiring") for s in statuses[g.id]),
        }
        for g in guards
    ]
    return {
        "required_hours": MONTHLY_HOURS,
        "guards": len(rows),
        "current": sum(1 for r in rows if r["is_current"]),
        "meeting_hours": sum(1 for r in rows if r["meets"]),
        "rows": rows,
        "acks_due": len(reach),
        "acks_done": acknowledged,
        "ack_rate": round(100 * acknowledged / len(reach)) if reach else None,
    }


def _confidentiality(
    site_ids: list[int], client_id: int, start: datetime, end: datetime, *, whole_client: bool
) -> dict:
    """Vault reveals by purpose and key take-outs: counts, never a value or label (2)."""
    owner = VaultAccess.site_id.in_(site_ids)
    if whole_client:
        owner = owner | (VaultAccess.client_id == client_id)
    by_purpose = db.session.execute(
        select(VaultAccess.purpose, func.count(VaultAccess.id))
        .where(owner, VaultAccess.at >= start, VaultAccess.at < end)
        .where(VaultAccess.action == "reveal", VaultAccess.outcome == "success")
        .group_by(VaultAccess.purpose)
        .order_by(VaultAccess.purpose)
    ).all()
    take_outs = db.session.scalar(
        select(func.count(KeyMovement.id))
        .join(KeyBag, KeyBag.id == KeyMovement.bag_id)
        .where(KeyBag.site_id.in_(site_ids), KeyMovement.kind == "out")
        .where(KeyMovement.at >= start, KeyMovement.at < end)
    )
    return {
        "reveals_by_purpose": [[purpose, count] for purpose, count in by_purpose],
        "reveals": sum(count for _p, count in by_purpose),
        "key_take_outs": take_outs or 0,
    }


# ---------------------------------------------------------------- the whole sheet


def compute(
    *, client: Client, sites: list[Site], first: date, scope: str, now: datetime | None = None
) -> dict:
    """The snapshot of a month (`first`: its first day) at `sites` of `client`."""
    now = now or utcnow()
    start, end = month_bounds(first)
    site_ids = [s.id for s in sites] or [-1]
    by_id = {s.id: s for s in sites}
    codes = {s.id: s.code for s in sites}
    return {
        "format": FORMAT,
        "scope": scope,
        "month": first.isoformat(),
        "computed_at": _iso(now),
        "client": {"id": client.id, "name": client.name},
        "sites": [
            {
                "id": s.id,
                "code": s.code,
                "name": s.name,
                "address": s.full_address,
                "arrival_target_minutes": s.arrival_target_minutes,
            }
            for s in sites
        ],
        "inspections": _inspections(site_ids, start, end, codes),
        "operations": _operations(site_ids, start, end, by_id),
        "arming": _arming(site_ids, first, now, codes),
        "equipment": _equipment(site_ids, first, start, end, now),
        "incidents": _incidents(site_ids, start, end),
        "training": _training(site_ids, first, start, end),
        "confidentiality": _confidentiality(
            site_ids, client.id, start, end, whole_client=scope == "client"
        ),
    }


_INSTANT_KEYS = ("_at",)
_DAY_KEYS = ("_on", "day", "month")


def hydrate(value):
    """A snapshot (from JSON) with its instants and dates as Python values, for templates."""
    if isinstance(value, list):
        return [hydrate(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if isinstance(item, str) and item and key.endswith(_INSTANT_KEYS):
            out[key] = datetime.fromisoformat(item)
        elif isinstance(item, str) and item and key.endswith(_DAY_KEYS):
            out[key] = date.fromisoformat(item)
        else:
            out[key] = hydrate(item)
    return out
