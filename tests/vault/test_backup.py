"""SECURITY.md "Data": a backup is consistent and holds no confidential value in clear."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.vault import services
from tests.conftest import is_postgres
from tests.factories import gen_site, gen_user
from tests.vault.test_at_rest import raw_bytes

SECRETS = ["陳美玲 0987-654-321", "CODE-5566-BACKUP"]


@pytest.mark.skipif(is_postgres(), reason="the SQLite backup (PostgreSQL's is pg_dump)")
def test_a_backup_holds_no_vault_value_and_passes_its_integrity_check(app, tmp_path):
    user, site = gen_user("supervisor"), gen_site()
    services.create_record(
        user=user, site=site, category="other", label="備份測試", value=SECRETS[0]
    )
    services.create_record(
        user=user, site=site, category="alarm_code", label="主機", value=SECRETS[1]
    )
    db.session.commit()
    folder = tmp_path / "guardpost-backup"

    result = app.test_cli_runner().invoke(args=["db-backup", str(folder)])

    assert result.exit_code == 0, result.output
    target = folder / "database.sqlite3"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    contents = raw_bytes(target)
    assert "備份測試".encode() in contents, "the search would find a clear-text column"
    for secret in [*SECRETS, "陳美玲", "0987-654-321", "5566-BACKUP"]:
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in contents, f"{secret!r} found in the backup"
    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        assert copy.execute("SELECT count(*) FROM confidential_record").fetchone() == (2,)
        assert copy.execute(
            "SELECT count(*) FROM audit_event WHERE action = 'db.backup'"
        ).fetchone() == (1,)
    finally:
        copy.close()
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "db.backup")) == 1


def test_a_backup_into_a_missing_folder_is_refused(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "nope" / "x")])
    assert result.exit_code != 0 and "no such folder" in result.output


@pytest.mark.skipif(
    not is_postgres() or shutil.which("pg_restore") is None, reason="pg_dump on PostgreSQL"
)
def test_a_postgresql_backup_holds_no_vault_value(app, tmp_path):
    user, site = gen_user("supervisor"), gen_site()
    services.create_record(
        user=user, site=site, category="other", label="備份測試", value=SECRETS[0]
    )
    db.session.commit()
    folder = tmp_path / "guardpost"
    result = app.test_cli_runner().invoke(args=["db-backup", str(folder)])
    assert result.exit_code == 0, result.output
    target = folder / "database.pgdump"
    # The custom format is compressed: read it back as SQL text before searching it.
    sql = subprocess.run(
        ["pg_restore", "--file=-", str(target)], check=True, capture_output=True
    ).stdout
    assert "備份測試".encode() in sql, "the search would find a clear-text column"
    for secret in (SECRETS[0], "陳美玲", "0987-654-321"):
        assert secret.encode() not in sql, f"{secret!r} found in the backup"
