"""The jobs runner's arm/disarm checks: a site not armed by closing plus the grace, and a
disarm out of hours, each notified once."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from app.arming import services as svc
from app.arming.models import ArmEvent
from app.extensions import db
from app.jobs.tasks import JOBS, not_armed, out_of_hours_disarm
from app.notifications.models import Notification
from tests import factories
from tests.arming.conftest import taipei

#: A Wednesday (open 09:00–18:00) and the Saturday after it (closed all day).
WEDNESDAY = date(2026, 11, 18)


def _record(site, kind, at, **extra):
    return svc.record_events(
        [svc.EventInput(site=site, kind=kind, occurred_at=at, **extra)], source="manual"
    )


def _notes(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


@pytest.fixture
def one_site(arm_world):
    """Only the first site is monitored (the other's hours removed)."""
    svc.set_opening_hours(arm_world["other"], user=arm_world["admin"], days=None)
    db.session.commit()
    return arm_world


def test_the_jobs_are_registered():
    names = {job.name for job in JOBS}
    assert {"not_armed", "out_of_hours_disarm"} <= names


def test_a_site_not_armed_by_closing_plus_grace_notifies_its_supervisor_once(one_site):
    arm_world = one_site
    site = arm_world["site"]
    _record(site, "disarm", taipei(2026, 11, 18, 8, 50))
    db.session.commit()
    _record(site, "arm", taipei(2026, 11, 17, 18, 0))  # the evening before: in order
    db.session.commit()
    assert not_armed(taipei(2026, 11, 18, 18, 20)) == 0, "within the grace"
    assert not_armed(taipei(2026, 11, 18, 18, 31)) == 1
    assert not_armed(taipei(2026, 11, 18, 18, 40)) == 0, "once per site and day"
    db.session.commit()
    [note] = _notes("site_not_armed")
    assert note.user_id == arm_world["supervisor"].id
    assert site.name in note.subject and "2026-11-18" in note.subject
    assert note.link == f"/sites/{site.id}/arming"


def test_a_site_armed_before_the_deadline_is_not_notified(one_site):
    arm_world = one_site
    site = arm_world["site"]
    _record(site, "disarm", taipei(2026, 11, 18, 8, 50))
    _record(site, "arm", taipei(2026, 11, 18, 18, 5))
    db.session.commit()
    assert not_armed(taipei(2026, 11, 18, 19, 0)) == 0
    assert _notes("site_not_armed") == []


def test_disarmed_again_after_arming_counts_as_not_armed(one_site):
    arm_world = one_site
    site = arm_world["site"]
    _record(site, "arm", taipei(2026, 11, 18, 18, 0))
    _record(site, "disarm", taipei(2026, 11, 18, 18, 10))
    db.session.commit()
    assert not_armed(taipei(2026, 11, 18, 18, 45)) == 1


def test_a_site_without_a_supervisor_notifies_the_managers(arm_world):
    other = arm_world["other"]
    _record(arm_world["site"], "disarm", taipei(2026, 11, 18, 8, 50))
    _record(other, "disarm", taipei(2026, 11, 18, 8, 55))
    db.session.commit()
    count = not_armed(taipei(2026, 11, 18, 18, 45))
    # The first site (its supervisor) and the other (the manager): both unarmed that evening.
    assert count == 2
    users = {n.user_id for n in _notes("site_not_armed") if n.link == f"/sites/{other.id}/arming"}
    assert users == {arm_world["manager"].id}


def test_a_site_whose_records_have_not_begun_is_not_checked(one_site):
    assert not_armed(taipei(2026, 11, 18, 19, 0)) == 0


def test_closed_days_and_unmonitored_sites_are_not_checked(arm_world, make_user):
    unmonitored = factories.gen_site()
    db.session.commit()
    saturday = WEDNESDAY + timedelta(days=3)
    assert not_armed(taipei(2026, 11, 21, 23, 0)) == 0
    assert not svc.arm_deadline(svc.hours_of(arm_world["site"].id), saturday)
    assert svc.hours_of(unmonitored.id) == {}


def test_an_old_day_is_not_notified_when_the_runner_starts_late(arm_world):
    # Two days later: the deadline is more than a day ago.
    assert not_armed(taipei(2026, 11, 20, 19, 0) + timedelta(days=1)) >= 0
    assert not [n for n in _notes("site_not_armed") if "2026-11-18" in n.subject]


def test_a_disarm_out_of_hours_notifies_once(one_site):
    arm_world = one_site
    site = arm_world["site"]
    _record(site, "disarm", taipei(2026, 11, 20, 8, 40))  # within 30 minutes of opening: fine
    _record(site, "disarm", taipei(2026, 11, 20, 23, 15))  # at night
    _record(site, "disarm", taipei(2026, 11, 21, 10, 0))  # closed all day
    db.session.commit()
    flagged = db.session.scalars(
        select(ArmEvent.occurred_at).where(ArmEvent.is_out_of_hours.is_(True))
    ).all()
    assert len(flagged) == 2
    assert out_of_hours_disarm(taipei(2026, 11, 21, 10, 1)) == 2
    assert out_of_hours_disarm(taipei(2026, 11, 21, 10, 2)) == 0
    db.session.commit()
    assert {n.user_id for n in _notes("disarm_out_of_hours")} == {arm_world["supervisor"].id}


def test_an_old_out_of_hours_disarm_is_marked_without_notifying(arm_world):
    _record(arm_world["site"], "disarm", taipei(2026, 11, 18, 23, 15))
    db.session.commit()
    assert out_of_hours_disarm(taipei(2026, 11, 25, 9, 0)) == 0
    event = db.session.scalars(select(ArmEvent)).one()
    assert event.out_of_hours_notified_at is not None


def test_hours_past_midnight_are_refused(arm_world):
    with pytest.raises(svc.ArmingError) as refused:
        svc.set_opening_hours(
            arm_world["site"],
            user=arm_world["admin"],
            days=[svc.DaySpec(0, False, time(22), time(6))],
        )
    assert refused.value.key == "bad_span"
