"""The dashboard's count of days not armed on time, worked out in SQL over a whole period
(`not_armed_counts`), agrees day for day with the site card's judgement in Python
(`_day_rows`) on factory data: on-time, late and missing arms, an arm before opening, a
disarm after arming, events exactly at opening and at the deadline, two events at one instant,
a closing time whose deadline passes midnight, weekdays closed or without hours, a site whose
records begin mid-period, an unmonitored site, and a last day whose deadline has not come."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import select

from app.arming import services as svc
from app.arming.models import ArmEvent
from app.extensions import db
from app.sites.models import Site
from tests import factories
from tests.arming.conftest import WEEKDAYS, taipei

FIRST = date(2026, 10, 26)  # a Monday
LAST = date(2026, 11, 22)  # a Sunday, four weeks on


def _expected(site_ids: list[int], days: list[date], now) -> dict[int, int]:
    counts = {}
    for site_id in site_ids:
        hours = svc.hours_of(site_id)
        if not hours:
            continue
        events = list(
            db.session.scalars(
                select(ArmEvent)
                .where(ArmEvent.site_id == site_id)
                .order_by(ArmEvent.occurred_at, ArmEvent.id)
            )
        )
        since = events[0].occurred_at if events else None
        rows = svc._day_rows(hours, events, days, now, since=since)
        flagged = sum(1 for r in rows if r.is_not_armed or r.is_late)
        if flagged:
            counts[site_id] = flagged
    return counts


def _add(site, kind, at):
    db.session.add(ArmEvent(site_id=site.id, kind=kind, occurred_at=at, source="manual"))


def test_sql_counts_agree_with_the_day_rows(app, make_user):
    admin = make_user("admin")
    weekdays = factories.gen_site(code="TPE-0201")
    svc.set_opening_hours(weekdays, user=admin, days=[*WEEKDAYS])
    # Hours for Monday to Wednesday only: the other days have none and are never judged.
    partial = factories.gen_site(code="TPE-0202", client=weekdays.client)
    svc.set_opening_hours(
        partial, user=admin, days=[svc.DaySpec(n, False, time(8), time(17)) for n in range(3)]
    )
    # Open till 23:45 every day: the deadline (plus the grace) falls after midnight.
    late_night = factories.gen_site(code="TPE-0203", client=weekdays.client)
    svc.set_opening_hours(
        late_night,
        user=admin,
        days=[svc.DaySpec(n, False, time(10, 30), time(23, 45)) for n in range(7)],
    )
    # Records only from the second week on.
    starts_late = factories.gen_site(code="TPE-0204", client=weekdays.client)
    svc.set_opening_hours(starts_late, user=admin, days=[*WEEKDAYS])
    unmonitored = factories.gen_site(code="TPE-0205", client=weekdays.client)
    silent = factories.gen_site(code="TPE-0206", client=weekdays.client)  # hours, no events
    svc.set_opening_hours(silent, user=admin, days=[*WEEKDAYS])
    db.session.flush()

    rng = random.Random(14)
    grace = timedelta(minutes=svc.grace_minutes())
    day = FIRST
    while day <= LAST:
        for site in (weekdays, partial, late_night, starts_late, unmonitored):
            if site is starts_late and day < FIRST + timedelta(days=9):
                continue
            window = svc.arm_deadline(svc.hours_of(site.id), day)
            opens, deadline = window or (taipei(day.year, day.month, day.day, 9), None)
            deadline = deadline or opens + timedelta(hours=9) + grace
            _add(site, "disarm", opens - timedelta(minutes=rng.choice((40, 20, 0))))
            case = rng.choice(
                (
                    "on_time",
                    "on_time",
                    "late",
                    "none",
                    "before_opening",
                    "disarmed_after",
                    "at_deadline",
                    "after_deadline_by_a_second",
                    "same_instant",
                    "at_opening",
                )
            )
            if case == "on_time":
                _add(site, "arm", deadline - grace - timedelta(minutes=rng.randint(0, 60)))
            elif case == "late":
                _add(site, "arm", deadline + timedelta(minutes=rng.randint(1, 10)))
            elif case == "before_opening":
                _add(site, "arm", opens - timedelta(minutes=5))
            elif case == "disarmed_after":
                _add(site, "arm", deadline - grace - timedelta(hours=1))
                _add(site, "disarm", deadline - grace - timedelta(minutes=30))
            elif case == "at_deadline":
                _add(site, "arm", deadline)
            elif case == "after_deadline_by_a_second":
                _add(site, "arm", deadline + timedelta(seconds=1))
            elif case == "same_instant":
                at = deadline - grace
                _add(site, rng.choice(("arm", "disarm")), at)
                db.session.flush()
                _add(site, rng.choice(("arm", "disarm")), at)
            elif case == "at_opening":
                _add(site, "disarm", opens - timedelta(hours=1))
                db.session.flush()
                _add(site, "arm", opens)
        day += timedelta(days=1)
    db.session.commit()

    # The last day's deadline (18:30, 17:30, 00:15) has not come yet at 17:00.
    now = taipei(LAST.year, LAST.month, LAST.day, 17, 0)
    sites = select(Site.id)
    site_ids = list(db.session.scalars(sites))
    for first, last in ((FIRST, LAST), (FIRST + timedelta(days=3), LAST - timedelta(days=5))):
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        expected = _expected(site_ids, days, now)
        assert svc.not_armed_counts(sites, first, last, now) == expected
        assert silent.id not in expected and unmonitored.id not in expected
    # Every kind of day was met: each monitored site with events has days counted.
    assert {weekdays.id, partial.id, late_night.id, starts_late.id} <= set(
        _expected(site_ids, [FIRST + timedelta(days=n) for n in range(28)], now)
    )
    # A period before any record judges nothing; a scope without monitored sites neither.
    assert svc.not_armed_counts(sites, date(2026, 1, 1), date(2026, 1, 31), now) == {}
    only_unmonitored = select(Site.id).where(Site.id == unmonitored.id)
    assert svc.not_armed_counts(only_unmonitored, FIRST, LAST, now) == {}
