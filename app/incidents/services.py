"""Incidents and alarm responses: reporting, state machines, timelines. Flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from app import audit
from app.auth import policy
from app.auth.models import User
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.incidents.models import (
    ALARM_CAUSES,
    CALLBACK_RESULTS,
    CATEGORIES,
    FALSE_ALARM_CAUSES,
    SEVERITIES,
    SIGNAL_TYPES,
    TRANSITIONS,
    AlarmResponse,
    Incident,
    IncidentPhoto,
    IncidentUpdate,
)
from app.notifications import services as notifications
from app.pagination import Page, paginate
from app.photos import services as photo_pipeline
from app.sites import services as site_services
from app.sites.models import CheckIn, Site


class IncidentError(DomainError):
    messages: ClassVar = {
        "uuid_conflict": _l("This report belongs to another site or person."),
        "bad_value": _l("Choose from the list."),
        "in_future": _l("That time is in the future."),
        "bad_transition": _l("That status change is not allowed from the current status."),
        "empty_update": _l("Write a note or choose a new status."),
        "already_recorded": _l("That step has already been recorded."),
        "already_cleared": _l("This alarm is already closed."),
        "summary_required": _l("Write the summary the client will read."),
        "not_shared": _l("This incident is not shared with the client."),
        "out_of_order": _l("That time is before the previous step."),
        "guard_elsewhere": _l("This guard does not serve that site."),
        "scan_required": _l(
            "No QR scan at this site since the alarm. The guard records his arrival by "
            "scanning the QR code on the site label (a typed site code does not count)."
        ),
        "answered_by_required": _l("Say who answered the call."),
        "findings_required": _l("Write what was found on site."),
        "arrival_first": _l(
            "Record the guard's arrival first: findings are what he found on site."
        ),
        "rearm_too_early": _l(
            "Re-arming is confirmed after the guard's arrival (or, when no guard was sent, "
            "after the call-back)."
        ),
        "rearmed_by_required": _l("Say who re-armed the system."),
        "police_unit_required": _l("Give the police unit that took the report."),
        "case_number_required": _l("Give the case number the police gave."),
        "police_required": _l(
            "Before closing: record the police notification — time, receiving unit and case "
            "number (保全業法 §4-1: intrusion, fire and other public-safety events)."
        ),
        "fire_required": _l("Before closing: record when 119 was called (a fire)."),
        "police_first": _l(
            "Record the police notification first (its time and receiving unit): the case "
            "number belongs to it."
        ),
        "rearm_required": _l(
            "Before closing: confirm the re-arming (the intrusion system was armed when the "
            "zone went off)."
        ),
    }


class CloseRefused(IncidentError):
    """The alarm cannot be closed yet: every step still missing is named."""

    def __init__(self, missing: list[str]):
        super().__init__(missing[0] + "_required", field="cause")
        self.missing = missing

    @property
    def message(self) -> str:
        return " ".join(str(self.messages[f"{m}_required"]) for m in self.missing)


# ---------------------------------------------------------------- incidents

#: A check-in this recent is of the current shift: a new report starts at its site.
SHIFT_LENGTH = timedelta(hours=12)


def shift_site_id(user, *, now: datetime) -> int | None:
    """The site the user checked in at last during this shift, if any."""
    return site_services.latest_check_in_site_id(user, since=now - SHIFT_LENGTH)


def report_incident(
    site: Site,
    *,
    user,
    uuid: str,
    category: str,
    severity: str,
    occurred_at: datetime,
    narrative: str,
    actions_taken: str = "",
    photos: Sequence[bytes] = (),
) -> Incident:
    """Record an incident with the photos sent along (the same uuid again returns the first,
    its photos with it); serious ones notify."""
    existing = db.session.scalar(select(Incident).where(Incident.uuid == uuid))
    if existing is not None:
        if existing.site_id != site.id or existing.reporter_id != user.id:
            raise IncidentError("uuid_conflict")
        return existing
    if category not in CATEGORIES or severity not in SEVERITIES:
        raise IncidentError("bad_value")
    if occurred_at > utcnow():
        raise IncidentError("in_future")
    incident = Incident(
        uuid=uuid,
        site_id=site.id,
        reporter_id=user.id,
        category=category,
        severity=severity,
        occurred_at=occurred_at,
        reported_at=utcnow(),
        narrative=narrative.strip(),
        actions_taken=actions_taken.strip(),
        status="open",
    )
    db.session.add(incident)
    db.session.flush()
    for data in photos:
        try:
            attach_incident_photo(incident, user=user, data=data, uuid=None)
        except photo_pipeline.PhotoError as exc:
            raise photo_pipeline.PhotoError(exc.key, field="photos") from None
    audit.record(
        "incident.reported",
        actor=user,
        target=f"incident:{incident.id}",
        detail={"site": site.id, "category": category, "severity": severity},
    )
    if severity in ("high", "critical"):
        notifications.notify(
            notifications.site_watchers(site.id),
            kind=f"incident_{severity}",
            dedupe_key=f"incident:{incident.id}:{severity}",
            subject=site.name,
            link=f"/incidents/{incident.id}",
        )
    return incident


def update_incident(
    incident: Incident, *, user, note: str = "", to_status: str | None = None
) -> IncidentUpdate:
    """Add to the timeline: a note and/or a status change (only the allowed ones)."""
    if to_status == incident.status:
        to_status = None
    if to_status is not None and to_status not in TRANSITIONS[incident.status]:
        raise IncidentError("bad_transition")
    if not note.strip() and to_status is None:
        raise IncidentError("empty_update")
    entry = IncidentUpdate(
        incident_id=incident.id,
        author_id=user.id,
        at=utcnow(),
        note=note.strip(),
        from_status=incident.status if to_status else None,
        to_status=to_status,
    )
    if to_status:
        incident.status = to_status
    db.session.add(entry)
    incident.updates.append(entry)
    db.session.flush()
    audit.record(
        "incident.updated",
        actor=user,
        target=f"incident:{incident.id}",
        detail={"to": to_status} if to_status else {},
    )
    return entry


def record_notified(
    incident: Incident,
    *,
    user,
    who: str,
    at: datetime,
    unit: str = "",
    case_number: str = "",
) -> None:
    """Record when the client, the police or 119 were told (once each).

    保全業法 §4-1: a police notification names the unit that took the report (受理單位,
    required) and its case number (案號), which may come later: add_police_case_number.
    119 is for a fire only.
    """
    if who not in ("client", "police", "fire") or (who == "fire" and incident.category != "fire"):
        raise IncidentError("bad_value")
    field = f"{who}_notified_at"
    if getattr(incident, field) is not None:
        return
    unit, case_number = unit.strip(), case_number.strip()
    if who == "police" and not unit:
        raise IncidentError("police_unit_required", field="unit")
    if at > utcnow():
        raise IncidentError("in_future")
    setattr(incident, field, at)
    detail = None
    if who == "police":
        incident.police_unit, incident.police_case_number = unit, case_number
        detail = {"unit": unit, "case_number": case_number}
    entry = IncidentUpdate(
        incident_id=incident.id, author_id=user.id, at=utcnow(), event=f"{who}_notified"
    )
    db.session.add(entry)
    incident.updates.append(entry)
    db.session.flush()
    audit.record(
        f"incident.{who}_notified", actor=user, target=f"incident:{incident.id}", detail=detail
    )


def add_police_case_number(incident: Incident, *, user, case_number: str) -> None:
    """The case number the police gave, added after the notification was recorded (the
    station often gives it later). A corrected number replaces the old one; both are in the
    audit log and the timeline."""
    case_number = case_number.strip()
    if incident.police_notified_at is None:
        raise IncidentError("police_first")
    if not case_number:
        raise IncidentError("case_number_required", field="case_number")
    if case_number == incident.police_case_number:
        return
    before, incident.police_case_number = incident.police_case_number, case_number
    entry = IncidentUpdate(
        incident_id=incident.id,
        author_id=user.id,
        at=utcnow(),
        event="police_case_number",
        note=case_number,
    )
    db.session.add(entry)
    incident.updates.append(entry)
    db.session.flush()
    audit.record(
        "incident.police_case_number",
        actor=user,
        target=f"incident:{incident.id}",
        detail={"from": before, "to": case_number},
    )


#: The longest summary a client reads (a few sentences, not a report).
CLIENT_SUMMARY_MAX = 2000


def share_with_client(incident: Incident, *, user, summary: str) -> bool:
    """Share the incident with its site's client in the portal, with the summary written for
    him (the narrative stays inside: it may name people); shared already: the summary is
    replaced. Returns True when it was not shared before."""
    summary = summary.strip()
    if not summary:
        raise IncidentError("summary_required", field="client_summary")
    first = incident.shared_with_client_at is None
    changed = first or summary != incident.client_summary
    incident.client_summary = summary[:CLIENT_SUMMARY_MAX]
    if first:
        incident.shared_with_client_at = utcnow()
        incident.shared_by_id = user.id
    if changed:
        entry = IncidentUpdate(
            incident_id=incident.id,
            author_id=user.id,
            at=utcnow(),
            event="shared_with_client" if first else "client_summary_changed",
        )
        db.session.add(entry)
        incident.updates.append(entry)
    db.session.flush()
    if changed:
        # The summary itself stays out of the append-only log: the incident holds it.
        audit.record(
            "incident.shared_with_client" if first else "incident.client_summary_changed",
            actor=user,
            target=f"incident:{incident.id}",
            detail={"site": incident.site_id, "summary_length": len(incident.client_summary)},
        )
    return first


def unshare_with_client(incident: Incident, *, user) -> None:
    """Stop showing the incident to the client; its summary is kept for a later share."""
    if incident.shared_with_client_at is None:
        raise IncidentError("not_shared")
    incident.shared_with_client_at = None
    incident.shared_by_id = None
    entry = IncidentUpdate(
        incident_id=incident.id, author_id=user.id, at=utcnow(), event="unshared_with_client"
    )
    db.session.add(entry)
    incident.updates.append(entry)
    db.session.flush()
    audit.record(
        "incident.unshared_with_client",
        actor=user,
        target=f"incident:{incident.id}",
        detail={"site": incident.site_id},
    )


def attach_incident_photo(incident: Incident, *, user, data: bytes, uuid: str | None) -> None:
    """The inspection photo pipeline, reused: check, strip, store; then link."""
    photo = photo_pipeline.store_photo(data, owner=user, site_id=incident.site_id, uuid=uuid)
    linked = db.session.scalar(select(IncidentPhoto).where(IncidentPhoto.photo_id == photo.id))
    if linked is not None:
        if linked.incident_id != incident.id:
            raise photo_pipeline.PhotoError("conflict")
        return
    link = IncidentPhoto(incident_id=incident.id, photo_id=photo.id)
    db.session.add(link)
    incident.photos.append(link)
    db.session.flush()


def incidents_query(user) -> Select:
    """Incidents of the sites the user may see, with what every list shows of them."""
    return site_services.scope_to_sites(
        select(Incident).options(joinedload(Incident.site), joinedload(Incident.reporter)),
        Incident.site_id,
        user,
    )


def list_incidents(
    user,
    *,
    site_id: int | None = None,
    status: str = "",
    category: str = "",
    severity: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    stmt = incidents_query(user)
    if site_id:
        stmt = stmt.where(Incident.site_id == site_id)
    if status == "active":
        stmt = stmt.where(Incident.status.in_(("open", "in_progress")))
    elif status:
        stmt = stmt.where(Incident.status == status)
    if category:
        stmt = stmt.where(Incident.category == category)
    if severity:
        stmt = stmt.where(Incident.severity == severity)
    if since:
        stmt = stmt.where(Incident.occurred_at >= since)
    if until:
        stmt = stmt.where(Incident.occurred_at < until)
    return paginate(
        stmt.order_by(Incident.occurred_at.desc(), Incident.id.desc()), page=page, per_page=per_page
    )


# ---------------------------------------------------------------- alarm responses


def open_alarm(
    site: Site,
    *,
    user,
    uuid: str,
    received_at: datetime,
    signal_type: str,
    zone: str = "",
    guard_id: int | None = None,
) -> AlarmResponse:
    """An alarm came in from the monitoring centre: its signal and zone."""
    existing = db.session.scalar(select(AlarmResponse).where(AlarmResponse.uuid == uuid))
    if existing is not None:
        return existing
    if signal_type not in SIGNAL_TYPES:
        raise IncidentError("bad_value", field="signal_type")
    if received_at > utcnow():
        raise IncidentError("in_future")
    alarm = AlarmResponse(
        uuid=uuid,
        site_id=site.id,
        created_by_id=user.id,
        received_at=received_at,
        signal_type=signal_type,
        zone=zone.strip()[:100],
    )
    db.session.add(alarm)
    db.session.flush()
    audit.record(
        "alarm.received",
        actor=user,
        target=f"alarm:{alarm.id}",
        detail={"site": site.id, "signal": signal_type},
    )
    if guard_id:
        dispatch(alarm, user=user, guard_id=guard_id, at=utcnow())
    return alarm


def _step(alarm: AlarmResponse, field: str, at: datetime, *, before: str | None) -> None:
    if alarm.cleared_at is not None:
        raise IncidentError("already_cleared")
    if getattr(alarm, field) is not None:
        raise IncidentError("already_recorded")
    if at > utcnow():
        raise IncidentError("in_future")
    earlier = getattr(alarm, before) if before else None
    if earlier is not None and at < earlier:
        raise IncidentError("out_of_order")
    setattr(alarm, field, at)


def record_callback(
    alarm: AlarmResponse, *, user, at: datetime, answered_by: str, result: str
) -> None:
    """The call to the client: who answered, whether the call-back password matched (the
    password is never stored here: it is revealed from the vault, and audited there)."""
    if result not in CALLBACK_RESULTS:
        raise IncidentError("bad_value", field="result")
    answered_by = answered_by.strip()[:100]
    if result != "not_reached" and not answered_by:
        raise IncidentError("answered_by_required", field="answered_by")
    _step(alarm, "callback_at", at, before="received_at")
    alarm.callback_answered_by = answered_by if result != "not_reached" else ""
    alarm.callback_result = result
    db.session.flush()
    audit.record(
        "alarm.callback", actor=user, target=f"alarm:{alarm.id}", detail={"result": result}
    )


def dispatch(alarm: AlarmResponse, *, user, guard_id: int, at: datetime) -> None:
    """A mobile guard is sent."""
    _step(alarm, "dispatched_at", at, before="received_at")
    alarm.guard_id = guard_id
    db.session.flush()
    audit.record(
        "alarm.dispatched", actor=user, target=f"alarm:{alarm.id}", detail={"guard": guard_id}
    )
    if guard_id != user.id:  # the guard sent hears of it, on his phone too (push)
        notifications.notify(
            [db.session.get(User, guard_id)],
            kind="alarm_dispatched",
            dedupe_key=f"alarm:{alarm.id}:dispatched:{guard_id}",
            subject=alarm.site.name,
            link=f"/alarms/{alarm.id}",
        )


def _is_arrival_scan(alarm: AlarmResponse, check_in: CheckIn) -> bool:
    """A check-in proves arrival only if it came through the label's URL (method "qr", set by
    the server), at the alarm's site, inside the alarm's window: after the dispatch (or the
    alarm, if nobody was sent) and before it was cleared, by the guard sent if there is one."""
    start = alarm.dispatched_at or alarm.received_at
    return (
        check_in.method == "qr"
        and check_in.site_id == alarm.site_id
        and check_in.received_at >= start
        and (alarm.cleared_at is None or check_in.received_at <= alarm.cleared_at)
        and (alarm.guard_id is None or check_in.user_id == alarm.guard_id)
    )


def arrive(alarm: AlarmResponse, *, user, check_in: CheckIn | None) -> None:
    """The guard is on site: only ever by his QR check-in at the site in the alarm's window
    (recorded when he scans, or by a supervisor from that scan); the arrival is its time."""
    if check_in is None or not _is_arrival_scan(alarm, check_in):
        raise IncidentError("scan_required")
    _step(
        alarm,
        "arrived_at",
        check_in.received_at,
        before="dispatched_at" if alarm.dispatched_at else "received_at",
    )
    alarm.arrival_check_in_id = check_in.id
    db.session.flush()
    audit.record(
        "alarm.arrived",
        actor=user,
        target=f"alarm:{alarm.id}",
        detail={"by_scan": True, "check_in": check_in.id},
    )


def arrival_scan(alarm: AlarmResponse) -> CheckIn | None:
    """The first QR check-in that proves the alarm's arrival, if there is one."""
    start = alarm.dispatched_at or alarm.received_at
    stmt = select(CheckIn).where(
        CheckIn.site_id == alarm.site_id,
        CheckIn.method == "qr",
        CheckIn.received_at >= start,
        CheckIn.received_at <= (alarm.cleared_at or utcnow()),
    )
    if alarm.guard_id is not None:
        stmt = stmt.where(CheckIn.user_id == alarm.guard_id)
    return db.session.scalar(stmt.order_by(CheckIn.received_at).limit(1))


