"""Operator commands: `flask --app wsgi create-user`, `flask --app wsgi seed-demo`."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.models import Role, User


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""

    @app.cli.command("create-user")
    @click.option("--username", prompt=True)
    @click.option("--display-name", prompt=True)
    @click.option("--email", default="", prompt="Email (optional)", show_default=False)
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value,
                  show_default=True)
    @click.password_option()
    def create_user(username: str, display_name: str, email: str, role: str, password: str) -> None:
        """Create a user; use it for the first admin of a real deployment."""
        from crm.services.users import create_user as make_user
        from crm.services.users import username_taken

        if len(password) < 10:
            raise click.BadParameter("use at least 10 characters", param_hint="password")
        if username_taken(username):
            raise click.ClickException(f"user {username!r} exists already")
        make_user(username, display_name, password, role, email=email)
        db.session.commit()
        click.echo(f"Created {role} {username!r}.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
    @click.option("--clients", "n_clients", default=200, show_default=True)
    def seed_demo(if_empty: bool, n_clients: int) -> None:
        """Load demo users, outlets, about 200 clients and 18 months of visits (demo only)."""
        from crm.seed import DEMO_PASSWORD, seed

        if db.session.execute(sa.select(User.id).limit(1)).first() is not None:
            if if_empty:
                click.echo("Database already has users: demo data not loaded.")
                return
            raise click.ClickException("the database is not empty; demo data goes into an empty one")
        summary = seed(n_clients=n_clients)
        db.session.commit()
        click.echo(f"Demo data loaded: {summary}.")
        click.echo(f"DEMO ONLY sign-ins (password {DEMO_PASSWORD}): admin, lead, manager1, manager2")
