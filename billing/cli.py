"""``flask --app webapp griddesk billing ...`` commands."""

from __future__ import annotations

import click
from flask import Flask

billing_cli = click.Group("billing", help="Billing: tariffs, bill runs, payment files.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "billing" not in group.commands:
        group.add_command(billing_cli)
