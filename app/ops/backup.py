"""`flask backup PATH` and `flask restore PATH`: the database and the uploaded files, checked.

A backup is a folder (0700, its files 0600)::

    PATH/manifest.json        what is in it: row counts per table, the audit chain's head,
                              each file's size and SHA-256, the schema revision
    PATH/database.sqlite3     SQLite: a page-by-page copy made with the online backup API
    PATH/database.pgdump      PostgreSQL: `pg_dump --format=custom` (restore with pg_restore)
    PATH/files/…              UPLOAD_DIR: photos, thumbnails, briefing attachments

It is consistent under concurrent writes: SQLite's backup API copies one snapshot (never `cp`
of a live file, SECURITY.md 9); on PostgreSQL one REPEATABLE READ transaction exports its
snapshot to pg_dump and counts the rows and checks the audit chain in that same snapshot, so
the manifest describes exactly what the dump holds. Files are copied after the database
snapshot: a photo is written to disk before its row commits, so every file the snapshot names
is already there (later files come along too, harmlessly).

The copy is checked before it counts as written: integrity and foreign keys (SQLite's
integrity_check and foreign_key_check; on PostgreSQL the server enforced them, pg_restore
re-checks each constraint and the archive's table of contents must list every table), the
audit chain link by link, and every file the database names present with its SHA-256.
`flask restore` checks the folder against its manifest before touching anything, restores into
an empty database only, and runs the same checks on the result.

Never in a backup: the instance secrets (SECRET_KEY, AUDIT_KEY, DATA_KEYS, VAPID_PRIVATE_KEY,
instance/secrets.json). They are not in the database, and the file copy skips the instance's
secrets and database files should UPLOAD_DIR be set to a folder holding them. Confidential
values are in the database only as ciphertext: a backup without DATA_KEYS cannot reveal them,
and one restored without the same AUDIT_KEY cannot verify its audit chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import column, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from app import audit, files
from app.audit import services as audit_services
from app.db import utcnow
from app.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES = "files"
#: Names of the folders the backup job writes (and prunes) in BACKUP_DIR.
JOB_NAME = re.compile(r"guardpost-\d{8}T\d{6}Z")
#: Never copied from UPLOAD_DIR, whatever it is set to: the instance's secrets and database.
NEVER_COPIED = ("secrets.json", "secrets.lock")
CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or restore cannot be made or does not check out; the message says why."""


# ---------------------------------------------------------------- checks


@dataclass
class Checked:
    """What a database (a copy, a snapshot or a restored one) was found to hold."""

    tables: dict[str, int]
    audit_events: int
    audit_head: tuple[int, str]
    #: Files the database names, each with the SHA-256 it records ("" where it has none).
    named_files: dict[str, str] = field(default_factory=dict)


def _sqlite_checks(session: Session) -> None:
    result = session.execute(text("PRAGMA integrity_check")).scalars().all()
    if result != ["ok"]:
        raise BackupError(f"integrity check failed: {'; '.join(map(str, result[:5]))}")
    broken = session.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        first = ", ".join(f"{row[0]} row {row[1]} -> {row[2]}" for row in broken[:5])
        raise BackupError(f"foreign key check failed: {len(broken)} rows, e.g. {first}")


def _postgres_checks(session: Session) -> None:
    not_valid = session.scalar(
        text(
            "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = current_schema() AND NOT c.convalidated"
        )
    )
    if not_valid:
        raise BackupError(f"{not_valid} constraints are not validated")


def _named_files(session: Session, tables: dict[str, int]) -> dict[str, str]:
    named: dict[str, str] = {}
    if "photo" in tables:
        rows = session.execute(
            select(column("path"), column("thumb_path"), column("sha256")).select_from(
                table("photo")
            )
        )
        for path, thumb, digest in rows:
            named[path] = digest or ""
            named[thumb] = ""
    if "briefing_attachment" in tables:
        rows = session.execute(
            select(column("path"), column("sha256"))
            .select_from(table("briefing_attachment"))
            .where(column("path").is_not(None))
        )
        named.update({path: digest or "" for path, digest in rows})
    return named


