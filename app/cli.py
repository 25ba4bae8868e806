"""`flask demo`, `flask create-user` and `flask jobs …` (app/jobs/cli.py)."""

from __future__ import annotations

import click
from flask import Flask

from app.auth.roles import ROLE_ORDER


def register_cli(app: Flask) -> None:
    from app.jobs.cli import jobs_cli

    app.cli.add_command(jobs_cli)

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    @click.option(
        "--scale",
        type=click.Choice(["small", "large"]),
        default="small",
        show_default=True,
        help="large: also a year of work for 500 sites (a few minutes; for measuring).",
    )
    @click.option(
        "--factor",
        type=click.FloatRange(min=0, min_open=True, max=1),
        default=1.0,
        help="Shrink the large data set by this factor (tests).",
    )
    def demo_command(if_empty: bool, scale: str, factor: float) -> None:
        """Load the demo data (idempotent) and print the demo logins."""
        from sqlalchemy import func, select

        from app.auth.models import User
        from app.demo import (
            DEMO_PASSWORD,
            DEMO_USERS,
            load_demo,
            load_demo_alarms,
            load_demo_portal,
            load_demo_sheets,
            load_demo_vault,
        )
        from app.extensions import db

        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("Database has users already: demo data not loaded.")
        else:
            created = load_demo()
            created = load_demo_vault(pledge=scale != "large") | created
            if scale != "large":  # the large data set has a year of alarms of its own
                created = load_demo_alarms() | created
                created = load_demo_portal() | created
            created = load_demo_sheets() | created
            db.session.commit()
            click.echo("Demo data " + ("loaded." if created else "already present."))
            if scale == "large":
                _load_large(factor)
        names = [username for username, *_rest in DEMO_USERS]
        present = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
        if present:
            click.echo(f"Demo logins (password: {DEMO_PASSWORD}) — change them before real use:")
            for username, _name, role, *_rest in DEMO_USERS:
                if username in present:
                    click.echo(f"  {role:<11} {username}")

    def _load_large(factor: float) -> None:
        import time

        from app import demo_large
        from app.extensions import db

        if demo_large.is_loaded():
            click.echo("Large demo data already present.")
            return
        started = time.perf_counter()
        with click.progressbar(
            length=demo_large.planned_rows(factor), label="A year of data", width=30
        ) as bar:
            counts = demo_large.load_large(factor=factor, progress=bar.update)
            db.session.commit()
            bar.update(bar.length)
        took = demo_large.elapsed(time.perf_counter() - started)
        click.echo(f"Large demo data loaded in {took}: {sum(counts.values()):,} rows")
        for line in demo_large.describe(counts):
            click.echo(line)

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", type=click.Choice([r.value for r in ROLE_ORDER]), required=True)
    @click.option("--name", "display_name", required=True, help="Name shown in the app.")
    @click.password_option(help="Prompted for when not given.")
    def create_user_command(username: str, role: str, display_name: str, password: str) -> None:
        """Create a user (e.g. the first admin)."""
        from app.auth import services
        from app.auth.forms import PROBLEM_MESSAGES
        from app.extensions import db

        try:
            user = services.create_user(
                actor=None,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                must_change_password=False,
            )
        except services.AuthError as exc:
            raise click.ClickException(str(PROBLEM_MESSAGES[exc.key])) from exc
        db.session.commit()
        click.echo(f"created {user.username} ({user.role})")
