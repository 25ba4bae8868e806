"""/healthz: the database, the jobs runner's last run and the outboxes' backlog, in one
statement, with nothing a stranger should not read."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.extensions import db
from app.jobs.models import JobState
from app.notifications.models import Notification
from tests import factories
from tests.querycount import count_queries


def test_healthz_reports_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok" and body["db"] == "ok"
    assert body["jobs"] == {"last_run": None, "stale": True}, "no runner has ever run"
    assert body["mail"] == {"enabled": False}, "no SMTP_URL"
    assert body["push"] == {"unsent": 0, "oldest_seconds": None}
    assert "Set-Cookie" not in response.headers


def test_healthz_reports_the_runner_and_the_unsent_mail(app, client):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    now = utcnow()
    db.session.add_all(
        [
            JobState(
                name="late_alarms", next_run_at=now, last_started_at=now - timedelta(seconds=40)
            ),
            JobState(name="audit_anchor", next_run_at=now, last_started_at=now - timedelta(days=1)),
        ]
    )
    with_mail = factories.gen_user("supervisor", email="sup@example.com")
    without = factories.gen_user("guard")
    db.session.add_all(
        [
            Notification(
                user_id=with_mail.id,
                kind="t",
                dedupe_key="a",
                created_at=now - timedelta(minutes=7),
            ),
            Notification(
                user_id=with_mail.id,
                kind="t",
                dedupe_key="b",
                created_at=now - timedelta(minutes=1),
            ),
            # Not counted: sent, given up, too old to send, or to nobody's address.
            Notification(user_id=with_mail.id, kind="t", dedupe_key="c", emailed_at=now),
            Notification(user_id=with_mail.id, kind="t", dedupe_key="d", mail_attempts=8),
            Notification(
                user_id=with_mail.id, kind="t", dedupe_key="e", created_at=now - timedelta(days=2)
            ),
            Notification(user_id=without.id, kind="t", dedupe_key="f"),
        ]
    )
    db.session.commit()

    with count_queries() as count:
        body = client.get("/healthz").json

    assert count() == 1, count.statements
    assert body["jobs"]["stale"] is False
    assert body["jobs"]["last_run"].endswith("Z")
    assert body["mail"]["unsent"] == 2
    assert 7 * 60 - 5 <= body["mail"]["oldest_seconds"] <= 7 * 60 + 30
    assert "sup@example.com" not in str(body)


def test_healthz_says_when_the_runner_is_stale(client):
    now = utcnow()
    db.session.add(
        JobState(name="late_alarms", next_run_at=now, last_started_at=now - timedelta(minutes=6))
    )
    db.session.commit()
    assert client.get("/healthz").json["jobs"]["stale"] is True


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, f"sqlite:///{tmp_path}/missing/dir/nothing.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "db": "error"}
