"""`flask audit verify` and `flask audit anchor`."""

import click
from flask.cli import AppGroup

from app.audit.services import AnchorFileError, anchor_path, last_anchor, verify_chain, write_anchor

audit_cli = AppGroup("audit", help="Audit log commands.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the audit chain against itself and the last anchor; exit 1 naming what broke."""
    try:
        anchor = last_anchor()
    except AnchorFileError as exc:
        click.echo(f"audit anchor file unreadable: {exc}", err=True)
        raise SystemExit(1) from exc
    result = verify_chain(anchor=anchor)
    if result.is_intact:
        against = (
            f"; reaches the anchor of {anchor.when} (seq {anchor.seq})"
            if anchor
            else f"; no anchor yet in {anchor_path()} (run `flask audit anchor`)"
        )
        click.echo(f"audit chain intact: {result.count} events{against}")
        return
    click.echo(f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}", err=True)
    raise SystemExit(1)


@audit_cli.command("anchor")
def anchor_command() -> None:
    """Write the chain head (sequence, hash, time) to the anchor file outside the database."""
    anchor = write_anchor()
    click.echo(f"audit chain head seq {anchor.seq} anchored in {anchor_path()}")
