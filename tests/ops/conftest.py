"""A second, empty database to restore into: a new SQLite file, or on PostgreSQL a database
of its own beside the test database (dropped and created again for each test)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.extensions import db
from tests.conftest import is_postgres, make_app


def _fresh_postgres_database(url: str) -> str:
    base = make_url(url)
    name = f"{base.database}_restore"
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def restore_app(app, tmp_path):
    """An app on an empty database with an empty UPLOAD_DIR, and the keys of `app`."""
    if is_postgres():
        url = _fresh_postgres_database(app.config["SQLALCHEMY_DATABASE_URI"])
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    other = make_app(tmp_path / "restored", url, UPLOAD_DIR=str(tmp_path / "restored-uploads"))
    yield other
    with other.app_context():
        db.engine.dispose()
