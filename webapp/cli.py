"""``flask --app webapp griddesk ...``: the root command group and the foundation's commands."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from core.db import db
from core.errors import DomainError
from core.identity import ALL_ROLES, create_user, ensure_root_unit, unit_by_code

griddesk = click.Group("griddesk", help="GridDesk administration.")


def register(app: Flask) -> None:
    if "griddesk" not in app.cli.commands:
        app.cli.add_command(griddesk)


@griddesk.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(str(r.value) for r in ALL_ROLES)), required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code; default the root unit (created if missing).")
@click.option("--name", default="", help="Display name.")
@with_appcontext
def create_user_command(username: str, role: str, unit_code: str | None, name: str) -> None:
    """Create a user; the password is read from standard input (first line)."""
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if not sys.stdin.isatty()
        else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    session = db.session
    try:
        if unit_code is None:
            unit = ensure_root_unit(session)
        else:
            found = unit_by_code(session, unit_code)
            if found is None:
                raise click.ClickException(f"no unit with code {unit_code}")
            unit = found
        user = create_user(
            session, username, password, role, unit if role != "customer" or unit_code else None, name=name
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {role} {user.username} in unit {unit.code}")


@griddesk.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo data (idempotent): units, one user per role, accounts, and each domain's demo records."""
    seeders = sorted(current_app.extensions["griddesk_demo_seeders"], key=lambda s: s[0])
    for _order, name, seeder in seeders:
        with db.transaction() as session:
            message = seeder(session)
        click.echo(f"[{name}] {message}")
