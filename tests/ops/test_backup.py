"""`flask backup` and `flask restore` (issue 15 item 5): consistent under concurrent writes,
checked both ways, the files included, the instance secrets never."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import audit
from app.audit import services as audit_services
from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db
from app.jobs import tasks
from app.jobs.runner import run_due
from app.notifications.models import Notification
from app.ops import backup
from app.sites.models import Site
from app.vault import services as vault
from tests import factories
from tests.conftest import is_postgres

needs_pg_tools = pytest.mark.skipif(
    is_postgres() and shutil.which("pg_restore") is None, reason="PostgreSQL client tools"
)


def _photo(app):
    owner, site = factories.gen_user("supervisor"), factories.gen_site()
    db.session.commit()
    photo = factories.gen_photo(owner, site)
    db.session.commit()
    return photo, owner


class Writer(threading.Thread):
    """Appends audit events and notifications, one commit each, until stopped."""

    def __init__(self, app, user_id: int) -> None:
        super().__init__(daemon=True)
        self.app, self.user_id = app, user_id
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        with self.app.app_context():
            try:
                while not self.stop.is_set():
                    n = self.written
                    audit.record("test.concurrent", actor_name="writer", target=f"n:{n}")
                    db.session.add(
                        Notification(user_id=self.user_id, kind="test", dedupe_key=f"w{n}")
                    )
                    db.session.commit()
                    self.written += 1
            except BaseException as exc:  # reported by the test
                self.error = exc
            finally:
                db.session.remove()

    def wait_for(self, count: int) -> None:
        for _ in range(500):
            if self.written >= count or self.error:
                return
            self.stop.wait(0.01)


def _live_count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@needs_pg_tools
def test_a_backup_under_concurrent_writes_restores_identically(app, restore_app, tmp_path):
    photo, owner = _photo(app)
    original = (Path(app.config["UPLOAD_DIR"]) / photo.path).read_bytes()
    writer = Writer(app, owner.id)
    writer.start()
    try:
        writer.wait_for(20)
        before = writer.written
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b1")])
        after = writer.written
        writer.wait_for(after + 20)  # and still going
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    assert "audit chain checked" in result.output
    assert after > before, "the writer went on while the backup ran"

    folder = tmp_path / "b1"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    # One snapshot: the counts of the manifest are those of one moment between the writes.
    copied = manifest["tables"]["notification"]
    assert before <= copied < _live_count(Notification)
    assert manifest["audit"]["events"] == manifest["tables"]["audit_event"]
    assert manifest["audit"]["events"] < _live_count(AuditEvent)
    assert {item["path"] for item in manifest["files"]} == {photo.path, photo.thumb_path}
    assert manifest["problems"] == []

    with restore_app.app_context():
        restored = restore_app.test_cli_runner().invoke(args=["restore", str(folder)])
        assert restored.exit_code == 0, restored.output
        assert "row counts and audit chain checked" in restored.output
        counts = backup.check_database(db.session)
        # The restore itself is audited in the restored chain: one event more.
        assert counts.tables == manifest["tables"] | {
            "audit_event": manifest["tables"]["audit_event"] + 1
        }
        assert audit_services.verify_chain().is_intact
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last.action == "db.restore"
        restored_photo = Path(restore_app.config["UPLOAD_DIR"]) / photo.path
        assert restored_photo.read_bytes() == original
        assert stat.S_IMODE(restored_photo.stat().st_mode) == 0o600
        # `flask audit verify` agrees.
        verified = restore_app.test_cli_runner().invoke(args=["audit", "verify"])
        assert verified.exit_code == 0 and "audit chain intact" in verified.output


def _key_material(app) -> list[bytes]:
    """Every instance secret, as configured and as the bytes it decodes to."""
    found = []
    for name in ("SECRET_KEY", "AUDIT_KEY", "DATA_KEYS", "VAPID_PRIVATE_KEY"):
        value = app.config[name]
        found.append(value.encode())
    for entry in app.config["DATA_KEYS"].split(","):
        key = entry.split(":", 1)[1]
        found += [key.encode(), base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))]
    vapid = app.config["VAPID_PRIVATE_KEY"]
    found.append(base64.urlsafe_b64decode(vapid + "=" * (-len(vapid) % 4)))
    return found


@needs_pg_tools
def test_a_backup_never_holds_the_instance_secrets(app, tmp_path):
    # The worst case: UPLOAD_DIR set to the instance folder, secrets.json beside the photos.
    instance = Path(app.instance_path)
    app.config["UPLOAD_DIR"] = str(instance)
    secrets = {k: app.config[k] for k in ("SECRET_KEY", "AUDIT_KEY", "DATA_KEYS")}
    (instance / "secrets.json").write_text(json.dumps(secrets))
    photo, owner = _photo(app)
    vault.create_record(
        user=owner,
        site=db.session.get(Site, photo.site_id),
        category="alarm_code",
        label="主機",
        value="CODE-8899",
    )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")])

    assert result.exit_code == 0, result.output
    contents = [p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()]
    if is_postgres():  # the custom format is compressed: read it back as SQL text too
        dump = tmp_path / "b" / "database.pgdump"
        contents.append(
            subprocess.run(
                ["pg_restore", "--file=-", str(dump)], check=True, capture_output=True
            ).stdout
        )
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "secrets.json" not in {Path(item["path"]).name for item in manifest["files"]}
    assert photo.path in {item["path"] for item in manifest["files"]}
    for secret in [*_key_material(app), b"CODE-8899"]:
        for blob in contents:
            assert secret not in blob, f"{secret[:6]!r}… found in the backup"


def test_restore_refuses_a_database_that_is_not_empty(app, tmp_path):
    _photo(app)
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    shutil.rmtree(app.config["UPLOAD_DIR"])

    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])

    assert result.exit_code == 1
    assert "the database is not empty" in result.output
    assert "restore only into an empty one" in result.output


def test_restore_refuses_a_backup_that_differs_from_its_manifest(app, restore_app, tmp_path):
    photo, _owner = _photo(app)
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    copy = tmp_path / "b" / "files" / photo.path
    copy.write_bytes(copy.read_bytes() + b"x")
    with restore_app.app_context():
        result = restore_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
        assert result.exit_code == 1
        assert "not the file the manifest describes" in result.output
        assert backup.inspect(db.engine).get_table_names() == [], "nothing was restored"


def test_a_backup_does_not_overwrite_or_go_to_a_missing_folder(app, tmp_path):
    runner = app.test_cli_runner()
    assert "no such folder" in runner.invoke(args=["backup", str(tmp_path / "no/b")]).output
    (tmp_path / "taken").mkdir()
    assert "exists already" in runner.invoke(args=["db-backup", str(tmp_path / "taken")]).output


@needs_pg_tools
def test_a_backup_with_a_photo_file_gone_is_written_but_says_so(app, tmp_path):
    photo, _owner = _photo(app)
    (Path(app.config["UPLOAD_DIR"]) / photo.path).unlink()
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert f"missing: {photo.path}" in result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["problems"] == [f"missing: {photo.path}"]


def test_a_backup_holds_its_own_audit_event(app, tmp_path):
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last.action == "db.backup" and last.seq == manifest["audit"]["head_seq"]
    assert last.hash == manifest["audit"]["head_hash"]


# ---------------------------------------------------------------- the daily job


@needs_pg_tools
def test_the_backup_job_keeps_the_newest_copies(app, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=2)
    job = next(job for job in tasks.JOBS if job.name == "backup")
    start = utcnow().replace(microsecond=0)
    names = []
    for day in range(3):
        now = start + timedelta(days=day)
        outcomes = run_due([job], now, force=True)
        assert [o.error for o in outcomes] == [""]
        names.append(f"guardpost-{now:%Y%m%dT%H%M%SZ}")
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == names[1:], "the oldest is pruned, the newest two kept"
    unrelated = tmp_path / "backups" / "keep-me"
    unrelated.mkdir()
    assert backup.prune(tmp_path / "backups", keep=1) == names[2:]
    assert unrelated.is_dir(), "only the job's own folders are pruned"


def test_the_backup_job_is_off_without_a_backup_dir(app, tmp_path):
    assert not app.config["BACKUP_DIR"] and app.config["BACKUP_KEEP"] == 7
    assert tasks.backup(utcnow()) == 0
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "db.backup")) == 0
