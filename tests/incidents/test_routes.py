"""Incidents and alarm responses over HTTP."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import AlarmResponse, Incident
from app.sites.models import CheckIn
from tests import factories


@pytest.fixture
def crew(app, make_user):
    site = factories.gen_site(name="板橋總廠")
    guard, supervisor = make_user("guard", display_name="陳志明"), make_user("supervisor")
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    db.session.commit()
    return {"site": site, "guard": guard, "supervisor": supervisor}


def taipei_input(minutes_ago: int = 0) -> str:
    return (utcnow() + timedelta(hours=8) - timedelta(minutes=minutes_ago)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def test_guard_reports_an_incident_with_a_photo(client, crew, login):
    login(crew["guard"])
    form = client.get(f"/incidents/new?site={crew['site'].id}&lang=en").text
    assert "What happened" in form
    response = client.post(
        "/incidents/new",
        data={
            "uuid": new_uuid(),
            "site_id": str(crew["site"].id),
            "category": "theft",
            "severity": "high",
            "occurred_at": taipei_input(10),
            "narrative": "倉庫門鎖被破壞",
        },
    )
    assert response.status_code == 303
    incident = db.session.scalar(select(Incident))
    assert (incident.reporter_id, incident.status) == (crew["guard"].id, "open")
    assert abs((utcnow() - incident.occurred_at) - timedelta(minutes=10)) < timedelta(minutes=2)
    page = client.get(f"/incidents/{incident.id}?lang=en").text
    assert "must be reported to the police" in page
    client.post(
        f"/incidents/{incident.id}/photos",
        data={"photo": (io.BytesIO(factories.png_bytes()), "door.png")},
        content_type="multipart/form-data",
    )
    assert len(db.session.scalar(select(Incident)).photos) == 1


def test_incident_form_explains_its_errors(client, crew, login):
    login(crew["guard"])
    page = client.post(
        "/incidents/new?lang=en",
        data={
            "uuid": new_uuid(),
            "site_id": "0",
            "category": "fire",
            "severity": "low",
            "occurred_at": "",
            "narrative": "",
        },
    ).text
    assert "Describe what happened." in page and "Give the time." in page
    future = client.post(
        "/incidents/new?lang=en",
        data={
            "uuid": new_uuid(),
            "site_id": str(crew["site"].id),
            "category": "fire",
            "severity": "low",
            "occurred_at": taipei_input(-120),
            "narrative": "x",
        },
    ).text
    # Two hours ahead is later today in Taipei, or (from 22:00 there) tomorrow, which the
    # form's date window refuses before the service sees the time.
    if taipei_input(-120)[:10] == taipei_input()[:10]:
        assert "That time is in the future." in future
    else:
        assert "Enter a date between" in future


def test_a_guard_cannot_change_the_status_but_the_supervisor_can(app, client, crew, login):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    db.session.commit()
    login(crew["guard"])
    assert (
        client.post(f"/incidents/{incident.id}/updates", data={"status": "resolved"}).status_code
        == 403
    )
    boss = app.test_client()
    login(crew["supervisor"], test_client=boss)
    boss.post(
        f"/incidents/{incident.id}/updates", data={"status": "in_progress", "note": "派員處理"}
    )
    boss.post(
        f"/incidents/{incident.id}/updates?lang=en", data={"status": "closed"}
    )  # refused: not resolved yet
    db.session.refresh(incident)
    assert incident.status == "in_progress"
    boss.post(
        f"/incidents/{incident.id}/notified",
        data={"who": "police", "at": taipei_input(1), "unit": "板橋分局 後埔派出所"},
    )
    db.session.refresh(incident)
    assert incident.police_notified_at is not None


def test_the_police_notification_on_the_incident_page_unit_required_case_number_later(
    app, crew, login
):
    incident = factories.gen_incident(crew["site"], crew["guard"], category="theft")
    db.session.commit()
    boss = app.test_client()
    login(crew["supervisor"], test_client=boss)
    page = boss.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    assert 'name="unit"' in page and 'name="case_number"' in page

    refused = boss.post(
        f"/incidents/{incident.id}/notified?lang=en",
        data={"who": "police", "at": taipei_input(5), "case_number": "1151126-0042"},
        follow_redirects=True,
    )
    assert "Give the police unit that took the report." in refused.get_data(as_text=True)
    db.session.refresh(incident)
    assert incident.police_notified_at is None

    boss.post(
        f"/incidents/{incident.id}/notified",
        data={"who": "police", "at": taipei_input(5), "unit": "板橋分局 後埔派出所"},
    )
    db.session.refresh(incident)
    assert (incident.police_unit, incident.police_case_number) == ("板橋分局 後埔派出所", "")
    page = boss.get(f"/incidents/{incident.id}?lang=zh-TW").get_data(as_text=True)
    assert "板橋分局 後埔派出所" in page and "尚未記錄案號" in page

    empty = boss.post(
        f"/incidents/{incident.id}/police-case-number?lang=en",
        data={"case_number": ""},
        follow_redirects=True,
    )
    assert "Give the case number the police gave." in empty.get_data(as_text=True)
    boss.post(f"/incidents/{incident.id}/police-case-number", data={"case_number": "1151126-0042"})
    db.session.refresh(incident)
    assert incident.police_case_number == "1151126-0042"
    page = boss.get(f"/incidents/{incident.id}?lang=zh-TW").get_data(as_text=True)
    assert "案號 1151126-0042" in page


def test_a_guard_cannot_record_the_police_case_number(client, crew, login):
    incident = factories.gen_incident(crew["site"], crew["guard"], category="theft")
    db.session.commit()
    login(crew["guard"])
    answer = client.post(
        f"/incidents/{incident.id}/police-case-number", data={"case_number": "1151126-0042"}
    )
    assert answer.status_code == 403


def test_incident_list_filters(client, crew, login, make_user):
    factories.gen_incident(crew["site"], crew["guard"], severity="critical", category="fire")
    factories.gen_incident(
        crew["site"], crew["guard"], severity="low", category="false_alarm", status="closed"
    )
    other = factories.gen_site()
    factories.gen_incident(other, crew["supervisor"], category="medical")
    db.session.commit()
    login(crew["guard"])
    page = client.get("/incidents?lang=en").text
    assert "2 incidents" in page  # the other site's is not his
    assert "1 incident" in client.get("/incidents?severity=critical&lang=en").text
    assert "1 incident" in client.get("/incidents?status=active&lang=en").text
    assert "No incidents found" in client.get("/incidents?from=2099-01-01&lang=en").text


def test_alarm_from_receipt_to_qr_arrival_and_closing(app, client, crew, login):
    login(crew["supervisor"])
    response = client.post(
        "/alarms/new",
        data={
            "uuid": new_uuid(),
            "site_id": str(crew["site"].id),
            "received_at": taipei_input(8),
            "signal_type": "panic",
            "zone": "櫃台緊急按鈕",
            "guard_id": str(crew["guard"].id),
        },
    )
    assert response.status_code == 303
    alarm = db.session.scalar(select(AlarmResponse))
    assert alarm.guard_id == crew["guard"].id and alarm.dispatched_at is not None
    phone = app.test_client()
    login(crew["guard"], test_client=phone)
    assert "You have been dispatched" in phone.get("/?lang=en").text
    scan = phone.post(f"/s/{crew['site'].qr_token}/check-in", data={"uuid": new_uuid()})
    assert scan.status_code == 303
    db.session.refresh(alarm)
    assert alarm.arrived_at is not None and alarm.arrival_check_in_id is not None
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "by QR scan" in page and "Time to arrive:" in page
    client.post(f"/alarms/{alarm.id}/close", data={"cause": "user_error", "note": "店員誤觸"})
    db.session.refresh(alarm)
    assert alarm.cause == "user_error" and not alarm.is_running and alarm.is_false_alarm


def test_a_late_alarm_shows_on_the_supervisors_home_and_the_jobs_runner_notifies_it(
    client, crew, login, runner
):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=45),
    )
    db.session.add(alarm)
    db.session.commit()
    login(crew["supervisor"])
    home = client.get("/?lang=en").text
    assert "Open work" in home and "Running alarm responses" in home
    assert "Late" in client.get("/alarms?lang=en").text
    assert "Alarm response running late" not in client.get("/notifications?lang=en").text
    assert runner.invoke(args=["jobs", "run", "--once"]).exit_code == 0
    assert "Alarm response running late" in client.get("/notifications?lang=en").text


def test_unassigning_removes_access_to_the_reporters_incidents_and_alarms(app, client, crew, login):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow(),
        guard_id=crew["guard"].id,
    )
    db.session.add(alarm)
    db.session.commit()
    login(crew["guard"])
    assert client.get(f"/incidents/{incident.id}").status_code == 200
    assert client.get(f"/alarms/{alarm.id}").status_code == 200
    from app.sites.models import SiteAssignment

    db.session.execute(
        SiteAssignment.__table__.delete().where(SiteAssignment.user_id == crew["guard"].id)
    )
    db.session.commit()
    assert client.get(f"/incidents/{incident.id}").status_code == 404
    assert client.get(f"/alarms/{alarm.id}").status_code == 404
    assert "No incidents found" in client.get("/incidents?lang=en").text


def test_a_typed_code_or_an_off_site_scan_is_not_an_arrival(app, client, crew, login):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=5),
        guard_id=crew["guard"].id,
        dispatched_at=utcnow() - timedelta(minutes=4),
    )
    db.session.add(alarm)
    crew["site"].latitude, crew["site"].longitude = 25.0, 121.5
    db.session.commit()
    login(crew["guard"])
    token = crew["site"].qr_token
    typed = client.post(
        f"/sites/{crew['site'].id}/check-in?lang=en", data={"uuid": new_uuid(), "method": "qr"}
    )
    card = client.get(typed.headers["Location"] + "&lang=en").text
    assert "scan the QR code on the site label" in card
    client.post(
        f"/s/{token}/check-in",
        data={"uuid": new_uuid(), "latitude": "25.2", "longitude": "121.5", "accuracy": "10"},
    )
    db.session.refresh(alarm)
    assert alarm.arrived_at is None
    client.post(
        f"/s/{token}/check-in",
        data={"uuid": new_uuid(), "latitude": "25.0", "longitude": "121.5", "accuracy": "10"},
    )
    db.session.refresh(alarm)
    assert alarm.arrived_at is not None


def test_an_alarm_cleared_remotely_without_arrival_is_not_late_for_ever(crew):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(hours=2),
        cleared_at=utcnow() - timedelta(hours=2) + timedelta(minutes=5),
    )
    db.session.add(alarm)
    db.session.commit()
    assert not alarm.is_late(utcnow())


def test_a_supervisor_cannot_send_a_guard_from_another_site(client, crew, login, make_user):
    stranger = make_user("guard", display_name="Other Site Guard")
    other = factories.gen_site()
    factories.assign(stranger, other)
    factories.assign(crew["supervisor"], other)
    db.session.commit()
    login(crew["supervisor"])
    page = client.post(
        "/alarms/new?lang=en",
        data={
            "uuid": new_uuid(),
            "site_id": str(crew["site"].id),
            "received_at": taipei_input(1),
            "signal_type": "intrusion",
            "guard_id": str(stranger.id),
        },
    ).text
    assert "This guard does not serve that site." in page
    assert db.session.scalar(select(AlarmResponse)) is None


def test_an_arrival_recorded_by_hand_needs_the_guards_qr_scan_in_the_alarms_window(
    app, client, crew, login
):
    site = crew["site"]
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=site.id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=10),
        guard_id=crew["guard"].id,
        dispatched_at=utcnow() - timedelta(minutes=9),
    )
    site.latitude, site.longitude = 25.0, 121.5
    db.session.add(alarm)
    db.session.commit()
    login(crew["supervisor"])
    refused = client.post(f"/alarms/{alarm.id}/arrive?lang=en", follow_redirects=True)
    assert "scanning the QR code on the site label" in refused.text
    db.session.refresh(alarm)
    assert alarm.arrived_at is None
    phone = app.test_client()
    login(crew["guard"], test_client=phone)
    # a typed code is no proof, however it is posted
    phone.post(f"/sites/{site.id}/check-in", data={"uuid": new_uuid(), "method": "qr"})
    client.post(f"/alarms/{alarm.id}/arrive")
    db.session.refresh(alarm)
    assert alarm.arrived_at is None
    # a scan whose reported location is off site is not taken on its own; the supervisor
    # can record the arrival from it
    phone.post(
        f"/s/{site.qr_token}/check-in",
        data={"uuid": new_uuid(), "latitude": "25.2", "longitude": "121.5", "accuracy": "10"},
    )
    db.session.refresh(alarm)
    assert alarm.arrived_at is None
    client.post(f"/alarms/{alarm.id}/arrive")
    db.session.refresh(alarm)
    scan = db.session.get(CheckIn, alarm.arrival_check_in_id)
    assert scan.method == "qr" and alarm.arrived_at == scan.received_at


def test_a_scan_from_before_the_dispatch_is_not_an_arrival(app, client, crew, login):
    site = crew["site"]
    early = CheckIn(
        uuid=new_uuid(),
        site_id=site.id,
        user_id=crew["guard"].id,
        method="qr",
        received_at=utcnow() - timedelta(minutes=30),
        verdict="no_fix",
    )
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=site.id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=10),
        guard_id=crew["guard"].id,
        dispatched_at=utcnow() - timedelta(minutes=9),
    )
    db.session.add_all([early, alarm])
    db.session.commit()
    login(crew["supervisor"])
    client.post(f"/alarms/{alarm.id}/arrive")
    db.session.refresh(alarm)
    assert alarm.arrived_at is None


def _running_alarm(crew) -> AlarmResponse:
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=5),
    )
    db.session.add(alarm)
    db.session.commit()
    return alarm


def test_closing_an_alarm_starts_with_no_cause_chosen(client, crew, login):
    alarm = _running_alarm(crew)
    login(crew["supervisor"])
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    select_html = page[
        page.index('name="cause"') : page.index("</select>", page.index('name="cause"'))
    ]
    assert '<option selected value="">Choose…</option>' in select_html
    assert select_html.count("selected") == 1


@pytest.mark.parametrize("sent", [{}, {"cause": ""}])
def test_closing_an_alarm_without_a_cause_is_refused_with_a_clear_message(
    client, crew, login, sent
):
    alarm = _running_alarm(crew)
    login(crew["supervisor"])
    response = client.post(f"/alarms/{alarm.id}/close?lang=en", data={"note": "x", **sent})
    assert response.status_code == 303
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "Choose the cause of the alarm." in page
    db.session.refresh(alarm)
    assert alarm.is_running and alarm.cause is None
