"""Incident and alarm-response state machines, police prompts, response times, notifications."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as svc
from app.incidents.models import AlarmResponse
from app.notifications.models import Notification
from app.sites import services as site_services
from tests import factories


@pytest.fixture
def people(app, make_user):
    site = factories.gen_site(arrival_target_minutes=20)
    guard, supervisor, manager = make_user("guard"), make_user("supervisor"), make_user("manager")
    other_supervisor = make_user("supervisor")
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    db.session.commit()
    return {
        "site": site,
        "guard": guard,
        "supervisor": supervisor,
        "manager": manager,
        "other": other_supervisor,
    }


def report(people, **fields):
    values = {
        "category": "intrusion",
        "severity": "medium",
        "occurred_at": utcnow() - timedelta(minutes=5),
        "narrative": "後門磁簧觸發",
    }
    values.update(fields)
    return svc.report_incident(people["site"], user=people["guard"], uuid=new_uuid(), **values)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["in_progress", "resolved", "closed"], True),
        (["resolved", "in_progress", "resolved", "closed"], True),
        (["closed"], False),
        (["in_progress", "open"], False),
        (["resolved", "closed", "open"], False),
    ],
)
def test_incident_status_transitions(people, path, allowed):
    incident = report(people)
    try:
        for status in path:
            svc.update_incident(incident, user=people["supervisor"], to_status=status)
    except svc.IncidentError as exc:
        assert not allowed and exc.key == "bad_transition"
    else:
        assert allowed and incident.status == path[-1]
    entries = [u for u in incident.updates if u.to_status]
    assert all(e.from_status != e.to_status for e in entries)


def test_an_update_needs_a_note_or_a_status(people):
    with pytest.raises(svc.IncidentError, match="empty_update"):
        svc.update_incident(report(people), user=people["supervisor"], note="  ")


def test_the_same_report_sent_twice_is_one_incident(people):
    key = new_uuid()
    first = svc.report_incident(
        people["site"],
        user=people["guard"],
        uuid=key,
        category="fire",
        severity="low",
        occurred_at=utcnow(),
        narrative="x",
    )
    again = svc.report_incident(
        people["site"],
        user=people["guard"],
        uuid=key,
        category="fire",
        severity="low",
        occurred_at=utcnow(),
        narrative="x",
    )
    assert first.id == again.id


def test_police_categories_prompt_until_recorded(people):
    theft = report(people, category="theft")
    medical = report(people, category="medical")
    assert theft.needs_police_report and not medical.needs_police_report
    svc.record_notified(
        theft, user=people["supervisor"], who="police", at=utcnow(), unit="大安分局 和平東路派出所"
    )
    assert not theft.needs_police_report
    assert theft.updates[-1].event == "police_notified"


def test_a_police_notification_names_the_receiving_unit_and_the_case_number_may_come_later(
    people,
):
    from app.audit.models import AuditEvent

    theft = report(people, category="theft")
    boss = people["supervisor"]
    with pytest.raises(svc.IncidentError, match="police_first") as refused:
        svc.add_police_case_number(theft, user=boss, case_number="1151126-0042")
    with pytest.raises(svc.IncidentError, match="police_unit_required") as refused:
        svc.record_notified(theft, user=boss, who="police", at=utcnow(), unit="  ")
    assert refused.value.field == "unit"
    assert theft.police_notified_at is None and theft.updates == []

    svc.record_notified(
        theft, user=boss, who="police", at=utcnow(), unit=" 大安分局 和平東路派出所 "
    )
    assert (theft.police_unit, theft.police_case_number) == ("大安分局 和平東路派出所", "")
    with pytest.raises(svc.IncidentError, match="case_number_required"):
        svc.add_police_case_number(theft, user=boss, case_number=" ")
    svc.add_police_case_number(theft, user=boss, case_number="1151126-0042")
    svc.add_police_case_number(theft, user=boss, case_number="1151126-0042")  # no change
    svc.add_police_case_number(theft, user=boss, case_number="1151126-0043")  # corrected
    assert theft.police_case_number == "1151126-0043"
    assert [(u.event, u.note) for u in theft.updates] == [
        ("police_notified", ""),
        ("police_case_number", "1151126-0042"),
        ("police_case_number", "1151126-0043"),
    ]
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target == f"incident:{theft.id}",
            AuditEvent.action.like("incident.police%"),
        )
        .order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, json.loads(e.detail)) for e in events] == [
        (
            "incident.police_notified",
            {"unit": "大安分局 和平東路派出所", "case_number": ""},
        ),
        ("incident.police_case_number", {"from": "", "to": "1151126-0042"}),
        ("incident.police_case_number", {"from": "1151126-0042", "to": "1151126-0043"}),
    ]


def test_a_fire_is_also_reported_to_119_and_only_a_fire(people):
    fire, theft = report(people, category="fire"), report(people, category="theft")
    assert fire.needs_fire_report and not theft.needs_fire_report
    with pytest.raises(svc.IncidentError, match="bad_value"):
        svc.record_notified(theft, user=people["supervisor"], who="fire", at=utcnow())
    svc.record_notified(fire, user=people["supervisor"], who="fire", at=utcnow())
    assert fire.fire_notified_at is not None and not fire.needs_fire_report
    assert fire.needs_police_report  # 119 does not replace the police
    assert fire.updates[-1].event == "fire_notified"


def test_a_future_time_is_refused(people):
    with pytest.raises(svc.IncidentError, match="in_future"):
        report(people, occurred_at=utcnow() + timedelta(hours=1))


def test_high_and_critical_incidents_notify_the_sites_supervisors_and_managers(people):
    report(people, severity="low")
    assert db.session.scalar(select(Notification)) is None
    incident = report(people, severity="critical")
    notified = {n.user_id for n in db.session.scalars(select(Notification))}
    assert notified == {people["supervisor"].id, people["manager"].id}
    assert people["other"].id not in notified and people["guard"].id not in notified
    assert all(
        n.link == f"/incidents/{incident.id}" for n in db.session.scalars(select(Notification))
    )


def open_alarm(people, minutes_ago=30, signal_type="panic"):
    return svc.open_alarm(
        people["site"],
        user=people["supervisor"],
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=minutes_ago),
        signal_type=signal_type,
        zone="03 後門磁簧",
    )


def qr_scan(people, *, minutes_ago: float = 0, method: str = "qr"):
    """The guard's check-in at the site, received `minutes_ago`."""
    check_in = site_services.record_check_in(
        people["site"],
        user=people["guard"],
        uuid=new_uuid(),
        method=method,
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    check_in.received_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.flush()
    return check_in


def test_alarm_steps_in_order_and_response_time(people):
    alarm = open_alarm(people, minutes_ago=30)
    svc.dispatch(
        alarm,
        user=people["supervisor"],
        guard_id=people["guard"].id,
        at=utcnow() - timedelta(minutes=28),
    )
    svc.arrive(alarm, user=people["guard"], check_in=qr_scan(people, minutes_ago=15))
    assert alarm.response_time == pytest.approx(timedelta(minutes=15), abs=timedelta(seconds=2))
    assert not alarm.is_late(utcnow())
    with pytest.raises(svc.IncidentError, match="already_recorded"):
        svc.arrive(alarm, user=people["guard"], check_in=qr_scan(people))
    svc.close(alarm, user=people["supervisor"], at=utcnow(), cause="user_error")
    assert not alarm.is_running
    with pytest.raises(svc.IncidentError, match="already_cleared"):
        svc.dispatch(alarm, user=people["supervisor"], guard_id=people["guard"].id, at=utcnow())


def test_a_step_before_the_previous_one_is_refused(people):
    alarm = open_alarm(people, minutes_ago=10)
    with pytest.raises(svc.IncidentError, match="out_of_order"):
        svc.dispatch(
            alarm,
            user=people["supervisor"],
            guard_id=people["guard"].id,
            at=utcnow() - timedelta(minutes=20),
        )


def test_late_is_past_the_sites_target_arrived_or_not(people):
    slow = open_alarm(people, minutes_ago=40)
    svc.arrive(slow, user=people["guard"], check_in=qr_scan(people, minutes_ago=10))  # 30 > 20
    waiting = open_alarm(people, minutes_ago=25)
    fresh = open_alarm(people, minutes_ago=5)
    now = utcnow()
    assert slow.is_late(now) and waiting.is_late(now) and not fresh.is_late(now)


def test_overdue_alarms_notify_once(people):
    open_alarm(people, minutes_ago=25)
    assert svc.notify_late_alarms(utcnow()) == 2
    assert svc.notify_late_alarms(utcnow()) == 0


def test_the_guards_qr_scan_records_his_arrival(people):
    alarm = open_alarm(people, minutes_ago=12)
    svc.dispatch(
        alarm,
        user=people["supervisor"],
        guard_id=people["guard"].id,
        at=utcnow() - timedelta(minutes=11),
    )
    check_in = site_services.record_check_in(
        people["site"],
        user=people["guard"],
        uuid=new_uuid(),
        method="qr",
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    assert svc.arrival_by_check_in(check_in, user=people["guard"]) is alarm
    assert alarm.arrived_at == check_in.received_at and alarm.arrival_check_in_id == check_in.id
    # a second scan changes nothing
    again = site_services.record_check_in(
        people["site"],
        user=people["guard"],
        uuid=new_uuid(),
        method="qr",
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    assert svc.arrival_by_check_in(again, user=people["guard"]) is None


def test_another_guards_scan_does_not_arrive_for_the_dispatched_one(people, make_user):
    colleague = make_user("guard")
    factories.assign(colleague, people["site"])
    alarm = open_alarm(people, minutes_ago=5)
    svc.dispatch(alarm, user=people["supervisor"], guard_id=people["guard"].id, at=utcnow())
    check_in = site_services.record_check_in(
        people["site"],
        user=colleague,
        uuid=new_uuid(),
        method="qr",
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    assert svc.arrival_by_check_in(check_in, user=colleague) is None
    assert db.session.get(AlarmResponse, alarm.id).arrived_at is None


@pytest.mark.parametrize(
    ("scan", "why"),
    [
        ({"method": "code", "minutes_ago": 1}, "a typed code"),
        ({"minutes_ago": 12}, "before the alarm"),
        (None, "no check-in at all"),
    ],
)
def test_an_arrival_needs_a_qr_check_in_inside_the_alarms_window(people, scan, why):
    alarm = open_alarm(people, minutes_ago=10)
    check_in = qr_scan(people, **scan) if scan else None
    with pytest.raises(svc.IncidentError, match="scan_required"):
        svc.arrive(alarm, user=people["guard"], check_in=check_in)
    with pytest.raises(svc.IncidentError, match="scan_required"):
        svc.arrive_from_scan(alarm, user=people["supervisor"])
    assert alarm.arrived_at is None, why


def test_another_sites_scan_is_no_arrival(people):
    alarm = open_alarm(people, minutes_ago=10)
    elsewhere = factories.gen_site()
    factories.assign(people["guard"], elsewhere)
    check_in = site_services.record_check_in(
        elsewhere,
        user=people["guard"],
        uuid=new_uuid(),
        method="qr",
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    with pytest.raises(svc.IncidentError, match="scan_required"):
        svc.arrive(alarm, user=people["guard"], check_in=check_in)
