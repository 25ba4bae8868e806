"""The whole alarm procedure (issue 13 item 3): signal and zone, the call-back with the
call-back password revealed from the vault (purpose "alarm response", audited), findings,
the police notification of 保全業法 §4-1 (receiving unit, case number) and 119 for a fire,
re-arming, closing (處理完畢) with the trade's causes, and the false-alarm figures."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.briefings import services as briefings
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as svc
from app.incidents.models import FALSE_ALARM_CAUSES, AlarmResponse
from app.sites import services as site_services
from app.vault import services as vault
from app.vault.models import VaultAccess
from tests import factories

PASSWORD_WORD = "玉山日出-7Q"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def crew(app):
    """A site with its call-back password in the vault; its guard and supervisor, a manager,
    a supervisor of another site; all signed the pledge."""
    site, other = factories.gen_site(arrival_target_minutes=20), factories.gen_site()
    people = {
        "guard": factories.gen_user("guard", display_name="陳志明"),
        "supervisor": factories.gen_user("supervisor"),
        "manager": factories.gen_user("manager"),
        "stranger": factories.gen_user("supervisor"),
    }
    factories.assign(people["guard"], site)
    factories.assign(people["supervisor"], site)
    factories.assign(people["stranger"], other)
    pledge = briefings.save_briefing(
        None,
        actor=people["manager"],
        kind="pledge",
        title="保密切結書",
        body="本人承諾保守客戶機密。",
        requires_ack=True,
        due_on=None,
        audience_kind="users",
        site_ids=set(),
        user_ids=set(),
    )
    briefings.publish(pledge, actor=people["manager"])
    for person in people.values():
        briefings.acknowledge(pledge, user=person)
    record = vault.create_record(
        user=people["supervisor"],
        site=site,
        category="callback_password",
        label="通話密語",
        value=PASSWORD_WORD,
    )
    db.session.commit()
    return {**people, "site": site, "other": other, "record": record}


def alarm_at(crew, *, minutes_ago=30, signal_type="intrusion", site=None) -> AlarmResponse:
    alarm = svc.open_alarm(
        site or crew["site"],
        user=crew["supervisor"],
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=minutes_ago),
        signal_type=signal_type,
        zone="03 後門磁簧",
    )
    db.session.commit()
    return alarm


def arrived(crew, alarm, *, minutes_ago=10) -> None:
    svc.dispatch(
        alarm,
        user=crew["supervisor"],
        guard_id=crew["guard"].id,
        at=alarm.received_at + timedelta(minutes=1),
    )
    scan = site_services.record_check_in(
        alarm.site,
        user=crew["guard"],
        uuid=new_uuid(),
        method="qr",
        scanned_at=None,
        latitude=None,
        longitude=None,
        accuracy_m=None,
    )
    scan.received_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.flush()
    svc.arrive(alarm, user=crew["guard"], check_in=scan)


def actions(alarm) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target == f"alarm:{alarm.id}")
            .order_by(AuditEvent.seq)
        )
    )


# ---------------------------------------------------------------- services


def test_each_step_is_audited_in_order_and_an_intrusion_closes_only_after_police_and_rearm(
    crew,
):
    alarm = alarm_at(crew)
    boss = crew["supervisor"]
    svc.record_callback(
        alarm, user=boss, at=utcnow() - timedelta(minutes=29), answered_by="", result="not_reached"
    )
    with pytest.raises(svc.IncidentError, match="arrival_first"):
        svc.record_findings(alarm, user=boss, findings="後門遭破壞")
    arrived(crew, alarm)
    svc.record_findings(alarm, user=boss, findings="後門門鎖遭破壞，倉庫物品散落。")

    with pytest.raises(svc.CloseRefused) as refused:
        svc.close(alarm, user=boss, at=utcnow(), cause="intrusion")
    assert refused.value.missing == ["police", "rearm"]
    assert "case number" in refused.value.message and "re-arming" in refused.value.message

    with pytest.raises(svc.IncidentError, match="case_number_required"):
        svc.notify_police(
            alarm, user=boss, at=utcnow(), unit="大安分局 和平東路派出所", case_number=""
        )
    with pytest.raises(svc.IncidentError, match="police_unit_required"):
        svc.notify_police(alarm, user=boss, at=utcnow(), unit=" ", case_number="1151126-001")
    svc.notify_police(
        alarm, user=boss, at=utcnow(), unit="大安分局 和平東路派出所", case_number="1151126-001"
    )
    svc.confirm_rearm(alarm, user=boss, at=utcnow(), rearmed_by="機動保全人員 陳志明")
    svc.close(alarm, user=boss, at=utcnow(), cause="intrusion", note="已報案")
    db.session.commit()

    assert (alarm.police_unit, alarm.police_case_number) == (
        "大安分局 和平東路派出所",
        "1151126-001",
    )
    assert not alarm.is_running and not alarm.is_false_alarm
    assert actions(alarm) == [
        "alarm.received",
        "alarm.callback",
        "alarm.dispatched",
        "alarm.arrived",
        "alarm.findings",
        "alarm.police_notified",
        "alarm.rearmed",
        "alarm.closed",
    ]
    police = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "alarm.police_notified")
    )
    assert json.loads(police.detail)["case"] == "1151126-001"
    with pytest.raises(svc.IncidentError, match="already_cleared"):
        svc.notify_fire(alarm, user=boss, at=utcnow())


def test_a_fire_needs_the_police_and_119_before_closing(crew):
    alarm = alarm_at(crew, signal_type="fire")
    boss = crew["supervisor"]
    svc.notify_police(alarm, user=boss, at=utcnow(), unit="信義分局", case_number="A-1")
    with pytest.raises(svc.CloseRefused) as refused:
        svc.close(alarm, user=boss, at=utcnow(), cause="fire")
    assert refused.value.missing == ["fire"] and "119" in refused.value.message
    svc.notify_fire(alarm, user=boss, at=utcnow())
    svc.close(alarm, user=boss, at=utcnow(), cause="fire")
    assert alarm.cause == "fire" and alarm.fire_notified_at is not None


def test_a_false_alarm_closes_without_the_police_and_counts_as_false(crew):
    alarm = alarm_at(crew, signal_type="panic")
    svc.record_callback(
        alarm,
        user=crew["supervisor"],
        at=utcnow(),
        answered_by="林經理",
        result="matched",
    )
    svc.close(alarm, user=crew["supervisor"], at=utcnow(), cause="user_error")
    assert alarm.is_false_alarm and alarm.callback_answered_by == "林經理"
    assert {"user_error", "equipment_fault", "environment", "unknown"} == FALSE_ALARM_CAUSES


def test_the_call_back_names_who_answered_unless_nobody_did(crew):
    alarm = alarm_at(crew)
    with pytest.raises(svc.IncidentError, match="answered_by_required"):
        svc.record_callback(
            alarm, user=crew["supervisor"], at=utcnow(), answered_by=" ", result="matched"
        )
    with pytest.raises(svc.IncidentError, match="bad_value"):
        svc.record_callback(
            alarm, user=crew["supervisor"], at=utcnow(), answered_by="x", result="yes"
        )
    with pytest.raises(svc.IncidentError, match="out_of_order"):
        svc.record_callback(
            alarm,
            user=crew["supervisor"],
            at=alarm.received_at - timedelta(minutes=1),
            answered_by="",
            result="not_reached",
        )


def test_rearming_waits_for_the_guard_sent(crew):
    alarm = alarm_at(crew)
    svc.dispatch(alarm, user=crew["supervisor"], guard_id=crew["guard"].id, at=utcnow())
    with pytest.raises(svc.IncidentError, match="rearm_too_early"):
        svc.confirm_rearm(alarm, user=crew["supervisor"], at=utcnow(), rearmed_by="業主")
    # With nobody sent, re-arming follows the call-back (the client armed it himself).
    remote = alarm_at(crew)
    svc.record_callback(
        remote, user=crew["supervisor"], at=utcnow(), answered_by="業主", result="matched"
    )
    svc.confirm_rearm(remote, user=crew["supervisor"], at=utcnow(), rearmed_by="業主")
    svc.close(remote, user=crew["supervisor"], at=utcnow(), cause="user_error")


def test_an_unknown_signal_is_refused(crew):
    with pytest.raises(svc.IncidentError, match="bad_value"):
        svc.open_alarm(
            crew["site"],
            user=crew["supervisor"],
            uuid=new_uuid(),
            received_at=utcnow(),
            signal_type="earthquake",
        )


# ---------------------------------------------------------------- the call-back password


def test_the_alarm_page_reveals_the_call_back_password_through_the_vault_with_its_purpose(
    crew, client, login
):
    alarm = alarm_at(crew)
    record = crew["record"]
    login(crew["supervisor"])
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "Reveal Call-back password" in page and PASSWORD_WORD not in page
    assert f'action="/vault/{record.id}/reveal"' in page
    assert 'name="purpose" value="alarm_response"' in page

    sent = {
        "purpose": "alarm_response",
        "purpose_text": f"/alarms/{alarm.id}",
        "next": f"/alarms/{alarm.id}",
        "view": "button",
    }
    # Restricted: a step-up first, and back to the alarm afterwards.
    first = client.post(f"/vault/{record.id}/reveal", data=sent, headers=HTMX)
    assert first.status_code == 204 and PASSWORD_WORD not in first.text
    assert unquote(first.headers["HX-Redirect"]).endswith(f"next=/alarms/{alarm.id}")
    client.post("/account/step-up", data={"password": factories.PASSWORD})

    shown = client.post(f"/vault/{record.id}/reveal?lang=en", data=sent, headers=HTMX)
    assert shown.status_code == 200 and PASSWORD_WORD in shown.text
    assert shown.headers["Cache-Control"].startswith("no-store")
    assert "data-remask-seconds" in shown.text
    # Masked again, it is the alarm page's button, not the vault's purpose prompt.
    masked = shown.text[shown.text.index("<template data-masked>") :]
    assert 'name="view" value="button"' in masked and PASSWORD_WORD not in masked

    rows = list(db.session.scalars(select(VaultAccess).where(VaultAccess.action == "reveal")))
    assert [(r.outcome, r.reason) for r in rows] == [("denied", "step_up"), ("success", "")]
    assert rows[-1].purpose == "alarm_response"
    assert rows[-1].purpose_text == f"/alarms/{alarm.id}"
    assert rows[-1].user_id == crew["supervisor"].id and rows[-1].audit_seq is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == rows[-1].audit_seq))
    assert (
        event.action == "vault.reveal" and json.loads(event.detail)["purpose"] == "alarm_response"
    )


def test_a_guard_cannot_reveal_the_call_back_password(crew, client, login):
    alarm = alarm_at(crew)
    svc.dispatch(alarm, user=crew["supervisor"], guard_id=crew["guard"].id, at=utcnow())
    db.session.commit()
    login(crew["guard"])
    page = client.get(f"/alarms/{alarm.id}").text  # the alarm he was sent to: no reveal there
    assert "/reveal" not in page
    response = client.post(
        f"/vault/{crew['record'].id}/reveal",
        data={"purpose": "alarm_response", "view": "button", "next": f"/alarms/{alarm.id}"},
        headers=HTMX,
    )
    assert response.status_code == 403 and PASSWORD_WORD not in response.text
    (row,) = db.session.scalars(select(VaultAccess).where(VaultAccess.action == "reveal"))
    assert (row.outcome, row.reason) == ("denied", "role")


def test_a_site_without_a_call_back_password_says_what_to_do(crew, client, login):
    alarm = alarm_at(crew, site=crew["other"])
    login(crew["manager"])
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "This site has no call-back password in the vault" in page
    assert f"/sites/{crew['other'].id}/vault/new?category=callback_password" in page


def test_the_next_address_of_a_reveal_stays_on_this_site(crew, client, login):
    login(crew["supervisor"])
    response = client.post(
        f"/vault/{crew['record'].id}/reveal",
        data={"purpose": "alarm_response", "view": "button", "next": "//evil.example/x"},
        headers=HTMX,
    )
    assert "evil.example" not in unquote(response.headers["HX-Redirect"])


# ---------------------------------------------------------------- the page's steps


def test_closing_an_intrusion_without_the_police_says_what_is_missing(crew, client, login):
    alarm = alarm_at(crew)
    login(crew["supervisor"])
    response = client.post(f"/alarms/{alarm.id}/close?lang=en", data={"cause": "intrusion"})
    assert response.status_code == 303
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "record the police notification — time, receiving unit and case number" in page
    assert "confirm the re-arming" in page
    db.session.refresh(alarm)
    assert alarm.is_running

    client.post(
        f"/alarms/{alarm.id}/police",
        data={"unit": "大安分局 和平東路派出所", "case_number": "1151126-0042"},
    )
    client.post(f"/alarms/{alarm.id}/callback", data={"result": "not_reached"})
    client.post(f"/alarms/{alarm.id}/rearm", data={"rearmed_by": "業主 林經理"})
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "case no. 1151126-0042" in page and "大安分局 和平東路派出所" in page
    client.post(f"/alarms/{alarm.id}/close", data={"cause": "intrusion"})
    db.session.refresh(alarm)
    assert not alarm.is_running and alarm.rearmed_by == "業主 林經理"


def test_the_police_form_names_each_missing_field(crew, client, login):
    alarm = alarm_at(crew)
    login(crew["supervisor"])
    client.post(f"/alarms/{alarm.id}/police?lang=en", data={"unit": "", "case_number": ""})
    page = client.get(f"/alarms/{alarm.id}?lang=en").text
    assert "Give the police unit that took the report." in page
    db.session.refresh(alarm)
    assert alarm.police_notified_at is None


def test_the_page_says_closed_never_disarmed(crew, client, login):
    alarm = alarm_at(crew, signal_type="panic")
    svc.close(alarm, user=crew["supervisor"], at=utcnow(), cause="environment")
    db.session.commit()
    login(crew["supervisor"])
    page = client.get(f"/alarms/{alarm.id}").text
    assert "解除" not in page and "處理完畢" in page
    listed = client.get("/alarms").text
    assert "已解除" not in listed


# ---------------------------------------------------------------- false-alarm figures


def _closed(crew, cause, *, site=None, days_ago=1):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=(site or crew["site"]).id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(days=days_ago),
        cleared_at=utcnow() - timedelta(days=days_ago) + timedelta(minutes=30),
        signal_type="intrusion",
        cause=cause,
    )
    db.session.add(alarm)
    return alarm


def test_false_alarm_figures_per_site_and_cause_over_the_period(crew, client, login):
    for cause in ("user_error", "user_error", "environment", "intrusion"):
        _closed(crew, cause)
    _closed(crew, "equipment_fault", days_ago=40)  # before the default period
    _closed(crew, "unknown", site=crew["other"])
    alarm_at(crew)  # running: counted as an alarm, not in the rate
    db.session.commit()

    figures = svc.false_alarm_figures(
        crew["manager"], svc.AlarmFilter(since=utcnow() - timedelta(days=30))
    )
    by_site = {row.site.id: row for row in figures.sites}
    mine = by_site[crew["site"].id]
    assert (mine.alarms, mine.closed, mine.false_alarms) == (5, 4, 3)
    assert mine.rate == pytest.approx(0.75)
    assert by_site[crew["other"].id].false_alarms == 1
    assert figures.by_cause["user_error"] == 2 and figures.by_cause["equipment_fault"] == 0

    login(crew["supervisor"])
    page = client.get("/alarms/figures?lang=en").text
    assert "75%" in page and crew["site"].code in page
    assert crew["other"].code not in page  # not his site
    site_id = crew["site"].id
    assert f"/alarms?site={site_id}&amp;false=1&amp;from=" in page
    listed = client.get(f"/alarms?site={site_id}&false=1&lang=en").text
    assert listed.count('class="list-item"') == 4  # and the 40-day-old equipment fault
    recent = client.get("/alarms?cause=user_error&lang=en").text
    assert recent.count('class="list-item"') == 2


def test_the_figures_are_for_supervisors_and_managers(crew, client, login):
    login(crew["guard"])
    assert client.get("/alarms/figures").status_code == 403