def check_database(session: Session) -> Checked:
    """Integrity, foreign keys, row counts per table and the audit chain, in `session`."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_checks(session)
    else:
        _postgres_checks(session)
    names = sorted(inspect(session.connection()).get_table_names())
    counts = {
        name: session.scalar(select(func.count()).select_from(table(name))) or 0 for name in names
    }
    if "audit_event" not in counts:
        raise BackupError("no audit_event table: not a Guardpost database")
    chain = audit_services.verify_chain(session=session)
    if not chain.is_intact:
        raise BackupError(f"audit chain broken at seq {chain.first_bad_seq}: {chain.reason}")
    head = session.execute(
        text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    ).first()
    return Checked(
        tables=counts,
        audit_events=chain.count,
        audit_head=(head[0], head[1]) if head else (0, audit_services.GENESIS),
        named_files=_named_files(session, counts),
    )


def _alembic_revision(session: Session, tables: dict[str, int]) -> str:
    if "alembic_version" not in tables:
        return ""
    return session.scalar(text("SELECT version_num FROM alembic_version")) or ""


# ---------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _excluded_paths() -> set[Path]:
    """The instance's secrets and database files: never copied, wherever UPLOAD_DIR points."""
    instance = Path(current_app.instance_path).resolve()
    excluded = {instance / name for name in NEVER_COPIED}
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database:
        base = Path(url.database).resolve()
        excluded |= {base.with_name(base.name + s) for s in ("", "-wal", "-shm", "-journal")}
    return excluded


def _upload_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative name, path) of every regular file below `root`, in a stable order; no
    symbolic links, no half-written `.part` files, nothing of the instance's secrets."""
    if not root.is_dir():
        return
    excluded = _excluded_paths()
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or name.endswith(".part"):
                continue
            if path.resolve() in excluded or name in NEVER_COPIED:
                continue
            yield path.relative_to(root).as_posix(), path


def _copy_private(source: Path, target: Path) -> str:
    """Copy `source` to `target` (0600 from its creation, synced); returns its SHA-256."""
    files.private_folder(target.parent)
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.FILE_MODE)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _file_problems(named: dict[str, str], present: dict[str, str]) -> list[str]:
    """Files the database names that are missing, or whose SHA-256 is not the recorded one."""
    problems = []
    for path, expected in sorted(named.items()):
        if path not in present:
            problems.append(f"missing: {path}")
        elif expected and present[path] != expected:
            problems.append(f"SHA-256 differs from the database's: {path}")
    return problems


# ---------------------------------------------------------------- backup


def _database_url() -> URL:
    return make_url(db.engine.url.render_as_string(hide_password=False))


def _pg_env_and_conninfo(url: URL) -> tuple[dict[str, str], str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where `ps` shows it
    conninfo = url.set(drivername="postgresql", password=None, query={}).render_as_string()
    return env, conninfo


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed on this machine: install the PostgreSQL client tools "
            "of the server's major version (Debian: apt-get install postgresql-client)"
        )
    return found


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 (a fixed program, arguments as a list)
        args, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        program = Path(args[0]).name
        raise BackupError(f"{program} failed: {result.stderr.strip()[:500]}")
    return result.stdout


def _backup_sqlite(folder: Path) -> tuple[Checked, str]:
    """The online backup API on a connection of the app's own pool (SQLite's per-process
    locks are then shared), in one step: one consistent snapshot. Checked on the copy."""
    target = folder / SQLITE_FILE
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.FILE_MODE)
    os.close(fd)
    destination = sqlite3.connect(target)
    try:
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.backup(destination)
        finally:
            raw.close()
        # One file on its own: no -wal beside it that a later copy of the folder could miss.
        destination.execute("PRAGMA journal_mode = DELETE")
    finally:
        destination.close()
    return _check_sqlite_file(target)


