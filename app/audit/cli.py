"""`flask audit verify`."""

import click
from flask.cli import AppGroup

from app.audit.services import verify_chain

audit_cli = AppGroup("audit", help="Audit log commands.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the audit chain; exit 1 naming the first bad row."""
    result = verify_chain()
    if result.is_intact:
        click.echo(f"audit chain intact: {result.count} events")
        return
    click.echo(f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}", err=True)
    raise SystemExit(1)
