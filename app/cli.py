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
    def demo_command(if_empty: bool) -> None:
        """Load the demo data (idempotent) and print the demo logins."""
        from sqlalchemy import func, select

        from app.auth.models import User
        from app.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
        from app.extensions import db

        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("Database has users already: demo data not loaded.")
        else:
            created = load_demo()
            db.session.commit()
            click.echo("Demo data " + ("loaded." if created else "already present."))
        names = [username for username, *_rest in DEMO_USERS]
        present = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
        if present:
            click.echo(f"Demo logins (password: {DEMO_PASSWORD}) — change them before real use:")
            for username, _name, role, *_rest in DEMO_USERS:
                if username in present:
                    click.echo(f"  {role:<11} {username}")

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