def arrive_from_scan(alarm: AlarmResponse, *, user) -> None:
    """A supervisor records the arrival from the guard's QR scan (refused without one)."""
    if alarm.cleared_at is not None:
        raise IncidentError("already_cleared")
    if alarm.arrived_at is not None:
        raise IncidentError("already_recorded")
    check_in = arrival_scan(alarm)
    if check_in is not None and alarm.guard_id is None:
        dispatch(alarm, user=user, guard_id=check_in.user_id, at=check_in.received_at)
    arrive(alarm, user=user, check_in=check_in)


def record_findings(alarm: AlarmResponse, *, user, findings: str) -> None:
    """What the guard found on site (after his arrival)."""
    findings = findings.strip()
    if not findings:
        raise IncidentError("findings_required", field="findings")
    if alarm.arrived_at is None and alarm.cleared_at is None:
        raise IncidentError("arrival_first")
    _step(alarm, "findings_at", utcnow(), before="arrived_at")
    alarm.findings = findings
    db.session.flush()
    audit.record("alarm.findings", actor=user, target=f"alarm:{alarm.id}")


def notify_police(alarm: AlarmResponse, *, user, at: datetime, unit: str, case_number: str) -> None:
    """保全業法 §4-1: the police were told — when, which unit took it, its case number."""
    unit, case_number = unit.strip()[:100], case_number.strip()[:50]
    if not unit:
        raise IncidentError("police_unit_required", field="unit")
    if not case_number:
        raise IncidentError("case_number_required", field="case_number")
    _step(alarm, "police_notified_at", at, before="received_at")
    alarm.police_unit = unit
    alarm.police_case_number = case_number
    db.session.flush()
    audit.record(
        "alarm.police_notified",
        actor=user,
        target=f"alarm:{alarm.id}",
        detail={"unit": unit, "case": case_number},
    )


