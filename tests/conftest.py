"""Fixtures: an app on a fresh database per test (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import contextvars
import os
import shutil
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text

from app import create_app
from app.extensions import db
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "AUDIT_KEY": "test-audit-key",
    "DATA_KEYS": "k1:dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTEyMzQ=",
    "WTF_CSRF_ENABLED": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "RATELIMIT_STORAGE_URI": "memory://",
    "SERVER_NAME": None,
}


def is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgresql")


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgresql") and "synchronous_commit" not in url:
        # Tests need no crash durability; skipping the WAL flush per commit halves the run.
        url += ("&" if "?" in url else "?") + "options=-csynchronous_commit%3Doff"
    return url


def make_app(tmp_path: Path, database_url: str, **overrides):
    config = dict(BASE_CONFIG)
    config.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    config.update(overrides)
    return create_app(config)


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> str:
    """Upgrade an empty database to head once; each test starts from a copy of it."""
    folder = tmp_path_factory.mktemp("template")
    if is_postgres():
        url = sqlalchemy_url(TEST_DATABASE_URL)
        _reset_postgres_schema(url)
    else:
        url = f"sqlite:///{folder / 'template.db'}"
    app = make_app(folder, url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    if is_postgres():
        _remember_seed_rows(url)
    return url


#: Rows the migrations install (the default checklist), in foreign-key order: put back
#: after each truncation.
_SEED_ROWS: list[tuple] = []


def _remember_seed_rows(url: str) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in conn.execute(table.select())]
            if rows:
                _SEED_ROWS.append((table, rows))
    engine.dispose()


_TRUNCATE_ENGINES: dict[str, object] = {}


def _truncate_postgres(url: str) -> None:
    engine = _TRUNCATE_ENGINES.get(url) or _TRUNCATE_ENGINES.setdefault(url, create_engine(url))
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        # The audit table's append-only triggers (and foreign-key checks) stand aside only for
        # the test harness. DELETE on a few rows is far quicker than TRUNCATE's new files.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in tables:
            conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608
        for table, rows in _SEED_ROWS:
            conn.execute(table.insert(), rows)
            if "id" in table.c:
                sequence = f"pg_get_serial_sequence('\"{table.name}\"', 'id')"
                conn.execute(
                    text(f'SELECT setval({sequence}, (SELECT max(id) FROM "{table.name}"))')  # noqa: S608
                )


@pytest.fixture
def database_url(migrated_database, tmp_path) -> str:
    """A fresh, migrated, empty database for this test."""
    if is_postgres():
        _truncate_postgres(migrated_database)
        return migrated_database
    source = Path(migrated_database.removeprefix("sqlite:///"))
    target = tmp_path / "test.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    application = make_app(tmp_path, database_url, **app_config)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Runs each request outside the test's app context, as a real server would.

    Otherwise Flask reuses the test's app context, so `g` (and Flask-Login's cached user)
    would leak from one request into the next and hide revocation bugs.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not when werkzeug follows a redirect inside the isolated run
            db.session.expire_all()  # the test's own objects must reread what the request changed
        return response


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: make_user(role, **fields) -> committed User."""

    def _make(role: str = "guard", **overrides):
        user = factories.gen_user(role, **overrides)
        db.session.commit()
        return user

    return _make


@pytest.fixture
def login(client):
    """Factory: login(user_or_username, password=PASSWORD) -> the POST response."""

    def _login(user, password: str = factories.PASSWORD, test_client=None, **extra):
        username = user if isinstance(user, str) else user.username
        return (test_client or client).post(
            "/login", data={"username": username, "password": password, **extra}
        )

    return _login
