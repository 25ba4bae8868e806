"""GET / only reads; what home used to notify as a side effect comes from the jobs runner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.i18n import taipei_today
from app.notifications.models import Notification
from tests.jobs.conftest import add_alarm, add_briefing, add_equipment, add_ticket
from tests.querycount import count_queries

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT")


def _writes(count) -> list[str]:
    """The INSERT/UPDATE/DELETE statements among those counted."""
    return [s for s in count.statements if s.lstrip().upper().startswith(WRITES)]


@pytest.fixture
def overdue_world(world):
    """Every kind of work the jobs notify about, already due. Due by today's date in Taipei
    as it is now, not as it was when the module was imported (a suite that crossed midnight
    in Taipei made the briefing yesterday's, and the runner, which reads the clock, skipped it)."""
    today = taipei_today()
    add_alarm(world, received_at=utcnow() - timedelta(minutes=45))
    add_ticket(world, due_on=today - timedelta(days=2))
    add_equipment(world["site"], due_on=today - timedelta(days=1))
    add_briefing(world, due_on=today)
    return world


@pytest.mark.parametrize("role", ["supervisor", "manager"])
def test_home_makes_no_writes_with_overdue_work_present(app, client, login, overdue_world, role):
    login(overdue_world[role])
    client.get("/?lang=en")  # ?lang= stores the choice (a write the user asked for): not counted
    with count_queries() as count:
        page = client.get("/")
    assert page.status_code == 200 and "Running alarm responses" in page.text
    assert count() > 0 and _writes(count) == []
    # Only the briefing's publication notified (when it was published), nothing the jobs do.
    assert {n.kind for n in db.session.scalars(select(Notification))} == {"briefing_published"}


def test_home_and_the_lists_make_no_writes(app, client, login, overdue_world):
    login(overdue_world["supervisor"])
    with count_queries() as count:
        for path in ("/", "/alarms", "/repairs", "/maintenance", "/notifications", "/briefings"):
            assert client.get(path).status_code == 200, path
    assert count() > 0 and _writes(count) == []


def test_the_runner_notifies_what_home_used_to(
    app, client, login, runner, overdue_world, monkeypatch
):
    # Not the training-hours reminder, which the month's last five days would add.
    monkeypatch.setattr("app.briefings.compliance.REMIND_IN_LAST_DAYS", 0)
    world = overdue_world
    login(world["supervisor"])
    client.get("/")
    assert runner.invoke(args=["jobs", "run", "--once"]).exit_code == 0
    kinds = {(n.kind, n.user_id) for n in db.session.scalars(select(Notification))}
    assert kinds == {
        ("alarm_late", world["supervisor"].id),
        ("alarm_late", world["manager"].id),
        ("repair_overdue", world["supervisor"].id),
        ("repair_overdue", world["manager"].id),
        ("maintenance_due", world["supervisor"].id),
        ("briefing_reminder", world["guard"].id),
        ("briefing_published", world["guard"].id),  # by publish(), not by the runner
    }
    page = client.get("/notifications?lang=en").text
    assert "Alarm response running late at 信義商辦大樓" in page
    assert "Repair overdue at 信義商辦大樓" in page and "Maintenance due at 信義商辦大樓" in page