def notify_fire(alarm: AlarmResponse, *, user, at: datetime) -> None:
    """A fire: 119 was called."""
    _step(alarm, "fire_notified_at", at, before="received_at")
    db.session.flush()
    audit.record("alarm.fire_notified", actor=user, target=f"alarm:{alarm.id}")


def may_confirm_rearm(alarm: AlarmResponse) -> bool:
    """Re-arming comes after the guard's arrival, or after the call-back when nobody was sent
    (a site armed again before the guard is there would lock him out, or an intruder in)."""
    return bool(alarm.arrived_at or (alarm.dispatched_at is None and alarm.callback_at))


def confirm_rearm(alarm: AlarmResponse, *, user, at: datetime, rearmed_by: str) -> None:
    """The system is armed again (the centre saw the arming signal): after the guard's
    arrival, or after the call-back when no guard was sent."""
    rearmed_by = rearmed_by.strip()[:100]
    if not rearmed_by:
        raise IncidentError("rearmed_by_required", field="rearmed_by")
    if alarm.cleared_at is None and not may_confirm_rearm(alarm):
        raise IncidentError("rearm_too_early")
    _step(alarm, "rearmed_at", at, before="arrived_at" if alarm.arrived_at else "callback_at")
    alarm.rearmed_by = rearmed_by
    db.session.flush()
    audit.record("alarm.rearmed", actor=user, target=f"alarm:{alarm.id}")


