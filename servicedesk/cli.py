"""``flask --app webapp griddesk servicedesk ...`` commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from core.db import db

from .services import escalate_overdue

servicedesk_cli = click.Group("servicedesk", help="Service desk (95598): escalation of overdue tickets.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "servicedesk" not in group.commands:
        group.add_command(servicedesk_cli)


@servicedesk_cli.command("escalate")
@with_appcontext
def escalate_command() -> None:
    """Escalate the tickets past their due time now (beat does this every SERVICEDESK_ESCALATE_SECONDS)."""
    count = escalate_overdue(db.session)
    db.session.commit()
    click.echo(f"{count} tickets escalated")
