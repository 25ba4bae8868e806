"""Files on disk are their owner's only (issue 10, item 9): the instance folder and upload
folders 0700; the SQLite database (and its -wal/-shm), stored photos and PDFs 0600 — whatever
the umask (the usual 022 gave 0644 and 0755)."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from tests import factories
from tests.briefings.test_attachments import pdf
from tests.briefings.test_briefings import brief, team  # noqa: F401 (the fixture is used)
from tests.conftest import make_app
from tests.photos.test_uploads import fault, upload  # noqa: F401 (the fixture is used)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_new_sqlite_database_and_the_instance_folder_are_owner_only(tmp_path):
    database = tmp_path / "instance" / "guardpost.db"
    app = make_app(tmp_path, f"sqlite:///{database}")
    with app.app_context():
        db.session.execute(text("CREATE TABLE t (x INTEGER)"))
        db.session.execute(text("INSERT INTO t VALUES (1)"))
        db.session.commit()
        wal = Path(f"{database}-wal")
        assert wal.exists()  # WAL mode, while the connection is open
        modes = {p.name: mode(p) for p in (database, wal, Path(f"{database}-shm"))}
        db.session.remove()
        db.engine.dispose()
    assert modes == {name: 0o600 for name in modes}
    assert mode(tmp_path / "instance") == 0o700


def test_an_existing_world_readable_database_is_narrowed_on_connect(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "old.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    app = make_app(tmp_path, f"sqlite:///{database}")
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        db.engine.dispose()
    assert mode(database) == 0o600


def _modes_below(root: Path) -> dict[str, int]:
    found = {".": mode(root)}
    for folder, subfolders, names in os.walk(root):
        for name in subfolders + names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = mode(path)
    return found


def test_stored_photos_and_their_folders_are_owner_only(app, client, fault):  # noqa: F811
    upload_dir = Path(app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    upload_dir.chmod(0o755)  # as an operator might have made it
    assert upload(client, fault, factories.png_bytes((800, 600))).status_code == 200
    found = _modes_below(upload_dir)
    assert len(found) == 5  # uploads, photos/, photos/xx/, the photo, its thumbnail
    expected = {name: 0o700 if (upload_dir / name).is_dir() else 0o600 for name in found}
    assert found == expected


def test_stored_pdfs_and_their_folders_are_owner_only(app, client, team, login):  # noqa: F811
    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    client.post(
        f"/briefings/{briefing.id}/attachments",
        data={"file": (io.BytesIO(pdf()), "SOP.pdf")},
        content_type="multipart/form-data",
    )
    upload_dir = Path(app.config["UPLOAD_DIR"])
    found = _modes_below(upload_dir)
    assert any(name.endswith(".pdf") for name in found)
    assert found == {name: 0o700 if (upload_dir / name).is_dir() else 0o600 for name in found}