def close(
    alarm: AlarmResponse,
    *,
    user,
    at: datetime,
    cause: str,
    note: str = "",
    incident_id: int | None = None,
) -> None:
    """The alarm is dealt with (處理完畢): its cause, and the incident it became, if any.
    Refused while the law or the procedure asks for a step first (CloseRefused names each)."""
    if cause not in ALARM_CAUSES:
        raise IncidentError("bad_value", field="cause")
    if alarm.cleared_at is None:
        missing = alarm.missing_before_close(cause)
        if missing:
            raise CloseRefused(missing)
    _step(alarm, "cleared_at", at, before="arrived_at" if alarm.arrived_at else "received_at")
    alarm.cause = cause
    alarm.note = note.strip()
    if incident_id:
        incident = db.session.get(Incident, incident_id)
        alarm.incident_id = (
            incident.id if incident is not None and incident.site_id == alarm.site_id else None
        )
    db.session.flush()
    audit.record(
        "alarm.closed",
        actor=user,
        target=f"alarm:{alarm.id}",
        detail={"cause": cause, "false_alarm": cause in FALSE_ALARM_CAUSES},
    )


def _running_alarm_for(check_in: CheckIn, user) -> AlarmResponse | None:
    """The newest running alarm without arrival at the check-in's site that the user was sent
    to (or that nobody was sent to yet)."""
    return db.session.scalar(
        select(AlarmResponse)
        .where(
            AlarmResponse.site_id == check_in.site_id,
            AlarmResponse.arrived_at.is_(None),
            AlarmResponse.cleared_at.is_(None),
            or_(AlarmResponse.guard_id == user.id, AlarmResponse.guard_id.is_(None)),
        )
        .order_by(AlarmResponse.received_at.desc())
        .limit(1)
    )


