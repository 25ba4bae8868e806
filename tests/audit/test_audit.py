"""The audit log: an HMAC chain, append-only in the database, verified by `flask audit verify`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from app import audit
from app.audit.models import AuditEvent
from app.audit.services import verify_chain
from app.extensions import db
from tests.conftest import is_postgres


def write_events(n: int = 5):
    for i in range(n):
        audit.record("test.event", actor_name="tester", target=f"thing:{i}", detail={"i": i})
    db.session.commit()


def behind_the_apps_back(database_url: str, sql: str) -> None:
    """Change the table the way an intruder with database access would: triggers off first."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
            conn.execute(text(sql))
    engine.dispose()


def test_chain_links_each_row_to_the_previous(app):
    write_events(3)
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert verify_chain().is_intact


def test_verify_command_passes_on_an_intact_chain(runner):
    write_events()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact: 5 events" in result.output


def test_edited_row_is_found_by_verify(runner, database_url):
    write_events(5)
    behind_the_apps_back(database_url, "UPDATE audit_event SET outcome = 'failure' WHERE seq = 3")
    db.session.expire_all()
    result = verify_chain()
    assert result.first_bad_seq == 3 and result.reason == "row altered"
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 1
    assert "seq 3" in cli.output


def test_deleted_row_is_found_by_verify(app, database_url):
    write_events(5)
    behind_the_apps_back(database_url, "DELETE FROM audit_event WHERE seq = 2")
    db.session.expire_all()
    assert verify_chain().first_bad_seq == 2


def test_a_row_rewritten_with_a_fresh_hash_but_without_the_key_is_caught(app, database_url):
    write_events(3)
    behind_the_apps_back(
        database_url,
        "UPDATE audit_event SET hash = substr(hash, 33) || substr(hash, 1, 32) WHERE seq = 2",
    )
    db.session.expire_all()
    assert verify_chain().first_bad_seq == 2


def test_the_database_refuses_updates_and_deletes(app, database_url):
    write_events(2)
    engine = create_engine(database_url)
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    engine.dispose()


def test_a_different_key_breaks_the_whole_chain(app):
    write_events(2)
    assert verify_chain(key=b"another key").first_bad_seq == 1


def test_secrets_never_reach_the_detail(app):
    event = audit.record("test.event", detail={"password": "hunter2", "value": "1234", "why": "ok"})
    assert json.loads(event.detail) == {"why": "ok"}


def test_login_logout_and_admin_actions_are_audited(client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    login("nobody", "whatever-password")
    login(admin)
    client.post(f"/admin/users/{guard.id}/reset-password")
    client.post(f"/admin/users/{guard.id}/active", data={"active": "0"})
    client.post("/logout")
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(r.action, r.outcome) for r in rows] == [
        ("auth.login", "failure"),
        ("auth.login", "success"),
        ("user.password_reset", "success"),
        ("user.deactivated", "success"),
        ("auth.logout", "success"),
    ]
    assert rows[0].actor_name.startswith("unknown:") and rows[0].actor_id is None
    assert "nobody" not in rows[0].actor_name
    assert rows[2].actor_id == admin.id and rows[2].target == f"user:{guard.id}"
    assert rows[1].ip == "127.0.0.1"
    assert verify_chain().is_intact


def test_concurrent_writers_keep_one_unbroken_chain(app):
    import threading

    failures = []

    def writer():
        with app.app_context():
            try:
                for _ in range(5):
                    audit.record("test.concurrent", actor_name="thread")
                    db.session.commit()
            except Exception as exc:  # any failure is what the test looks for
                failures.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = verify_chain()
    assert result.is_intact and result.count == 30


# ---------------------------------------------------------------- anchors outside the database


def anchor_lines(app, folder=None) -> list[dict]:
    from pathlib import Path

    path = Path(folder or Path(app.instance_path) / "audit-anchors") / "anchors.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_anchor_appends_the_chain_head_to_an_owner_only_file(app, runner):
    import os
    import stat
    from pathlib import Path

    write_events(3)
    first = runner.invoke(args=["audit", "anchor"])
    assert first.exit_code == 0, first.output
    write_events(2)
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    lines = anchor_lines(app)
    head = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert [line["seq"] for line in lines] == [3, 5]
    assert lines[-1]["hash"] == head.hash and lines[-1]["at"]
    path = Path(app.instance_path) / "audit-anchors" / "anchors.jsonl"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_deleting_the_newest_rows_is_named_as_a_truncation(app, runner, database_url):
    write_events(7)
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    anchored_at = anchor_lines(app)[-1]["at"][:10]
    behind_the_apps_back(database_url, "DELETE FROM audit_event WHERE seq > 4")
    db.session.expire_all()
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 1
    assert "the chain ends at 4 but the anchor of" in cli.output
    assert "recorded 7: 3 newest rows missing" in cli.output
    assert anchored_at in cli.output


def test_rows_written_after_the_anchor_still_verify(app, runner):
    write_events(2)
    runner.invoke(args=["audit", "anchor"])
    write_events(2)
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 0, cli.output
    assert "intact: 4 events" in cli.output and "seq 2" in cli.output


def test_a_chain_rebuilt_with_the_key_still_differs_from_the_anchor(app, runner, database_url):
    write_events(3)
    runner.invoke(args=["audit", "anchor"])
    behind_the_apps_back(database_url, "DELETE FROM audit_event")
    db.session.expire_all()
    write_events(3)  # an intruder with the key writes a fresh, self-consistent chain
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 1
    assert "seq 3" in cli.output and "rewritten" in cli.output


def test_the_anchor_folder_can_be_configured(app, runner, tmp_path):
    app.config["AUDIT_ANCHOR_DIR"] = str(tmp_path / "elsewhere")
    write_events(1)
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    assert anchor_lines(app, tmp_path / "elsewhere")[-1]["seq"] == 1


def test_the_jobs_runner_anchors_the_chain_daily(app, runner):
    from datetime import timedelta

    from app.jobs.tasks import JOBS

    job = next(job for job in JOBS if job.name == "audit_anchor")
    assert job.every == timedelta(days=1)
    write_events(4)
    result = runner.invoke(args=["jobs", "run", "--once", "--job", "audit_anchor", "-v"])
    assert result.exit_code == 0, result.output
    assert "audit_anchor: 4" in result.output
    assert anchor_lines(app)[-1]["seq"] == 4
    # Not due again within the day.
    again = runner.invoke(args=["jobs", "run", "--once", "--job", "audit_anchor", "-v"])
    assert "no job due" in again.output
    assert len(anchor_lines(app)) == 1
