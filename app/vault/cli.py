"""`flask keys rotate` and `flask keys check`: the data key ring's upkeep (DATA_KEYS)."""

from __future__ import annotations

from collections import Counter

import click
from flask.cli import AppGroup

from app import audit
from app.extensions import db
from app.i18n import taipei_today
from app.vault import crypto, retention, services

keys_cli = AppGroup("keys", help="Field-encryption key ring (DATA_KEYS) commands.")
vault_cli = AppGroup("vault", help="Confidential vault upkeep.")


def _per_key(counts: Counter[str]) -> str:
    return ", ".join(f"{key_id} {count}" for key_id, count in sorted(counts.items()))


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1))
def rotate_command(batch_size: int) -> None:
    """Re-encrypt every value not under the current (first) key; one commit per batch, so
    an interrupted run keeps what it did and a second run finishes it."""
    current = services.key_ring().current_id
    total: Counter[str] = Counter()
    try:
        for column in services.encrypted_columns():
            after_id: int | None = 0
            while after_id is not None:
                counts, after_id = services.rotate_batch(
                    column, after_id=after_id, limit=batch_size
                )
                db.session.commit()
                total.update(counts)
    except crypto.DecryptionError as exc:
        # Altered or foreign: left as it is (never re-sealed: that would launder it).
        db.session.rollback()
        click.echo(f"stopped: {exc}; re-encrypted {sum(total.values())} before it", err=True)
        raise SystemExit(1) from None
    count = sum(total.values())
    if count:
        audit.record(
            "vault.keys_rotated",
            actor_name="cli",
            detail={"to": current, "from": dict(total), "count": count},
        )
        db.session.commit()
        click.echo(f"re-encrypted {count} values under {current}: {_per_key(total)}")
    else:
        click.echo(f"re-encrypted 0 values: all are under {current} already")


@keys_cli.command("check")
def check_command() -> None:
    """List the key ids stored values use, with their counts and whether DATA_KEYS has each;
    exit 1 when one is missing."""
    ring = services.key_ring()
    in_use = services.keys_in_use()
    click.echo(f"current key: {ring.current_id}; ring: {', '.join(ring.keys)}")
    for key_id, count in sorted(in_use.items()):
        state = "current" if key_id == ring.current_id else "in ring" if key_id in ring else ""
        click.echo(f"  {key_id}: {count} values, {state or 'MISSING from DATA_KEYS'}")
    if not in_use:
        click.echo("  no encrypted values stored yet")
    if any(key_id not in ring for key_id in in_use):
        raise SystemExit(1)


@vault_cli.command("purge-expired")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; delete nothing.")
@click.option("--batch-size", default=retention.BATCH, show_default=True, type=click.IntRange(1))
def purge_expired_command(dry_run: bool, batch_size: int) -> None:
    """Delete the records past their retention day (Taipei date), as the daily job does; one
    commit per batch, each purge audited without its value."""
    today = taipei_today()
    if dry_run:
        click.echo(f"{retention.count_expired(today)} records are past their retention day")
        return
    total = 0
    while True:
        count = retention.purge_expired_in_batches(today, batch=batch_size, max_batches=50)
        total += count
        if count < batch_size * 50:
            break
    click.echo(f"purged {total} records past their retention day (before {today.isoformat()})")
