"""Each scheduled job does its work once it is due, and not before."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.briefings import services as briefings
from app.extensions import db
from app.i18n import TAIPEI
from app.jobs import tasks
from app.notifications.models import Notification
from tests.jobs.conftest import (
    NOW,
    TODAY,
    add_alarm,
    add_briefing,
    add_equipment,
    add_ticket,
)


def notified(kind: str) -> list[tuple[int, str]]:
    return sorted(
        (n.user_id, n.link)
        for n in db.session.scalars(select(Notification).where(Notification.kind == kind))
    )


def run(job, now) -> int:
    result = job(now)
    db.session.commit()
    return result


def test_late_alarms_notify_once_the_arrival_target_has_passed(world):
    # The site's target is 20 minutes; the alarm came in 19 minutes before NOW.
    alarm = add_alarm(world, received_at=NOW - timedelta(minutes=19))
    assert run(tasks.late_alarms, NOW) == 0
    assert run(tasks.late_alarms, NOW + timedelta(minutes=2)) == 2
    link = f"/alarms/{alarm.id}"
    assert notified("alarm_late") == sorted(
        [(world["supervisor"].id, link), (world["manager"].id, link)]
    )
    assert run(tasks.late_alarms, NOW + timedelta(minutes=3)) == 0  # once per alarm


def test_an_alarm_reached_in_time_never_notifies(world):
    alarm = add_alarm(world, received_at=NOW - timedelta(minutes=30))
    alarm.arrived_at = NOW - timedelta(minutes=15)
    db.session.commit()
    assert run(tasks.late_alarms, NOW) == 0


def test_overdue_repairs_notify_the_day_after_the_due_date(world):
    ticket = add_ticket(world, due_on=TODAY)
    assert run(tasks.overdue_repairs, NOW) == 0  # due today: not overdue yet
    assert run(tasks.overdue_repairs, NOW + timedelta(days=1)) == 2
    link = f"/repairs/{ticket.id}"
    assert notified("repair_overdue") == sorted(
        [(world["supervisor"].id, link), (world["manager"].id, link)]
    )
    assert run(tasks.overdue_repairs, NOW + timedelta(days=2)) == 0


def test_maintenance_due_notifies_the_supervisors_or_else_the_managers_once_per_due_date(world):
    supervised = add_equipment(world["site"], due_on=TODAY + timedelta(days=1))
    unsupervised = add_equipment(world["lonely"], due_on=TODAY + timedelta(days=3))
    assert run(tasks.maintenance_due, NOW) == 0
    assert run(tasks.maintenance_due, NOW + timedelta(days=1)) == 1
    assert notified("maintenance_due") == [
        (world["supervisor"].id, f"/equipment/{supervised.id}/maintenance")
    ]
    assert run(tasks.maintenance_due, NOW + timedelta(days=2)) == 0  # still overdue: not again
    assert run(tasks.maintenance_due, NOW + timedelta(days=3)) == 1  # nobody supervises: managers
    assert (world["manager"].id, f"/equipment/{unsupervised.id}/maintenance") in notified(
        "maintenance_due"
    )
    # Maintenance done moves the due date on; the next due date notifies again when it comes.
    supervised.last_maintained_on = TODAY + timedelta(days=1)
    db.session.commit()
    assert run(tasks.maintenance_due, NOW + timedelta(days=90)) == 0
    assert run(tasks.maintenance_due, NOW + timedelta(days=91)) == 1


def test_retired_equipment_and_equipment_without_a_plan_never_notify(world):
    add_equipment(world["site"], due_on=TODAY - timedelta(days=5)).status = "retired"
    add_equipment(world["site"], due_on=TODAY, interval_days=0)
    db.session.commit()
    assert run(tasks.maintenance_due, NOW) == 0


def test_briefing_reminders_go_the_day_before_and_the_day_it_is_due(world):
    briefing = add_briefing(world, due_on=TODAY + timedelta(days=3))
    # From noon in Taipei, an hour later is still the same day there, whenever the suite runs
    # (from NOW, it was the next day between 23:00 and midnight Taipei, and a second reminder).
    noon = datetime.combine(TODAY, time(12), tzinfo=TAIPEI).astimezone(UTC)
    assert run(tasks.briefing_reminders, noon) == 0
    assert run(tasks.briefing_reminders, noon + timedelta(days=1)) == 0
    assert run(tasks.briefing_reminders, noon + timedelta(days=2)) == 1  # the day before
    assert run(tasks.briefing_reminders, noon + timedelta(days=2, hours=1)) == 0  # once a day
    assert run(tasks.briefing_reminders, noon + timedelta(days=3)) == 1  # the day itself
    assert run(tasks.briefing_reminders, noon + timedelta(days=4)) == 0  # late: by hand now
    assert notified("briefing_reminder") == [(world["guard"].id, f"/briefings/{briefing.id}")] * 2


def test_no_reminder_for_whoever_acknowledged_or_a_manual_reminder_the_same_day(world):
    briefing = add_briefing(world, due_on=TODAY)
    briefings.remind(briefing, actor=world["supervisor"], today=TODAY)
    db.session.commit()
    assert run(tasks.briefing_reminders, NOW) == 0  # already reminded by hand today
    other = add_briefing(world, due_on=TODAY + timedelta(days=1))
    briefings.acknowledge(other, user=world["guard"])
    db.session.commit()
    assert run(tasks.briefing_reminders, NOW) == 0
