"""`flask db-backup PATH` (also `flask backup PATH`): a consistent copy of the live database.

SQLite: the online backup API (SECURITY.md decision 9: never `cp` of a live file, whose WAL
may hold committed pages the main file lacks), on a connection of the app's own pool so
SQLite's per-process locks are shared; the copy is then checked with PRAGMA integrity_check.
PostgreSQL: `pg_dump --format=custom` when it is installed. The file is written beside its
final name with mode 0600 and renamed into place only when complete. Confidential values stay
encrypted in it: they are stored only as ciphertext.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from app import audit
from app.extensions import db


class BackupError(click.ClickException):
    pass


def _private_file(path: Path) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


def backup_sqlite(target: Path) -> None:
    """Copy the live SQLite database into `target` page by page, then check the copy."""
    _private_file(target)
    destination = sqlite3.connect(target)
    try:
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.backup(destination)
        finally:
            raw.close()
        result = destination.execute("PRAGMA integrity_check").fetchone()
        if result is None or result[0] != "ok":
            raise BackupError(f"the copy fails its integrity check: {result}")
    finally:
        destination.close()


def backup_postgresql(target: Path, url) -> None:
    """pg_dump of the database in its custom format (restore with pg_restore)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed on this machine: install the PostgreSQL client tools "
            "(the same major version as the server), or back up with the server's own tools."
        )
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password  # not on the command line, where `ps` shows it
    conninfo = url.set(drivername="postgresql", password=None, query={}).render_as_string()
    _private_file(target)
    result = subprocess.run(  # noqa: S603 (fixed program, arguments as a list)
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={conninfo}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")


@click.command("db-backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent backup of the database to PATH (SQLite file, or pg_dump archive)."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    path = path.resolve()
    if not path.parent.is_dir():
        raise BackupError(f"no such folder: {path.parent}")
    # Audited first, so the backup itself holds the row that says it was taken.
    audit.record("db.backup", actor_name="cli", detail={"file": path.name})
    db.session.commit()
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            backup_sqlite(partial)
        elif url.get_backend_name() == "postgresql":
            backup_postgresql(partial, url)
        else:
            raise BackupError(f"no backup for a {url.get_backend_name()} database")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"backup written to {path} ({path.stat().st_size} bytes)")