def _check_sqlite_file(path: Path) -> tuple[Checked, str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            checked = check_database(session)
            return checked, _alembic_revision(session, checked.tables)
    finally:
        engine.dispose()


def _backup_postgresql(folder: Path) -> tuple[Checked, str]:
    """pg_dump of a snapshot exported by a REPEATABLE READ, read-only transaction, which
    then counts and checks what that snapshot holds."""
    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")
    target = folder / PG_FILE
    files.write_private(folder, PG_FILE, b"")
    env, conninfo = _pg_env_and_conninfo(_database_url())
    with db.engine.connect() as connection:
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with connection.begin():
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
            with Session(bind=connection) as session:
                checked = check_database(session)
                revision = _alembic_revision(session, checked.tables)
    # The archive reads back, and its table of contents has the data of every table counted.
    listing = _run([pg_restore, "--list", str(target)])
    dumped = set(re.findall(r"TABLE DATA \S+ (\S+) ", listing))
    missing = sorted(set(checked.tables) - dumped)
    if missing:
        raise BackupError(f"the dump lacks the data of: {', '.join(missing)}")
    return checked, revision


def write_backup(path: Path, *, actor_name: str = "cli") -> dict:
    """Write the backup folder `path` (which must not exist yet); returns its manifest.

    Audited first (committed), so the backup holds the row that says it was taken. Written
    beside its final name and renamed into place only when complete and checked.
    """
    path = path.absolute()
    if not path.parent.is_dir():
        raise BackupError(f"no such folder: {path.parent}")
    if path.exists():
        raise BackupError(f"{path} exists already: give a new name")
    backend = _database_url().get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"no backup for a {backend} database")
    audit.record("db.backup", actor_name=actor_name, detail={"file": path.name})
    db.session.commit()
    partial = path.with_name(f".{path.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    files.private_folder(partial)
    try:
        if backend == "sqlite":
            checked, revision = _backup_sqlite(partial)
            database_file = SQLITE_FILE
        else:
            checked, revision = _backup_postgresql(partial)
            database_file = PG_FILE
        copied = []
        upload_dir = Path(current_app.config["UPLOAD_DIR"])
        for relative, source in _upload_files(upload_dir):
            digest = _copy_private(source, partial / FILES / relative)
            copied.append({"path": relative, "size": source.stat().st_size, "sha256": digest})
        present = {item["path"]: item["sha256"] for item in copied}
        manifest = {
            "format": FORMAT,
            "app": "guardpost",
            "created_at": utcnow().astimezone(UTC).isoformat(timespec="seconds"),
            "database": {
                "backend": backend,
                "file": database_file,
                "size": (partial / database_file).stat().st_size,
                "sha256": _sha256(partial / database_file),
                "alembic_revision": revision,
            },
            "tables": checked.tables,
            "audit": {
                "events": checked.audit_events,
                "head_seq": checked.audit_head[0],
                "head_hash": checked.audit_head[1],
            },
            "files": copied,
            "problems": _file_problems(checked.named_files, present),
        }
        files.write_private(
            partial,
            MANIFEST,
            json.dumps(manifest, ensure_ascii=False, indent=1).encode(),
        )
        partial.replace(path)
        _sync_folder(path.parent)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- restore


def read_manifest(path: Path) -> dict:
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise BackupError(f"{path} is not a Guardpost backup: no {MANIFEST} in it")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{manifest_file} is unreadable: {exc}") from None
    if manifest.get("app") != "guardpost" or manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_file}: not a Guardpost backup of format {FORMAT}")
    return manifest


def check_folder(path: Path, manifest: dict) -> None:
    """Every file of the backup is there with the size and SHA-256 its manifest records."""
    database = manifest["database"]
    database_file = path / database["file"]
    if not database_file.is_file() or _sha256(database_file) != database["sha256"]:
        raise BackupError(f"{database_file} is missing or not the file the manifest describes")
    for item in manifest["files"]:
        copy = path / FILES / item["path"]
        if not copy.is_file() or _sha256(copy) != item["sha256"]:
            raise BackupError(f"{copy} is missing or not the file the manifest describes")


def _restore_target_is_empty(backend: str) -> None:
    names = inspect(db.engine).get_table_names()
    if names:
        shown = ", ".join(sorted(names)[:3])
        raise BackupError(
            f"the database is not empty ({len(names)} tables: {shown}, …): restore only "
            "into an empty one. Create a new database, point DATABASE_URL at it and run "
            "`flask restore` again (do not run `flask db upgrade` before)."
        )
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    if next(_upload_files(upload_dir), None) is not None:
        raise BackupError(
            f"UPLOAD_DIR ({upload_dir}) holds files already: restore only into an empty one"
        )


def _restore_sqlite(source: Path) -> None:
    db.session.remove()
    copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        raw = db.engine.raw_connection()
        try:
            copy.backup(raw.driver_connection)
        finally:
            raw.close()
    finally:
        copy.close()
    db.engine.dispose()  # no pooled connection keeps the empty database's schema


