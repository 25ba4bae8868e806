"""`flask backup PATH` (also `flask db-backup PATH`) and `flask restore PATH`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.ops import backup


def _summary(tables: dict[str, int], audit_events: int, files: int) -> str:
    rows = sum(tables.values())
    return f"{rows} rows in {len(tables)} tables, {audit_events} audit events, {files} files"


@click.command("backup")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a checked backup of the database and the uploaded files to the new folder PATH.

    The instance secrets (SECRET_KEY, AUDIT_KEY, DATA_KEYS, VAPID_PRIVATE_KEY) are never in
    it: keep them separately. Exit 1 when it cannot be written or does not check out."""
    try:
        manifest = backup.write_backup(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backup written to {path.absolute()}: "
        + _summary(manifest["tables"], manifest["audit"]["events"], len(manifest["files"]))
        + "; integrity, foreign keys and audit chain checked"
    )
    if manifest["problems"]:
        for problem in manifest["problems"]:
            click.echo(f"  file problem: {problem}", err=True)
        raise SystemExit(1)


@click.command("restore")
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore the backup folder PATH into the (empty) database of DATABASE_URL and into
    UPLOAD_DIR, then check it again. Needs the AUDIT_KEY and DATA_KEYS of the backed-up
    installation (they are not in the backup)."""
    try:
        restored = backup.restore(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    checked = restored.checked
    click.echo(
        f"restored {path.absolute()} (taken {restored.manifest['created_at']}): "
        + _summary(checked.tables, checked.audit_events, len(restored.manifest["files"]))
        + "; integrity, foreign keys, row counts and audit chain checked"
    )
    if restored.manifest["database"]["alembic_revision"]:
        click.echo("run `flask db upgrade` if this code is newer than the backup")
    if restored.anchor_note:
        click.echo(f"note: {restored.anchor_note}", err=True)
    if restored.problems:
        for problem in restored.problems:
            click.echo(f"  file problem: {problem}", err=True)
        raise SystemExit(1)