def arrival_by_check_in(check_in: CheckIn, *, user) -> AlarmResponse | None:
    """A guard's QR scan at a site with a running alarm he was sent to records his arrival.

    Only a check-in through the label's URL (not a typed code) whose reported location is not
    off site counts.
    """
    if check_in.method != "qr" or check_in.verdict == "off_site":
        return None
    alarm = _running_alarm_for(check_in, user)
    if alarm is None or check_in.received_at < alarm.received_at:
        return None
    try:
        if alarm.guard_id is None:
            dispatch(alarm, user=user, guard_id=user.id, at=check_in.received_at)
        arrive(alarm, user=user, check_in=check_in)
    except IncidentError:
        return None  # a late-arriving queued check-in older than the dispatch: not an arrival
    return alarm


def count_active_by_severity(user) -> dict[str, int]:
    """Open and in-progress incidents of the user's sites, counted per severity (one statement)."""
    scoped = incidents_query(user).where(Incident.status.in_(("open", "in_progress")))
    ids = scoped.with_only_columns(Incident.id).options()
    rows = db.session.execute(
        select(Incident.severity, func.count())
        .where(Incident.id.in_(ids))
        .group_by(Incident.severity)
    )
    counts = dict(rows.all())
    return {s: counts.get(s, 0) for s in ("critical", "high", "medium", "low")}


