"""SECURITY.md "Data": a secret typed in is not found in the database file or its WAL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.engine import make_url

from app.extensions import db
from app.vault import services
from app.vault.models import ConfidentialRecord
from tests.conftest import is_postgres
from tests.factories import gen_site, gen_user

SECRETS = ["王小明 0912-345-678", "ALARM-4711-ZULU#"]


def raw_bytes(path: Path) -> bytes:
    """The file's bytes, read by another process. Opening and closing a SQLite file in this
    process would drop this process's POSIX locks on it (closing any descriptor of a file
    releases them all), and its live connections then fail with "disk I/O error"."""
    return subprocess.run(["cat", str(path)], check=True, capture_output=True).stdout


def sqlite_files(url: str) -> list[Path]:
    database = Path(make_url(url).database)
    return [p for p in (database, Path(f"{database}-wal")) if p.exists()]


@pytest.mark.skipif(is_postgres(), reason="searches the SQLite file and its WAL")
def test_a_committed_value_is_not_in_the_database_file_nor_its_wal(app, database_url):
    user, site = gen_user("supervisor"), gen_site()
    services.create_record(user=user, site=site, category="other", label="聯絡人", value=SECRETS[0])
    services.create_record(
        user=user,
        site=site,
        category="key_holder",
        label="第一順位",
        value={"name": "王小明", "phones": ["0912-345-678"], "relation": "", "calling_order": 1},
    )
    services.create_record(
        user=user, site=site, category="alarm_code", label="主機", value=SECRETS[1]
    )
    db.session.commit()

    files = sqlite_files(database_url)
    assert files, "the test database is a file"
    contents = b"".join(raw_bytes(path) for path in files)
    assert "聯絡人".encode() in contents, "the search would find a clear-text column"
    for secret in [*SECRETS, "王小明", "0912-345-678", "ALARM-4711"]:
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in contents, f"{secret!r} found in clear"


def test_no_text_column_of_any_table_holds_a_committed_value(app):
    """The same search by SQL, on either database: audit details, labels, every column."""
    user, site = gen_user("supervisor"), gen_site()
    record = services.create_record(
        user=user, site=site, category="client_personnel", label="總務", value=SECRETS[0]
    )
    services.change_value(record, user=user, value=SECRETS[1])
    db.session.commit()
    searched = 0
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String):
                continue
            for needle in ("王小明", "0912-345-678", "ALARM-4711"):
                hits = db.session.scalar(
                    select(func.count()).select_from(table).where(column.contains(needle))
                )
                assert hits == 0, f"{needle!r} in {table.name}.{column.name}"
            searched += 1
    assert searched > 50
    label = ConfidentialRecord.label
    assert db.session.scalar(select(func.count()).where(label.contains("總務"))) == 1
