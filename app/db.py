"""Declarative base with a naming convention, common mixins and SQLite connection pragmas."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from app import files

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


#: The largest value of an Integer column (PostgreSQL's integer; SQLite's would be 2^63 - 1):
#: an id or a count beyond it cannot exist, and binding it would overflow the driver.
INT_MAX = 2**31 - 1


def add_days(day: date, days: int) -> date:
    """`day` plus `days`, kept within the calendar Python knows (a stored 9999-12-31 plus a
    validity stays 9999-12-31 instead of overflowing the page that shows it)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def new_uuid() -> str:
    """A random UUID as text (the idempotency key of objects a phone creates)."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store instants as aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    #: When the row was created (UTC).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SECURITY.md 9: WAL, full sync, a busy timeout and foreign keys on every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    # The database file is its owner's only (SECURITY.md 9), before WAL mode makes its -wal
    # and -shm files: SQLite gives them the database file's mode.
    database = _sqlite_file(cursor)
    if database is not None:
        files.make_private(database)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    if database is not None:
        for companion in ("-wal", "-shm", "-journal"):
            files.make_private(database.with_name(database.name + companion))


def _sqlite_file(cursor) -> Path | None:
    """The main database's file, or None for an in-memory database."""
    for _seq, name, file in cursor.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def create_sqlite_file(url: str) -> None:
    """Create a file database's empty file 0600 before SQLite creates it with the umask's mode
    (an empty file is a new database to SQLite). Nothing for other databases or in memory."""
    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:":
        return
    if path.startswith("file:") or not Path(path).parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.FILE_MODE))
    except FileExistsError:
        files.make_private(Path(path))