def count_running_alarms(user) -> int:
    """Alarm responses not yet cleared at the user's sites (one statement)."""
    ids = alarms_query(user).where(AlarmResponse.cleared_at.is_(None))
    ids = ids.with_only_columns(AlarmResponse.id).options()
    return db.session.scalar(select(func.count()).where(AlarmResponse.id.in_(ids))) or 0


def _arrival_follow_up(check_in: CheckIn, user):
    """A check-in's follow-up: the arrival of an alarm response it records, if any."""
    if arrival_by_check_in(check_in, user=user) is not None:
        return _l("Arrival recorded for the alarm response.")
    if check_in.method != "qr" and _running_alarm_for(check_in, user) is not None:
        return _l(
            "Your arrival for the alarm is not recorded by a typed code: scan the QR code on "
            "the site label."
        )
    return None


if _arrival_follow_up not in site_services.CHECK_IN_FOLLOW_UPS:
    site_services.CHECK_IN_FOLLOW_UPS.append(_arrival_follow_up)


def alarms_query(user) -> Select:
    """Managers all; supervisors their sites'; guards those they were sent to, at their sites."""
    stmt = site_services.scope_to_sites(
        select(AlarmResponse).options(
            joinedload(AlarmResponse.site), joinedload(AlarmResponse.guard)
        ),
        AlarmResponse.site_id,
        user,
    )
    if not policy.can_list_site_work(user):
        stmt = stmt.where(AlarmResponse.guard_id == user.id)
    return stmt


def running_alarms(user, *, sent_to_me: bool = False) -> list[AlarmResponse]:
    """Alarms not yet cleared, oldest first; `sent_to_me`: only those the user was sent to."""
    stmt = alarms_query(user).where(AlarmResponse.cleared_at.is_(None))
    if sent_to_me:
        stmt = stmt.where(AlarmResponse.guard_id == user.id)
    return list(db.session.scalars(stmt.order_by(AlarmResponse.received_at)))


