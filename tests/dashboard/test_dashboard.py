"""The dashboard's figures equal a hand computation over factory data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.dashboard import services as svc
from app.db import new_uuid
from app.extensions import db
from app.incidents.models import AlarmResponse
from app.inspections.models import Answer, Inspection
from app.maintenance.models import RepairTicket
from tests import factories

TODAY = date(2026, 11, 20)
#: Noon in Taipei on a day of the period (04:00 UTC).
NOON = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def _alarm(site, supervisor, *, minutes: int | None, cause: str | None = None, at=NOON):
    db.session.add(
        AlarmResponse(
            uuid=new_uuid(),
            site_id=site.id,
            created_by_id=supervisor.id,
            received_at=at,
            arrived_at=at + timedelta(minutes=minutes) if minutes is not None else None,
            cleared_at=at + timedelta(hours=1) if cause else None,
            cause=cause,
        )
    )


def _world(checklist_item_id: int | None = None):
    manager = factories.gen_user("manager")
    supervisor = factories.gen_user("supervisor")
    client = factories.gen_client()
    other_client = factories.gen_client()
    a = factories.gen_site(client=client, inspection_interval_days=30)
    b = factories.gen_site(client=client, inspection_interval_days=7)
    c = factories.gen_site(client=other_client)
    factories.assign(supervisor, a)
    # a: inspected 10 days before the end (within 30); b: 10 days before (not within 7); c: never
    for site, score in ((a, 80.0), (b, 60.0)):
        factories.gen_inspection(
            site, supervisor, status="submitted", submitted_at=NOON, score=score, failed_count=1
        )
    for minutes in (5, 10, 20, 40):
        _alarm(a, supervisor, minutes=minutes)
    _alarm(b, supervisor, minutes=None, cause="user_error")
    _alarm(b, supervisor, minutes=None, cause="intrusion")
    _alarm(b, supervisor, minutes=1, at=NOON - timedelta(days=60))  # before the period
    factories.gen_incident(a, supervisor, category="theft", occurred_at=NOON)
    factories.gen_incident(a, supervisor, category="theft", occurred_at=NOON)
    factories.gen_incident(b, supervisor, category="fire", occurred_at=NOON)
    factories.gen_incident(c, supervisor, category="fire", occurred_at=NOON - timedelta(days=90))
    for due in (TODAY - timedelta(days=1), TODAY + timedelta(days=5)):
        db.session.add(
            RepairTicket(
                uuid=new_uuid(), site_id=a.id, problem="x", due_on=due, reported_by_id=manager.id
            )
        )
    db.session.commit()
    return manager, supervisor, client, a, b, c


def _period():
    return svc.Period(TODAY - timedelta(days=29), TODAY)


def test_manager_figures_equal_a_hand_computation(app):
    manager, *_ = _world()
    figures = svc.figures(manager, svc.Filters(period=_period()), today=TODAY)
    assert figures.sites == 3
    assert figures.sites_covered == 1  # a only
    assert figures.inspections == 2
    assert figures.average_score == 70.0
    assert figures.incidents == 3
    assert [(c.key, c.count) for c in figures.incidents_by_category] == [("theft", 2), ("fire", 1)]
    assert sum(b.count for b in figures.incident_trend) == 3
    assert figures.alarms == 6
    assert figures.alarms_closed == 2
    assert figures.false_alarms == 1
    assert figures.false_alarm_pct == 50.0
    assert figures.arrivals == 4
    # nearest rank over 5, 10, 20, 40 minutes: the median the 2nd, the 90th percentile the 4th
    assert round(figures.arrival_median_s) == 10 * 60
    assert round(figures.arrival_p90_s) == 40 * 60
    assert figures.repairs_open == 2
    assert figures.repairs_overdue == 1


def test_filters_narrow_the_figures(app):
    manager, supervisor, client, _a, b, _c = _world()
    by_site = svc.figures(manager, svc.Filters(period=_period(), site_id=b.id), today=TODAY)
    assert (by_site.sites, by_site.inspections, by_site.average_score) == (1, 1, 60.0)
    assert by_site.alarms == 2 and by_site.arrivals == 0 and by_site.arrival_median_s is None
    by_supervisor = svc.figures(
        manager, svc.Filters(period=_period(), supervisor_id=supervisor.id), today=TODAY
    )
    assert by_supervisor.sites == 1 and by_supervisor.incidents == 2
    by_client = svc.figures(
        manager, svc.Filters(period=_period(), client_id=client.id), today=TODAY
    )
    assert by_client.sites == 2


def test_supervisor_sees_only_his_sites(app):
    _, supervisor, *_ = _world()
    figures = svc.figures(supervisor, svc.Filters(period=_period()), today=TODAY)
    assert figures.sites == 1
    assert figures.alarms == 4
    assert figures.incidents == 2


def test_most_failed_items_count_failed_answers(app):
    manager, supervisor, _client, a, _b, _c = _world()
    inspection = factories.gen_inspection(
        a, supervisor, status="submitted", submitted_at=NOON, score=50.0, failed_count=1
    )
    items = inspection.template.live_items[:2]
    for item, is_pass in ((items[0], False), (items[1], True)):
        db.session.add(
            Answer(inspection_id=inspection.id, item_id=item.id, value="x", is_pass=is_pass)
        )
    db.session.commit()
    figures = svc.figures(manager, svc.Filters(period=_period()), today=TODAY)
    assert [(c.item_id, c.count) for c in figures.failed_items] == [(items[0].id, 1)]


def test_acknowledgement_rate_counts_guards_of_the_sites(app):
    from app.briefings.models import Acknowledgement, Briefing, BriefingSite

    manager, supervisor, _client, a, _b, c = _world()
    guards = [factories.gen_user("guard") for _ in range(3)]
    for guard in guards[:2]:
        factories.assign(guard, a)
    factories.assign(guards[2], c)
    for audience in ("sites", "all_guards"):
        briefing = Briefing(
            kind="notice",
            title="t",
            body="b",
            author_id=supervisor.id,
            status="published",
            audience=audience,
            published_at=NOON,
        )
        db.session.add(briefing)
        db.session.flush()
        if audience == "sites":
            db.session.add(BriefingSite(briefing_id=briefing.id, site_id=a.id))
        db.session.add(Acknowledgement(briefing_id=briefing.id, version=1, user_id=guards[0].id))
    db.session.commit()
    figures = svc.figures(manager, svc.Filters(period=_period()), today=TODAY)
    # "sites" (site a): guards 0 and 1; "all guards": guards 0, 1 and 2 → 5 pairs, 2 acknowledged
    assert (figures.acks_due, figures.acks_done) == (5, 2)
    only_c = svc.figures(manager, svc.Filters(period=_period(), site_id=c.id), today=TODAY)
    assert (only_c.acks_due, only_c.acks_done) == (1, 0)


def test_sites_not_armed_on_time_over_the_period(app):
    from datetime import time

    from app.arming.models import ArmEvent, OpeningHours

    manager, _supervisor, _client, a, b, _c = _world()
    for site in (a, b):
        for weekday in range(7):
            db.session.add(
                OpeningHours(site_id=site.id, weekday=weekday, opens_at=time(9), closes_at=time(18))
            )
    first_day = datetime(2026, 11, 14, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
    for n in range(7):
        morning = first_day + timedelta(days=n)
        db.session.add(ArmEvent(site_id=a.id, kind="disarm", occurred_at=morning, source="manual"))
        # b is armed at 18:00 every day but the 16th
        db.session.add(ArmEvent(site_id=b.id, kind="disarm", occurred_at=morning, source="manual"))
        if n != 2:
            db.session.add(
                ArmEvent(
                    site_id=b.id,
                    kind="arm",
                    occurred_at=morning + timedelta(hours=9),
                    source="manual",
                )
            )
    db.session.commit()
    figures = svc.figures(manager, svc.Filters(period=_period()), today=TODAY)
    # The whole period up to today; a's days count from its first event on (the 14th).
    assert figures.arming_days[0] == _period().first and figures.arming_days[-1] == TODAY
    assert figures.not_armed_sites == 2
    assert [(site.id, days) for site, days in figures.not_armed] == [(a.id, 7), (b.id, 1)]


def test_presets_and_buckets():
    assert svc.preset_period("last_month", today=TODAY) == svc.Period(
        date(2026, 10, 1), date(2026, 10, 31)
    )
    assert svc.preset_period("12_months", today=TODAY).first == date(2025, 12, 1)
    unit, months = svc.buckets(svc.Period(date(2025, 12, 1), TODAY))
    assert unit == "month" and len(months) == 12
    unit, weeks = svc.buckets(_period())
    assert unit == "week" and weeks[0].first == _period().first and weeks[-1].last == TODAY
    assert svc.nearest_rank(0.5, 4) == 1 and svc.nearest_rank(0.9, 4) == 3


def test_dashboard_page_links_each_figure_to_its_rows(client, login, app):
    manager, supervisor, _client, a, _b, _c = _world()
    inspection = factories.gen_inspection(
        a, supervisor, status="submitted", submitted_at=NOON, failed_count=1
    )
    item = inspection.template.live_items[0]
    db.session.add(Answer(inspection_id=inspection.id, item_id=item.id, value="x", is_pass=False))
    db.session.commit()
    login(manager)
    page = client.get("/dashboard?from=2026-10-22&to=2026-11-20")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/alarms?false=1&amp;from=2026-10-22&amp;to=2026-11-20" in html
    assert "/incidents?category=theft&amp;from=2026-10-22&amp;to=2026-11-20" in html
    assert "<title>" in html and "style=" not in html
    assert f"/inspections?item={item.id}&amp;from=2026-10-22&amp;to=2026-11-20" in html
    assert item.text_zh in html
    english = client.get("/dashboard?from=2026-10-22&to=2026-11-20&lang=en").get_data(as_text=True)
    assert item.text_en in english
    listed = client.get(f"/inspections?item={item.id}&from=2026-10-22&to=2026-11-20")
    assert inspection.uuid in listed.get_data(as_text=True)
    others = db.session.scalars(select(Inspection.uuid).where(Inspection.id != inspection.id)).all()
    assert others and not any(uuid in listed.get_data(as_text=True) for uuid in others)
