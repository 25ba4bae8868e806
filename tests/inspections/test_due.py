"""Inspections due: one query, the same answers as the day arithmetic in Taiwan's days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event

from app.extensions import db
from app.i18n import TAIPEI
from app.inspections import services as svc
from tests import factories

TODAY = date(2026, 11, 25)


def taipei(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=TAIPEI).astimezone(UTC)


def test_due_exactly_when_the_taiwan_day_plus_the_interval_has_come(app, make_user):
    supervisor = make_user("supervisor")
    cases = []  # (interval, last submission, due today?)
    for interval in (1, 7, 30):
        edge = TODAY - timedelta(days=interval)  # inspected that Taiwan day: due today
        cases += [
            (interval, taipei(edge, 23, 59, 59), True),
            (interval, taipei(edge, 0, 0, 0), True),
            (interval, taipei(edge + timedelta(days=1), 0, 0, 0), False),
            (interval, taipei(edge + timedelta(days=1), 7, 30), False),
            (interval, taipei(edge - timedelta(days=40), 12), True),
        ]
    sites = []
    for n, (interval, last, _due) in enumerate(cases):
        site = factories.gen_site(code=f"DUE-{n:03d}", inspection_interval_days=interval)
        factories.assign(supervisor, site)
        factories.gen_inspection(
            site, supervisor, status="submitted", submitted_at=last - timedelta(days=90)
        )
        factories.gen_inspection(site, supervisor, status="amended", submitted_at=last)
        sites.append(site)
    db.session.commit()

    due = {d.site.id: d for d in svc.inspections_due(supervisor, today=TODAY)}
    for site, (interval, last, expected) in zip(sites, cases, strict=True):
        assert (site.id in due) is expected, (interval, last)
        if expected:
            assert due[site.id].last_submitted_at == last
            assert due[site.id].due_on == last.astimezone(TAIPEI).date() + timedelta(interval)


def test_order_scope_drafts_and_inactive_sites(app, make_user):
    supervisor = make_user("supervisor")
    never = factories.gen_site(code="ORD-C")
    draft_only = factories.gen_site(code="ORD-A")
    late = factories.gen_site(code="ORD-B", inspection_interval_days=7)
    later = factories.gen_site(code="ORD-D", inspection_interval_days=7)
    inactive = factories.gen_site(code="ORD-E", is_active=False)
    elsewhere = factories.gen_site(code="ORD-F")
    for site in (never, draft_only, late, later, inactive):
        factories.assign(supervisor, site)
    factories.gen_inspection(draft_only, supervisor, status="draft")
    factories.gen_inspection(late, supervisor, status="submitted", submitted_at=taipei(TODAY, 9))
    factories.gen_inspection(
        late, supervisor, status="submitted", submitted_at=taipei(TODAY - timedelta(20), 9)
    )
    factories.gen_inspection(
        late, supervisor, status="draft", started_at=taipei(TODAY - timedelta(1), 9)
    )
    # Only its older submission counts for `later`'s neighbour: make `later` the less late.
    factories.gen_inspection(
        later, supervisor, status="submitted", submitted_at=taipei(TODAY - timedelta(8), 9)
    )
    factories.gen_inspection(
        elsewhere, supervisor, status="submitted", submitted_at=taipei(TODAY - timedelta(99), 9)
    )
    db.session.commit()

    due = svc.inspections_due(supervisor, today=TODAY)
    # Never inspected first (by code), then most overdue first; the draft counts for nothing.
    assert [d.site.code for d in due] == ["ORD-A", "ORD-C", "ORD-D"]
    assert [d.due_on for d in due] == [None, None, TODAY - timedelta(1)]
    manager = make_user("manager")
    assert "ORD-F" in [d.site.code for d in svc.inspections_due(manager, today=TODAY)]


def test_one_statement_whatever_the_number_of_sites(app, make_user):
    supervisor = make_user("supervisor")
    for n in range(30):
        site = factories.gen_site(inspection_interval_days=1 + n % 5)
        factories.assign(supervisor, site)
        factories.gen_inspection(
            site, supervisor, status="submitted", submitted_at=taipei(TODAY - timedelta(n), 10)
        )
    db.session.commit()
    assert supervisor.role == "supervisor"  # reloaded now, not inside the count
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        due = svc.inspections_due(supervisor, today=TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert len(due) == sum(1 for n in range(30) if n >= 1 + n % 5)