def _restore_postgresql(source: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    env, conninfo = _pg_env_and_conninfo(_database_url())
    db.session.remove()
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(source),
        ],
        env,
    )
    db.engine.dispose()


@dataclass
class Restored:
    manifest: dict
    checked: Checked
    problems: list[str]
    #: Set when the anchor file records a longer chain than the restored one (events lost
    #: since the backup was taken: expected after a restore).
    anchor_note: str = ""


def restore(path: Path) -> Restored:
    """Restore the backup folder `path` into the configured, empty database and UPLOAD_DIR,
    then check the result against the manifest. Audited in the restored chain."""
    path = path.absolute()
    manifest = read_manifest(path)
    backend = _database_url().get_backend_name()
    if manifest["database"]["backend"] != backend:
        raise BackupError(
            f"this is a backup of a {manifest['database']['backend']} database; "
            f"DATABASE_URL names a {backend} one"
        )
    check_folder(path, manifest)
    _restore_target_is_empty(backend)
    source = path / manifest["database"]["file"]
    if backend == "sqlite":
        _restore_sqlite(source)
    else:
        _restore_postgresql(source)
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    present = {}
    for item in manifest["files"]:
        source, target = path / FILES / item["path"], upload_dir / item["path"]
        present[item["path"]] = _copy_private(source, target)
    with Session(db.engine) as session:
        checked = check_database(session)
    if checked.tables != manifest["tables"]:
        differ = sorted(
            name
            for name in set(checked.tables) | set(manifest["tables"])
            if checked.tables.get(name) != manifest["tables"].get(name)
        )
        raise BackupError(f"restored row counts differ from the manifest's: {', '.join(differ)}")
    audit_head = [manifest["audit"]["head_seq"], manifest["audit"]["head_hash"]]
    if list(checked.audit_head) != audit_head:
        raise BackupError("the restored audit chain does not end where the manifest says")
    restored = Restored(manifest, checked, _file_problems(checked.named_files, present))
    restored.anchor_note = _compare_with_anchor(checked.audit_head[0])
    audit.record(
        "db.restore",
        actor_name="cli",
        detail={"backup": path.name, "taken": manifest["created_at"]},
    )
    db.session.commit()
    return restored


def _compare_with_anchor(head_seq: int) -> str:
    """The anchor file outside the database may know a longer chain (written after the backup)."""
    try:
        anchor = audit_services.last_anchor()
    except audit_services.AnchorFileError as exc:
        return f"anchor file unreadable: {exc}"
    if anchor is None:
        return ""
    if anchor.seq > head_seq:
        return (
            f"the audit anchor of {anchor.when} records seq {anchor.seq}; the restored chain "
            f"ends at {head_seq}: the {anchor.seq - head_seq} events after the backup are lost"
        )
    result = audit_services.verify_chain(anchor=anchor)
    if not result.is_intact:
        raise BackupError(f"the restored audit chain disagrees with the anchor: {result.reason}")
    return ""


# ---------------------------------------------------------------- the daily job


def scheduled_backup(now: datetime) -> int:
    """A backup into BACKUP_DIR, then only the newest BACKUP_KEEP of them are kept; returns
    the number kept (0 when BACKUP_DIR is not set)."""
    folder = current_app.config.get("BACKUP_DIR")
    if not folder:
        return 0
    root = Path(folder)
    files.private_folder(root)
    name = f"guardpost-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    manifest = write_backup(root / name, actor_name="jobs")
    kept = prune(root, keep=max(1, int(current_app.config.get("BACKUP_KEEP") or 7)))
    if manifest["problems"]:
        raise BackupError(f"backup {name} written, but: {'; '.join(manifest['problems'][:3])}")
    return len(kept)


def prune(root: Path, *, keep: int) -> list[str]:
    """Remove the oldest of the job's backup folders (by name: they sort by time) beyond
    `keep`, and half-written ones left by a crash; returns the names kept."""
    ours = sorted(p.name for p in root.iterdir() if p.is_dir() and JOB_NAME.fullmatch(p.name))
    for name in ours[:-keep]:
        shutil.rmtree(root / name)
    for stale in root.glob(".guardpost-*.partial"):
        with contextlib.suppress(OSError):
            shutil.rmtree(stale)
    return ours[-keep:]
