"""``flask --app webapp griddesk notifications ...`` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core.db import db

from .channels import application_server_key
from .models import DeadLetter

notifications_cli = click.Group("notifications", help="Notifications: VAPID key, deferred sends, dead letters.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "notifications" not in group.commands:
        group.add_command(notifications_cli)


@notifications_cli.command("vapid-public-key")
@with_appcontext
def vapid_public_key_command() -> None:
    """Print the VAPID public key (what browsers use as applicationServerKey)."""
    click.echo(application_server_key(current_app.extensions["griddesk_vapid"]))


@notifications_cli.command("send-deferred")
@with_appcontext
def send_deferred_command() -> None:
    """Send deliveries whose quiet hours are over now (beat does this every minute)."""
    from .tasks import send_deferred_deliveries

    click.echo(send_deferred_deliveries.run())


@notifications_cli.command("dead-letters")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def dead_letters_command(limit: int) -> None:
    """List the latest deliveries that failed for good."""
    rows = db.session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()
    for d in rows:
        click.echo(f"{d.created_at:%Y-%m-%d %H:%M} {d.channel:<5} {d.target:<40} {d.attempts} attempts  {d.error}")
    if not rows:
        click.echo("no dead letters")
