"""Database: SQLite pragmas, migrations from empty to head, no drift from the models."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app.extensions import db
from tests.conftest import is_postgres, make_app


@pytest.mark.skipif(is_postgres(), reason="SQLite connection settings")
def test_sqlite_connections_use_wal_full_sync_busy_timeout_and_foreign_keys(app):
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.fixture
def empty_database(tmp_path, database_url):
    """An empty database of the suite's kind (a new schema on PostgreSQL, a new file on SQLite)."""
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"drift_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    base = database_url.split("?", 1)[0]
    yield f"{base}?options=-csearch_path%3D{schema}"
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def test_migrations_upgrade_an_empty_database_and_match_the_models(tmp_path, empty_database):
    app = make_app(tmp_path, empty_database)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_migration_files_are_date_prefixed():
    from pathlib import Path

    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        assert name[:8].isdigit() and name[8] == "_", name


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    from app.sites.models import SiteAssignment

    db.session.add(SiteAssignment(user_id=999, site_id=999))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
