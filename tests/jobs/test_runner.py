"""The runner: turns, one transaction per job, failures kept apart, the CLI, clean shutdown."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import cli as jobs_cli
from app.jobs import runner as jobs
from app.jobs.models import JobState
from app.jobs.tasks import JOBS
from app.notifications import services as notifications
from app.notifications.models import Notification
from tests.conftest import BASE_CONFIG, is_postgres
from tests.jobs.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def test_a_job_runs_when_its_turn_comes_and_not_before(app):
    turns = []
    probe = jobs.Job("probe", timedelta(minutes=10), lambda now: turns.append(now) or 0)
    start = NOW + timedelta(seconds=30)
    assert [o.job for o in jobs.run_due([probe], start)] == ["probe"]  # a new job: at once
    assert jobs.run_due([probe], start + timedelta(minutes=9)) == []
    assert jobs.run_due([probe], NOW + timedelta(minutes=10) - timedelta(seconds=1)) == []
    assert len(jobs.run_due([probe], NOW + timedelta(minutes=10))) == 1  # turns on whole minutes
    assert turns == [start, NOW + timedelta(minutes=10)]
    state = db.session.get(JobState, "probe")
    assert state.next_run_at == NOW + timedelta(minutes=20) and state.last_result == 0
    assert len(jobs.run_due([probe], NOW + timedelta(minutes=11), force=True)) == 1


def _notify_someone(user_id: int, key: str):
    def run(now) -> int:
        user = db.session.get(notifications.User, user_id)
        return len(
            notifications.notify(
                [user], kind="alarm_late", dedupe_key=key, subject="site", link="/alarms/1"
            )
        )

    return run


def test_a_failing_job_is_rolled_back_and_logged_and_the_others_still_run(app, world, caplog):
    user_id = world["supervisor"].id

    def writes_then_fails(now) -> int:
        _notify_someone(user_id, "doomed")(now)
        raise RuntimeError("mail server on fire")

    def breaks_the_transaction(now) -> int:
        _notify_someone(user_id, "twice")(now)
        db.session.add(Notification(user_id=user_id, kind="alarm_late", dedupe_key="twice"))
        db.session.flush()  # IntegrityError: the session must be usable again afterwards
        return 1

    line_up = [
        jobs.Job("first", timedelta(minutes=1), writes_then_fails),
        jobs.Job("second", timedelta(minutes=1), breaks_the_transaction),
        jobs.Job("third", timedelta(minutes=1), _notify_someone(user_id, "fine")),
    ]
    outcomes = jobs.run_due(line_up, NOW)
    assert [(o.job, o.ok) for o in outcomes] == [
        ("first", False),
        ("second", False),
        ("third", True),
    ]
    assert outcomes[0].error == "RuntimeError: mail server on fire"
    assert outcomes[1].error.startswith("IntegrityError:") and "[SQL" not in outcomes[1].error
    db.session.expire_all()
    assert list(db.session.scalars(select(Notification.dedupe_key))) == ["fine"]
    states = {s.name: s for s in db.session.scalars(select(JobState))}
    assert states["first"].last_error == "RuntimeError: mail server on fire"
    assert states["third"].last_error == "" and states["third"].last_result == 1
    assert "job=first failed" in caplog.text and "mail server on fire" in caplog.text


def test_the_cli_runs_the_due_jobs_once_and_exits(app, runner):
    result = runner.invoke(args=["jobs", "run", "--once", "--verbose"])
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [j.name for j in JOBS]
    again = runner.invoke(args=["jobs", "run", "--once", "--verbose"])
    assert again.exit_code == 0 and again.stdout.strip() == "no job due"
    assert runner.invoke(args=["jobs", "run", "--once"]).stdout == ""  # quiet for cron
    forced = runner.invoke(args=["jobs", "run", "--once", "-v", "--job", "late_alarms", "--force"])
    assert forced.stdout.strip() == "late_alarms: 0"
    listing = runner.invoke(args=["jobs", "list"]).stdout
    assert all(job.name in listing for job in JOBS) and "result 0" in listing


def test_the_cli_exits_non_zero_when_a_job_fails(app, runner, monkeypatch):
    def broken(now) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs_cli, "JOBS", [jobs.Job("broken", timedelta(minutes=1), broken)])
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 1


@pytest.mark.skipif(not is_postgres(), reason="several runners share the work on PostgreSQL only")
def test_two_runners_take_each_turn_once(app):
    probe = jobs.Job("probe", timedelta(minutes=1), lambda now: 0)
    jobs.ensure_states([probe], NOW)
    taken: dict[str, bool] = {}

    def other_runner():
        with app.app_context():
            try:
                taken["other"] = jobs.take_turn(probe, NOW)
            finally:
                db.session.remove()

    # This runner's UPDATE holds the row; the other one waits or sees it moved on: never both.
    first = db.session.execute(
        update(JobState)
        .where(JobState.name == "probe", JobState.next_run_at <= NOW)
        .values(next_run_at=NOW + timedelta(minutes=1))
    )
    thread = threading.Thread(target=other_runner)
    thread.start()
    db.session.commit()
    thread.join(timeout=60)
    assert first.rowcount == 1 and taken == {"other": False}


def _read_until(process, pattern: str, deadline: float) -> str:
    """Read the process's stderr until a line contains `pattern` (or fail at the deadline)."""
    seen = ""
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    while pattern not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {pattern!r} in time; stderr so far:\n{seen}"
        if selector.select(timeout=remaining):
            line = process.stderr.readline()
            assert line, f"the runner exited early:\n{seen}"
            seen += line
    return seen


def test_the_loop_stops_cleanly_on_sigterm(app, database_url, tmp_path):
    env = dict(
        os.environ,
        FLASK_APP="app",
        DATABASE_URL=database_url,
        SECRET_KEY=BASE_CONFIG["SECRET_KEY"],
        AUDIT_KEY=BASE_CONFIG["AUDIT_KEY"],
        DATA_KEYS=BASE_CONFIG["DATA_KEYS"],
        UPLOAD_DIR=str(tmp_path / "uploads"),
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "run"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        _read_until(process, f"job={JOBS[-1].name} result=0", deadline)  # a whole pass ran
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = process.stderr.read()
        assert "jobs runner stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    db.session.expire_all()
    assert {s.name for s in db.session.scalars(select(JobState))} == {j.name for j in JOBS}