def _filtered(stmt: Select, filters: AlarmFilter) -> Select:
    if filters.site_id:
        stmt = stmt.where(AlarmResponse.site_id == filters.site_id)
    if filters.since:
        stmt = stmt.where(AlarmResponse.received_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AlarmResponse.received_at < filters.until)
    if filters.cause in ALARM_CAUSES:
        stmt = stmt.where(AlarmResponse.cause == filters.cause)
    if filters.false_only:
        stmt = stmt.where(
            AlarmResponse.cleared_at.is_not(None),
            AlarmResponse.cause.in_(sorted(FALSE_ALARM_CAUSES)),
        )
    return stmt


@dataclass(frozen=True)
class AlarmFilter:
    """The alarm list's filters, and the period of the false-alarm figures (UTC instants,
    from the start of a Taipei day to the start of the day after the last)."""

    site_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    cause: str = ""
    false_only: bool = False


def list_alarms(
    user, filters: AlarmFilter | None = None, *, page: int = 1, per_page: int = 25
) -> Page:
    stmt = _filtered(alarms_query(user), filters or AlarmFilter())
    return paginate(stmt.order_by(AlarmResponse.received_at.desc()), page=page, per_page=per_page)


@dataclass
class SiteFigures:
    """One site's alarms in a period: all received, closed, false alarms among the closed."""

    site: Site
    alarms: int = 0
    closed: int = 0
    false_alarms: int = 0

    @property
    def rate(self) -> float | None:
        """False alarms per closed alarm (None before any is closed)."""
        return self.false_alarms / self.closed if self.closed else None


@dataclass
class AlarmFigures:
    sites: list[SiteFigures]
    #: cause -> closed alarms with it, every cause listed (zero too).
    by_cause: dict[str, int]

    @property
    def total(self) -> SiteFigures:
        total = SiteFigures(site=None)  # type: ignore[arg-type]
        for row in self.sites:
            total.alarms += row.alarms
            total.closed += row.closed
            total.false_alarms += row.false_alarms
        return total


def false_alarm_figures(user, filters: AlarmFilter) -> AlarmFigures:
    """Alarms, false alarms (FALSE_ALARM_CAUSES) and their rate per site, and closed alarms
    per cause, of the alarms received in the period at the sites the user may see. Two
    statements whatever the data: the counts grouped by site and cause, then the sites."""
    scoped = _filtered(alarms_query(user), AlarmFilter(since=filters.since, until=filters.until))
    ids = scoped.with_only_columns(AlarmResponse.id).options()
    rows = db.session.execute(
        select(
            AlarmResponse.site_id,
            AlarmResponse.cause,
            func.count(),
            func.count(AlarmResponse.cleared_at),
        )
        .where(AlarmResponse.id.in_(ids))
        .group_by(AlarmResponse.site_id, AlarmResponse.cause)
    ).all()
    per_site: dict[int, SiteFigures] = {}
    by_cause = dict.fromkeys(ALARM_CAUSES, 0)
    site_ids = sorted({site_id for site_id, *_ in rows})
    sites = (
        {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(site_ids)))}
        if site_ids
        else {}
    )
    for site_id, cause, count, closed_count in rows:
        figures = per_site.setdefault(site_id, SiteFigures(site=sites[site_id]))
        figures.alarms += count
        figures.closed += closed_count
        if cause in FALSE_ALARM_CAUSES:
            figures.false_alarms += closed_count
        if cause in by_cause:
            by_cause[cause] += closed_count
    ordered = sorted(per_site.values(), key=lambda f: (-f.false_alarms, f.site.code))
    return AlarmFigures(sites=ordered, by_cause=by_cause)


def notify_late_alarms(now: datetime) -> int:
    """Running alarms past their arrival target notify the site's supervisors and managers."""
    count = 0
    for alarm in db.session.scalars(
        select(AlarmResponse).where(
            AlarmResponse.arrived_at.is_(None), AlarmResponse.cleared_at.is_(None)
        )
    ):
        if alarm.is_late(now):
            count += len(
                notifications.notify(
                    notifications.site_watchers(alarm.site_id),
                    kind="alarm_late",
                    dedupe_key=f"alarm:{alarm.id}:late",
                    subject=alarm.site.name,
                    link=f"/alarms/{alarm.id}",
                )
            )
    return count
