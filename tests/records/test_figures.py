"""The figures of a sheet equal a hand computation over a month built by hand (October 2026
in Taipei), and an approved sheet keeps its figures when the records change afterwards."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest

from app.arming.models import ArmEvent, OpeningHours
from app.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingSite,
    TrainingAttendance,
    TrainingSession,
)
from app.custody.models import KeyBag, KeyMovement
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import AlarmResponse
from app.inspections.models import Answer, AnswerPhoto
from app.inspections.services import active_template
from app.maintenance.models import MaintenanceLog, RepairTicket
from app.records import figures
from app.records import services as svc
from app.sites.models import CheckIn, Equipment
from app.vault.models import VaultAccess
from tests import factories

OCTOBER = date(2026, 10, 1)
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def tpe(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    """A Taipei wall-clock time in 2026 as a UTC instant."""
    return datetime(2026, month, day, hour, minute, tzinfo=TAIPEI).astimezone(UTC)


def _alarm(site, user, received, **fields) -> AlarmResponse:
    alarm = AlarmResponse(
        uuid=factories.new_uuid(), site_id=site.id, created_by_id=user.id, received_at=received
    )
    for key, value in fields.items():
        setattr(alarm, key, value)
    db.session.add(alarm)
    return alarm


def _ticket(site, user, reported, due_on, fixed=None, status="reported") -> RepairTicket:
    ticket = RepairTicket(
        uuid=factories.new_uuid(),
        site_id=site.id,
        problem="電池老化",
        reported_by_id=user.id,
        reported_at=reported,
        due_on=due_on,
        fixed_at=fixed,
        status=status,
    )
    db.session.add(ticket)
    return ticket


@pytest.fixture
def month(app):
    """October 2026 at one site (and a sibling site of the same client that must not count)."""
    client = factories.gen_client(name="大安商場管委會")
    site = factories.gen_site(client, arrival_target_minutes=20)
    other = factories.gen_site(client)
    supervisor = factories.gen_user("supervisor", display_name="林督導")
    g1 = factories.gen_user("guard", display_name="甲保全")
    g2 = factories.gen_user("guard", display_name="乙保全")
    for user in (supervisor, g1, g2):
        factories.assign(user, site)
    template = active_template()
    pass_fail = [i for i in template.items if i.kind in ("pass_fail", "pass_fail_na")]

    # Inspections: two submitted in October (80, 100), one in September, one draft.
    first = factories.gen_inspection(
        site, supervisor, status="submitted", submitted_at=tpe(5, 10), score=80.0, failed_count=1
    )
    factories.gen_inspection(
        site, supervisor, status="submitted", submitted_at=tpe(20, 15), score=100.0
    )
    factories.gen_inspection(
        site, supervisor, status="submitted", submitted_at=tpe(30, 10, month=9), score=50.0
    )
    factories.gen_inspection(site, supervisor)
    factories.gen_inspection(
        other, supervisor, status="submitted", submitted_at=tpe(6, 10), score=60.0
    )
    failed = Answer(
        inspection_id=first.id,
        item_id=pass_fail[0].id,
        value="fail",
        is_pass=False,
        note="電池老化",
    )
    passed = Answer(inspection_id=first.id, item_id=pass_fail[1].id, value="pass", is_pass=True)
    db.session.add_all([failed, passed])
    db.session.flush()
    photo = factories.gen_photo(supervisor, site)
    db.session.add(AnswerPhoto(answer_id=failed.id, photo_id=photo.id))

    # Check-ins: two at the site in October, one on 1 November 00:30 Taipei (31 Oct UTC).
    for at in (tpe(5, 9, 50), tpe(20, 14, 55), tpe(1, 0, 30, month=11)):
        db.session.add(
            CheckIn(
                uuid=factories.new_uuid(),
                site_id=site.id,
                user_id=supervisor.id,
                received_at=at,
                verdict="on_site",
            )
        )

    # Alarms: 15 min (on time), 25 min (late, police), none arrived (119); one in November.
    _alarm(site, supervisor, tpe(3, 2), guard_id=g1.id, arrived_at=tpe(3, 2, 15))
    _alarm(
        site,
        supervisor,
        tpe(9, 23),
        guard_id=g2.id,
        arrived_at=tpe(9, 23, 25),
        police_notified_at=tpe(9, 23, 30),
        police_unit="大安分局",
        police_case_number="1130901",
    )
    _alarm(site, supervisor, tpe(15, 4), fire_notified_at=tpe(15, 4, 5))
    _alarm(site, supervisor, tpe(1, 0, 10, month=11), arrived_at=tpe(1, 1, 0, month=11))

    # Arming: open 09:00–18:00 every day; records begin on 30 October.
    for weekday in range(7):
        db.session.add(
            OpeningHours(site_id=site.id, weekday=weekday, opens_at=time(9), closes_at=time(18))
        )
    db.session.add_all(
        [
            ArmEvent(
                site_id=site.id,
                kind="disarm",
                occurred_at=tpe(30, 6),
                source="manual",
                is_out_of_hours=True,
            ),
            ArmEvent(site_id=site.id, kind="arm", occurred_at=tpe(30, 18, 5), source="manual"),
            ArmEvent(site_id=site.id, kind="disarm", occurred_at=tpe(31, 9), source="manual"),
        ]
    )

    # Equipment: one due since 1 October (overdue), one maintained on 15 October.
    overdue = Equipment(
        site_id=site.id,
        kind="battery",
        maintenance_interval_days=30,
        last_maintained_on=date(2026, 9, 1),
    )
    fine = Equipment(
        site_id=site.id,
        kind="detector",
        maintenance_interval_days=30,
        last_maintained_on=date(2026, 10, 15),
    )
    db.session.add_all([overdue, fine])
    db.session.flush()
    db.session.add(
        MaintenanceLog(
            equipment_id=fine.id,
            done_on=date(2026, 10, 15),
            done_by_id=supervisor.id,
            work="更換電池",
        )
    )
    _ticket(site, supervisor, tpe(5, 11), date(2026, 10, 10), fixed=tpe(12, 10), status="fixed")
    _ticket(site, supervisor, tpe(20, 11), date(2026, 10, 25))
    _ticket(
        site,
        supervisor,
        tpe(1, 11, month=9),
        date(2026, 9, 10),
        fixed=tpe(20, 9, month=9),
        status="verified",
    )
    _ticket(site, supervisor, tpe(25, 11, month=9), date(2026, 11, 5))

    # Incidents: intrusion/high (client and police told), intrusion/low, fire/medium (client).
    factories.gen_incident(
        site,
        g1,
        category="intrusion",
        severity="high",
        occurred_at=tpe(9, 23),
        client_notified_at=tpe(9, 23, 40),
        police_notified_at=tpe(9, 23, 30),
    )
    factories.gen_incident(site, g1, category="intrusion", severity="low", occurred_at=tpe(11, 8))
    factories.gen_incident(
        site,
        g2,
        category="fire",
        severity="medium",
        occurred_at=tpe(15, 4),
        client_notified_at=tpe(15, 5),
    )
    factories.gen_incident(other, g2, category="fire", severity="high", occurred_at=tpe(15, 4))

    # Training: 甲 5 hours on the job and every topic current; 乙 2 hours, nothing else.
    def session(topic, held_on, hours, kind="on_the_job", people=()):
        s = TrainingSession(
            topic=topic, kind=kind, held_on=held_on, hours=hours, created_by_id=supervisor.id
        )
        db.session.add(s)
        db.session.flush()
        db.session.add_all(TrainingAttendance(session_id=s.id, user_id=u.id) for u in people)

    session("on_the_job", date(2026, 10, 10), 4, people=[g1])
    session("on_the_job", date(2026, 10, 20), 1, people=[g1])
    session("on_the_job", date(2026, 10, 21), 2, people=[g2])
    session("on_the_job", date(2026, 11, 2), 4, people=[g2])
    for topic in ("first_aid", "fire_safety", "personal_data"):
        session(topic, date(2026, 9, 1), 2, kind="pre_employment", people=[g1])

    # Briefings in October: to the site (both acknowledge), to all guards (甲 only), no ack.
    def briefing(audience, published, requires_ack=True):
        b = Briefing(
            kind="notice",
            title="注意事項",
            body="內容",
            author_id=supervisor.id,
            status="published",
            published_at=published,
            audience=audience,
            requires_ack=requires_ack,
        )
        db.session.add(b)
        db.session.flush()
        return b

    b1 = briefing("sites", tpe(3, 9))
    db.session.add(BriefingSite(briefing_id=b1.id, site_id=site.id))
    b2 = briefing("all_guards", tpe(4, 9))
    briefing("all_guards", tpe(5, 9), requires_ack=False)
    db.session.add_all(
        [
            Acknowledgement(briefing_id=b1.id, version=1, user_id=g1.id),
            Acknowledgement(briefing_id=b1.id, version=1, user_id=g2.id),
            Acknowledgement(briefing_id=b2.id, version=1, user_id=g1.id),
        ]
    )

    # The vault: three reveals (2 alarm response, 1 maintenance); a denial, a list, another site.
    def access(site_id, action, purpose, outcome="success", at=None):
        db.session.add(
            VaultAccess(
                at=at or tpe(10, 10),
                user_id=supervisor.id,
                site_id=site_id,
                action=action,
                purpose=purpose,
                outcome=outcome,
            )
        )

    access(site.id, "reveal", "alarm_response")
    access(site.id, "reveal", "alarm_response")
    access(site.id, "reveal", "maintenance")
    access(site.id, "reveal", "maintenance", outcome="denied")
    access(site.id, "list", "")
    access(other.id, "reveal", "audit")
    access(site.id, "reveal", "audit", at=tpe(1, 10, month=11))
    bag = KeyBag(
        site_id=site.id,
        bag_number="K-01",
        contents="後門鑰匙",
        seal_number="S-1",
        created_by_id=supervisor.id,
    )
    db.session.add(bag)
    db.session.flush()
    for kind, at in (("out", tpe(6, 9)), ("return", tpe(6, 12)), ("out", tpe(7, 9))):
        db.session.add(KeyMovement(bag_id=bag.id, kind=kind, user_id=g1.id, at=at))
    db.session.commit()
    return {
        "client": client,
        "site": site,
        "other": other,
        "supervisor": supervisor,
        "photo": photo,
    }


def test_site_sheet_figures_equal_the_hand_computation(month):
    site = month["site"]
    data = figures.compute(client=site.client, sites=[site], first=OCTOBER, scope="site", now=NOW)

    ins = data["inspections"]
    assert (ins["count"], ins["average_score"], ins["failed_count"]) == (2, 90.0, 1)
    assert [r["inspector"] for r in ins["rows"]] == ["林督導", "林督導"]
    assert ins["failed"][0]["note"] == "電池老化"
    assert ins["failed"][0]["photos"] == [month["photo"].uuid]

    ops = data["operations"]
    assert ops["check_ins"] == 2
    assert (ops["alarms"], ops["arrived"], ops["late"], ops["not_arrived"]) == (3, 2, 1, 1)
    assert (ops["police"], ops["fire"]) == (1, 1)
    assert [r["minutes"] for r in ops["rows"]] == [15.0, 25.0, None]
    assert ops["rows"][1]["police_case_number"] == "1130901"

    arm = data["arming"]
    assert arm["monitored_sites"] == 1
    assert (arm["days_not_armed"], arm["days_armed_late"], arm["out_of_hours_disarms"]) == (1, 0, 1)
    assert [r["day"] for r in arm["rows"]] == ["2026-10-30", "2026-10-31"]

    assert data["equipment"] == {
        "in_fault": 0,
        "repairs_opened": 2,
        "repairs_fixed": 1,
        "repairs_overdue": 1,
        "maintenance_done": 1,
        "maintenance_overdue": 1,
    }

    inc = data["incidents"]
    assert inc["count"] == 3
    assert inc["by_category"] == [("fire", 1), ("intrusion", 2)]
    assert inc["by_severity"] == [("high", 1), ("low", 1), ("medium", 1)]
    assert (inc["client_notified"], inc["police_notified"]) == (2, 1)

    tr = data["training"]
    assert (tr["guards"], tr["current"], tr["meeting_hours"]) == (2, 1, 1)
    assert [(r["name"], r["hours"]) for r in tr["rows"]] == [("乙保全", 2.0), ("甲保全", 5.0)]
    assert (tr["acks_due"], tr["acks_done"], tr["ack_rate"]) == (4, 3, 75)

    conf = data["confidentiality"]
    assert conf["reveals"] == 3
    assert conf["reveals_by_purpose"] == [["alarm_response", 2], ["maintenance", 1]]
    assert conf["key_take_outs"] == 2
    # Counts only: nothing of the vault's records (labels, values, purpose texts) is on it.
    assert "後門鑰匙" not in json.dumps(data, ensure_ascii=False)


def test_client_roll_up_adds_the_sibling_site(month):
    client = month["client"]
    sites = [month["site"], month["other"]]
    data = figures.compute(client=client, sites=sites, first=OCTOBER, scope="client", now=NOW)
    assert data["inspections"]["count"] == 3
    assert data["incidents"]["count"] == 4
    assert data["confidentiality"]["reveals"] == 4


def test_an_approved_sheet_keeps_its_figures_when_records_change(month):
    site, supervisor = month["site"], month["supervisor"]
    manager = factories.gen_user("manager")
    sheet = svc.prepare(
        user=supervisor, month=OCTOBER, today=NOW.date(), remarks="本月正常", site=site
    )
    svc.approve(sheet, user=manager)
    db.session.commit()
    before = svc.figures_of(sheet)
    factories.gen_incident(
        site, supervisor, category="fire", severity="critical", occurred_at=tpe(28, 12)
    )
    db.session.commit()
    after = svc.figures_of(sheet)
    assert after["incidents"]["count"] == before["incidents"]["count"] == 3
    assert after == before
    # A correction is a new version, computed afresh, with its reason.
    new = svc.correct(sheet, user=manager, reason="漏列一件火警")
    db.session.commit()
    assert new.version == 2 and new.previous_id == sheet.id
    assert svc.figures_of(new)["incidents"]["count"] == 4
    assert svc.figures_of(sheet)["incidents"]["count"] == 3


def test_a_full_month_prints_with_its_photo_and_tables(app, client, login, month):
    """The hand-built month as a PDF (the manager's download): page 1 kept for a person."""
    from pathlib import Path

    import pypdfium2

    site, supervisor = month["site"], month["supervisor"]
    manager = factories.gen_user("manager")
    sheet = svc.prepare(
        user=supervisor, month=OCTOBER, today=NOW.date(), remarks="本月正常", site=site
    )
    db.session.commit()
    login(manager)
    response = client.get(f"/records/{sheet.id}.pdf")
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(response.data)
    text = "".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    assert "大安分局" in text and "1130901" in text and "電池老化" in text
    out = Path(__file__).resolve().parent.parent / "e2e" / "screenshots"
    out.mkdir(exist_ok=True)
    document[0].render(scale=1.5).to_pil().save(out / "records-full-month-pdf-page1.png")


def test_maintenance_overdue_is_judged_from_the_logs_as_they_stood_at_the_month_end(app):
    """Every unit's interval is 30 days; NOW is 26 November (Taipei), so November is judged at
    the end of 25 November and October at the end of 31 October. By hand:

    unit  installed  logs / by hand            October (≤ 31 Oct)     November (≤ 25 Nov)
    A     1 Aug      logs 1 Sep, 20 Nov        1 Sep+30 = 1 Oct: yes  20 Nov+30 = 20 Dec: no
    B     20 Oct     never                     19 Nov: no             19 Nov: yes
    C     1 Jun      never                     1 Jul: yes             yes
    D     1 Aug      log 15 Oct                14 Nov: no             14 Nov: yes
    E     1 Jan      (no interval)             no                     no
    F     1 Jan      (retired)                 no                     no
    G     10 Nov     never                     (not installed)        10 Dec: no
    I     1 Jan      by hand 1 Oct, no log     31 Oct: yes (the end)  yes
    J     1 Aug      log 27 Oct                26 Nov: no             26 Nov is today: no
    October: A, C, I = 3 (the units' current due dates would give C and I only: A's log of
    20 November must not count for October). November: B, C, D, I = 4.
    """
    site = factories.gen_site()
    worker = factories.gen_user("supervisor")
    units = {}

    def unit(name, installed, *, interval=30, by_hand=None, status="ok", logs=()):
        equipment = Equipment(
            site_id=site.id,
            kind="battery",
            installed_on=installed,
            maintenance_interval_days=interval,
            last_maintained_on=max([*logs, by_hand] if by_hand else logs, default=None),
            status=status,
            location=name,
        )
        db.session.add(equipment)
        db.session.flush()
        for done_on in logs:
            db.session.add(
                MaintenanceLog(
                    equipment_id=equipment.id, done_on=done_on, done_by_id=worker.id, work="保養"
                )
            )
        units[name] = equipment

    unit("A", date(2026, 8, 1), logs=(date(2026, 9, 1), date(2026, 11, 20)))
    unit("B", date(2026, 10, 20))
    unit("C", date(2026, 6, 1))
    unit("D", date(2026, 8, 1), logs=(date(2026, 10, 15),))
    unit("E", date(2026, 1, 1), interval=None)
    unit("F", date(2026, 1, 1), status="retired")
    unit("G", date(2026, 11, 10))
    unit("I", date(2026, 1, 1), by_hand=date(2026, 10, 1))
    unit("J", date(2026, 8, 1), logs=(date(2026, 10, 27),))
    db.session.commit()

    def overdue(first):
        data = figures.compute(client=site.client, sites=[site], first=first, scope="site", now=NOW)
        return data["equipment"]["maintenance_overdue"], data["equipment"]["maintenance_done"]

    assert overdue(OCTOBER) == (3, 2)  # done in October: D's and J's logs
    assert overdue(date(2026, 11, 1)) == (4, 1)  # done in November: A's second
    # The old rule (the units' current due dates) would have missed A in October.
    current = sum(
        1
        for u in units.values()
        if u.maintenance_due_on and u.maintenance_due_on <= date(2026, 10, 31)
    )
    assert current == 2


def test_the_english_sheet_names_failed_items_in_english(app, client, login, month):
    """The sheet's language follows the page's: its lang attribute and its checklist items."""
    site, supervisor = month["site"], month["supervisor"]
    sheet = svc.prepare(user=supervisor, month=OCTOBER, today=NOW.date(), remarks="", site=site)
    db.session.commit()
    failed = next(i for i in active_template().items if i.kind in ("pass_fail", "pass_fail_na"))
    login(supervisor)
    english = client.get(f"/records/{sheet.id}?lang=en").text
    assert '<article class="sheet" lang="en">' in english and failed.text_en in english
    chinese = client.get(f"/records/{sheet.id}?lang=zh-TW").text
    assert '<article class="sheet" lang="zh-Hant-TW">' in chinese and failed.text_zh in chinese
