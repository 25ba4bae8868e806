"""Fixtures: one app per test process, a freshly reset database for every test.

The database (SQLite, or PostgreSQL via TEST_DATABASE_URL) is migrated once per process; every
test then starts from its migrated state: all rows deleted, the rows the migrations install (the
default checklist) put back, the audit table's append-only triggers restored. Under pytest-xdist
each worker has a database of its own (`<name>_gw0`, ... on PostgreSQL).

The app is built once per distinct `app_config` override and reused. Per test it gets its own
INSTANCE_PATH and UPLOAD_DIR (removed afterwards), its configuration and attributes as built
(what a test changed is put back), a fresh rate-limiter store, and background threads the app
started are waited for before the database is reset under them.
"""

from __future__ import annotations

import contextvars
import copy
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db, limiter
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent
#: "gw0", "gw1", ... under pytest-xdist; empty in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "AUDIT_KEY": "test-audit-key",
    "DATA_KEYS": "k1:dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTEyMzQ=",
    "WTF_CSRF_ENABLED": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,  # KiB: the cheapest hash that is still a real Argon2id one
    "ARGON2_PARALLELISM": 1,
    "RATELIMIT_STORAGE_URI": "memory://",
    "SERVER_NAME": None,
    # Production requires managers and admins to enrol a second factor before anything else;
    # the suite signs them in with a password only, except where a test asks for the rule
    # (tests/auth/test_second_factor.py and the passkey browser test set it back).
    "SECOND_FACTOR_ROLES": [],
    # Web Push's signing key, fixed (a generated one would be written to each INSTANCE_PATH).
    "VAPID_PRIVATE_KEY": "O_CDbRuOhu8jNTdFsRG3SaGr-PYTuydehXbaYxw8N3s",
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


class _MemoryBytecodeCache(BytecodeCache):
    """Templates compiled once per test process, not once per app (Jinja checks the source)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


def make_app(tmp_path: Path, database_url: str, **overrides) -> Flask:
    """A new app (most tests use the shared `app` fixture instead)."""
    config = dict(BASE_CONFIG)
    config.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    config.update(overrides)
    application = create_app(config)
    application.jinja_env.bytecode_cache = _TEMPLATES
    return application


# ------------------------------------------------------------------ the per-process database


def _worker_postgres_url(base: str) -> str:
    """The base URL itself, or under xdist `<dbname>_<worker>` on the same server (created)."""
    if not WORKER:
        return base
    url = make_url(base)
    name = f"{url.database}_{WORKER}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    """This process's folder for the test database and each test's uploads.

    Memory-backed when the system has /dev/shm: the app asks for a full fsync on every SQLite
    commit and every stored photo (SECURITY.md 9), which tests need not pay for on disk."""
    shm = Path("/dev/shm")  # noqa: S108 (mkdtemp below: a private folder)
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix=f"guardpost-test-{WORKER or 'main'}-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("scratch")


class PostgresReset:
    """DELETE every table under session_replication_role=replica (the audit table's
    append-only triggers and the foreign-key checks stand aside for the harness only), then put
    the seed rows back. DELETE on a few rows is far quicker than TRUNCATE's new files."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        metadata = MetaData()
        metadata.reflect(self.engine)
        self.seeds: list[tuple] = []
        statements = ["SET LOCAL session_replication_role = replica"]
        with self.engine.connect() as conn:
            for table in metadata.sorted_tables:
                if table.name == "alembic_version":
                    continue
                statements.append(f'DELETE FROM "{table.name}"')  # noqa: S608
                rows = [dict(r._mapping) for r in conn.execute(table.select())]
                if rows:
                    self.seeds.append((table, rows))
        self.script = ";\n".join(statements)
        self.sequences = [
            f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'),"  # noqa: S608
            f' (SELECT max(id) FROM "{t.name}"))'
            for t, _rows in self.seeds
            if "id" in t.c
        ]

    def __call__(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.script)  # one round trip for every DELETE
            for table, rows in self.seeds:
                conn.execute(table.insert(), rows)
            for statement in self.sequences:
                conn.exec_driver_sql(statement)

    def close(self) -> None:
        self.engine.dispose()


