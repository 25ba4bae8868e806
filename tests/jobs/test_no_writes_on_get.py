"""GET / only reads; what home used to notify as a side effect comes from the jobs runner."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification
from tests.jobs.conftest import TODAY, add_alarm, add_briefing, add_equipment, add_ticket

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT")


@contextmanager
def writes_recorded():
    """Every INSERT/UPDATE/DELETE sent to the database while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def overdue_world(world):
    """Every kind of work the jobs notify about, already due."""
    add_alarm(world, received_at=utcnow() - timedelta(minutes=45))
    add_ticket(world, due_on=TODAY - timedelta(days=2))
    add_equipment(world["site"], due_on=TODAY - timedelta(days=1))
    add_briefing(world, due_on=TODAY)
    return world


@pytest.mark.parametrize("role", ["supervisor", "manager"])
def test_home_makes_no_writes_with_overdue_work_present(app, client, login, overdue_world, role):
    login(overdue_world[role])
    client.get("/?lang=en")  # ?lang= stores the choice (a write the user asked for): not counted
    with writes_recorded() as writes:
        page = client.get("/")
    assert page.status_code == 200 and "Running alarm responses" in page.text
    assert writes == []
    assert db.session.scalar(select(Notification)) is None


def test_home_and_the_lists_make_no_writes(app, client, login, overdue_world):
    login(overdue_world["supervisor"])
    with writes_recorded() as writes:
        for path in ("/", "/alarms", "/repairs", "/maintenance", "/notifications", "/briefings"):
            assert client.get(path).status_code == 200, path
    assert writes == []


def test_the_runner_notifies_what_home_used_to(app, client, login, runner, overdue_world):
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
    }
    page = client.get("/notifications?lang=en").text
    assert "Alarm response running late at 信義商辦大樓" in page
    assert "Repair overdue at 信義商辦大樓" in page and "Maintenance due at 信義商辦大樓" in page
