"""`flask push keys`: a VAPID key pair for Web Push, for the secret store."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.notifications import push

push_cli = AppGroup("push", help="Web Push (VAPID keys).")


@push_cli.command("keys")
def keys_command() -> None:
    """Print a new VAPID key pair as environment settings (nothing is stored).

    Keep the pair: browsers subscribed with one public key receive nothing signed by another,
    so a new pair means every user turns push on again on his phones.
    """
    private, public = push.new_key_pair()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo(f"VAPID_PUBLIC_KEY={public}")