class SqliteReset:
    """One script on one connection: drop the triggers, DELETE every table, copy the seed rows
    back from the migrated template (attached), recreate the triggers. Row ids then start
    where a freshly migrated database would start them."""

    def __init__(self, path: Path, template: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.connection.execute("PRAGMA foreign_keys = OFF")
        self.connection.execute("ATTACH DATABASE ? AS seed", (str(template),))
        master = self.connection.execute(
            "SELECT type, name, sql FROM seed.sqlite_master WHERE sql IS NOT NULL"
        ).fetchall()
        tables = [
            name
            for kind, name, _sql in master
            if kind == "table" and name != "alembic_version" and not name.startswith("sqlite_")
        ]
        triggers = [(name, sql) for kind, name, sql in master if kind == "trigger"]
        seeded = [
            name
            for name in tables
            if self.connection.execute(f'SELECT 1 FROM seed."{name}" LIMIT 1').fetchone()  # noqa: S608
        ]
        has_sequence = any(name == "sqlite_sequence" for _kind, name, _sql in master)
        lines = ["BEGIN IMMEDIATE"]
        lines += [f'DROP TRIGGER IF EXISTS main."{name}"' for name, _sql in triggers]
        lines += [f'DELETE FROM main."{name}"' for name in tables]  # noqa: S608
        if has_sequence:
            lines.append("DELETE FROM main.sqlite_sequence")
        lines += [f'INSERT INTO main."{n}" SELECT * FROM seed."{n}"' for n in seeded]  # noqa: S608
        lines += [sql for _name, sql in triggers]
        lines.append("COMMIT")
        self.script = ";\n".join(lines) + ";"

    def __call__(self) -> None:
        try:
            self.connection.executescript(self.script)
        except sqlite3.Error:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.connection.close()


class WorkerDatabase:
    """This process's database: its URL and `reset()`, back to the freshly migrated state."""

    def __init__(self, url: str, reset: PostgresReset | SqliteReset) -> None:
        self.url = url
        self.reset = reset


@pytest.fixture(scope="session")
def worker_database(tmp_path_factory, scratch):
    """This process's database, upgraded to head once."""
    if is_postgres():
        url = _worker_postgres_url(sqlalchemy_url(TEST_DATABASE_URL))
        _reset_postgres_schema(url)
        app = make_app(tmp_path_factory.mktemp("migrate"), url)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        reset = PostgresReset(url)
    else:
        template = scratch / "template.db"
        app = make_app(tmp_path_factory.mktemp("migrate"), f"sqlite:///{template}")
        with app.app_context():
            upgrade()
            db.engine.dispose()
        # Fold the write-ahead log into the file: the template is then complete on its own.
        conn = sqlite3.connect(template)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        database = scratch / "test.db"
        shutil.copyfile(template, database)
        url = f"sqlite:///{database}"
        reset = SqliteReset(database, template)
    yield WorkerDatabase(url, reset)
    _dispose_apps()
    reset.close()


@pytest.fixture(scope="session")
def migrated_database(worker_database) -> str:
    """The URL of this process's migrated database (as it was left by the last test)."""
    return worker_database.url


@pytest.fixture
def database_url(worker_database) -> str:
    """The migrated database, emptied for this test (only the migrations' seed rows in it)."""
    worker_database.reset()
    return worker_database.url


# ------------------------------------------------------------------ Hypothesis

# The property tests check what is generated, not how fast: on a loaded CI machine (two test
# passes, Chromium and PostgreSQL on 2 cores) drawing two inputs once took 1.8 s, and the
# "too slow" health check failed a test whose property held. No deadline either, for the same
# reason; each test keeps its own example count.
settings.register_profile("guardpost", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("guardpost")


# ------------------------------------------------------------------ the shared app


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change settings for its app."""
    return {}


class _Built:
    """An app with what it looked like when built, to put back after every test."""

    def __init__(self, application: Flask) -> None:
        self.app = application
        self.config = copy.deepcopy(dict(application.config))
        self.attributes = dict(vars(application))
        self.limiter_storage = limiter.storage
        self.shape = _shape(application)

    def prepare(self, folder: Path) -> Flask:
        """The app as built (a test's own config or static_folder undone), with INSTANCE_PATH
        and UPLOAD_DIR below `folder` and an empty rate-limiter store."""
        application = self.app
        for name, value in self.attributes.items():
            if vars(application).get(name, _MISSING) is not value:
                vars(application)[name] = value
        application.config.clear()
        application.config.update(copy.deepcopy(self.config))
        instance = folder / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        application.instance_path = str(instance)
        application.config.update(INSTANCE_PATH=str(instance), UPLOAD_DIR=str(folder / "uploads"))
        # The limiter is one object, bound to the last app initialised (a test may have made
        # its own): bind it back to this one, or empty its store.
        if limiter.storage is self.limiter_storage:
            limiter.reset()
        else:
            limiter.init_app(application)
            self.limiter_storage = limiter.storage
        return application


_MISSING = object()

_HOOKS = (
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "template_context_processors",
    "url_value_preprocessors",
    "url_default_functions",
)


def _shape(application: Flask) -> tuple:
    """What a test could add to the app itself: routes, hooks, error handlers, template
    globals and filters, extensions. A test that changed it gets the app thrown away.
    (Flask's hook and handler tables are defaultdicts that lookups fill with empty entries.)"""
    jinja = application.jinja_env
    return (
        [id(rule) for rule in application.url_map.iter_rules()],
        dict(application.view_functions),
        [
            {scope: list(funcs) for scope, funcs in getattr(application, name).items() if funcs}
            for name in _HOOKS
        ],
        list(application.teardown_appcontext_funcs),
        {
            (scope, code): dict(handlers)
            for scope, spec in application.error_handler_spec.items()
            for code, handlers in spec.items()
            if handlers
        },
        dict(application.blueprints),
        dict(application.extensions),
        dict(jinja.globals),
        dict(jinja.filters),
        dict(jinja.tests),
    )


#: One app per database URL and distinct app_config, for the whole process.
_BUILT: dict[str, _Built] = {}


_APP_NUMBER = itertools.count(1)


def _app_for(database_url: str, overrides: dict, scratch: Path) -> tuple[str, _Built]:
    key = repr((database_url, sorted(overrides.items(), key=lambda item: item[0])))
    if key not in _BUILT:
        folder = scratch / f"app{next(_APP_NUMBER)}"
        _BUILT[key] = _Built(make_app(folder, database_url, **overrides))
    return key, _BUILT[key]


def _dispose(application: Flask) -> None:
    with application.app_context():
        db.engine.dispose()


def _dispose_apps() -> None:
    while _BUILT:
        _dispose(_BUILT.popitem()[1].app)


def _app_threads() -> set[threading.Thread]:
    """Threads running the app's own code (e.g. mail sent after a request)."""
    found = set()
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        if target is not None and getattr(target, "__module__", "").startswith("app."):
            found.add(thread)
    return found


_TEST_NUMBER = itertools.count(1)


@pytest.fixture
def app(database_url, app_config, scratch):
    folder = scratch / f"test{next(_TEST_NUMBER)}"
    key, built = _app_for(database_url, app_config, scratch)
    application = built.prepare(folder)
    before = _app_threads()
    with application.app_context():
        yield application
        db.session.remove()
    for thread in _app_threads() - before:
        thread.join(timeout=30)  # before the next test empties the database under it
    if _shape(application) != built.shape:  # e.g. a route added for the test: the next gets
        del _BUILT[key]  # a new app
        _dispose(application)
    shutil.rmtree(folder, ignore_errors=True)


class IsolatedClient(FlaskClient):
    """Runs each request outside the test's app context, as a real server would.

    Otherwise Flask reuses the test's app context, so `g` (and Flask-Login's cached user)
    would leak from one request into the next and hide revocation bugs.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(self._open_and_read, *args, **kwargs)
        if has_app_context():  # not when werkzeug follows a redirect inside the isolated run
            db.session.expire_all()  # the test's own objects must reread what the request changed
        return response

    def _open_and_read(self, *args, **kwargs):
        """A streamed body (stream_with_context: the exports) is read in the request's own
        context, as a server reads it in the request's thread, not later in the test's."""
        response = super().open(*args, **kwargs)
        if response.is_streamed:
            response.make_sequence()
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


@pytest.fixture
def checklist_v1(app):
    """Version 1 of the default checklist is the active one (tests written against its items)."""
    from tests import factories

    factories.use_checklist_version(1)


@pytest.fixture
def receiver(app):
    """A local push service on 127.0.0.1 (tests/push_receiver.py), listed as one the app
    sends to."""
    from tests.push_receiver import Receiver

    found = Receiver()
    app.config["PUSH_SERVICE_HOSTS"] = ["127.0.0.1"]
    yield found
    found.close()


# ------------------------------------------------------------------ the PostgreSQL pass

#: Fixtures through which a test reaches the database under test.
DATABASE_FIXTURES = frozenset({"worker_database", "migrated_database", "database_url"})


def _touches_the_database(item) -> bool:
    if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    source = Path(str(item.fspath)).read_text(encoding="utf-8")
    return "TEST_DATABASE_URL" in source or "is_postgres" in source


def _in_the_browser(item) -> bool:
    return f"{os.sep}e2e{os.sep}" in str(item.fspath)


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass (CI runs the whole suite on SQLite first), leave out what the
    database cannot change, which running again only lengthens CI (its budget is 15 minutes):
    - the tests that never reach the database (static checks, translations, image bounds);
    - the browser tests (tests/e2e): what they check is what Chromium and the page's scripts
      do with the pages; the requests those pages make are the routes that the route,
      permission-table, statement-budget and fuzz tests run on PostgreSQL in this pass. They
      were 44 % of the SQLite pass's test time (2026-11-26) and would be more of this one.
    PG_PASS_ALL=1 runs everything on PostgreSQL (as before a release)."""
    if not is_postgres() or os.environ.get("PG_PASS_ALL"):
        return
    kept, left = [], []
    for item in items:
        (kept if _touches_the_database(item) and not _in_the_browser(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
