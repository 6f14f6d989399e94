"""``flask --app webapp griddesk audit ...``: list the rules, run an audit, verify the trail."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from tqdm import tqdm

from core import trail
from core.db import db

from .docs import rules_markdown, rules_table
from .rules import all_rules

audit_cli = click.Group("audit", help="Audit: rules, runs, the trail.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "audit" not in group.commands:
        group.add_command(audit_cli)


@audit_cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
def rules_command(fmt: str) -> None:
    """List every rule: code, severity, title, what it checks and the evidence it keeps."""
    if fmt == "markdown":
        click.echo(rules_markdown())
    elif fmt == "json":
        click.echo(json.dumps(rules_table(), ensure_ascii=False, indent=2))
    else:
        for rule in all_rules():
            click.echo(f"{rule.code}  [{rule.severity}]  {rule.title}")
            click.echo(f"    checks:   {rule.checks}")
            click.echo(f"    evidence: {', '.join(rule.evidence)}")


@audit_cli.command("run")
@click.option("--unit", "unit_code", default=None, help="only this unit's subtree")
@click.option("--account", "account_no", default=None, help="only this account")
@click.option("--changed", is_flag=True, help="only accounts whose records changed since the last run")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="audit as of this date")
@with_appcontext
def run_command(unit_code: str | None, account_no: str | None, changed: bool, today: dt.datetime | None) -> None:
    """Run the rules now, in this process, with a progress bar."""
    from .execution import audit_changed, execute_run
    from .runs import request_run, run_summary

    session = db.new_session()
    try:
        as_of = today.date() if today else None
        if changed:
            done = audit_changed(session, today=as_of)
            click.echo("nothing changed" if done is None else json.dumps(run_summary(done), default=str))
            return
        run = request_run(session, None, unit_code=unit_code, account_no=account_no, queue=False)
        session.commit()
        with tqdm(total=run.rules_total, unit="rule", file=sys.stderr) as bar:

            def progress(r: object) -> None:
                bar.update(1)

            done = execute_run(session, run.id, today=as_of, progress=progress)
        click.echo(json.dumps(run_summary(done), default=str, ensure_ascii=False))
    finally:
        session.close()


@audit_cli.command("verify")
@with_appcontext
def verify_command() -> None:
    """Walk the hash chain of the trail; exit 1 at the first edited, removed or reordered event."""
    session = db.new_session()
    try:
        with tqdm(unit="event", file=sys.stderr) as bar:

            def progress(checked: int) -> None:
                bar.update(checked - bar.n)

            result = trail.verify(session, progress=progress)
    finally:
        session.close()
    if result.ok:
        click.echo(f"ok: {result.events_checked} events checked")
        return
    click.echo(
        f"TAMPERED at event {result.first_bad_id}: {result.problem} ({result.events_checked} events ok before it)"
    )
    sys.exit(1)


@audit_cli.command("report")
@click.option("--unit", "unit_code", default=None, help="this unit's subtree (default: the whole tree)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@with_appcontext
def report_command(unit_code: str | None, fmt: str) -> None:
    """Open findings by rule, and the filing rate and completeness of the tree and of each unit against the
    target (AUDIT_TARGET_RATE), as the dashboard shows them; exit 1 for an unknown unit."""
    from sqlalchemy import select

    from core.identity import Unit

    from . import dashboard, settings

    session = db.new_session()
    try:
        unit = session.scalar(
            select(Unit).where(Unit.code == unit_code) if unit_code else select(Unit).order_by(Unit.path).limit(1)
        )
        if unit is None:
            click.echo(f"no unit {unit_code}", err=True)
            sys.exit(1)
        report = dashboard.summary(session, unit, settings.context(), settings.target())
    finally:
        session.close()
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    totals = report["totals"]
    click.echo(f"unit {report['unit']}: " + ", ".join(f"{status} {n}" for status, n in totals.items()))
    for row in report["open_by_rule"]:
        click.echo(f"  {row['rule']:<22} {row['open']:>5} open  {row['title']}")
    click.echo(f"target {report['target']:.0%} (AUDIT_TARGET_RATE)")
    if report["units"] is None:
        click.echo("no filing rates: the archive is not installed")
        return

    def rate(r: dict[str, object]) -> str:
        return f"{float(r['value']):7.1%} {'met' if r['met'] else 'BELOW TARGET'}"  # type: ignore[arg-type]

    click.echo(f"{'unit':<14} {'accounts':>8}  {'filing rate':<21} {'completeness':<21}")
    for row in [{"unit": "(all)", **report["overall"]}, *report["units"]]:
        line = f"{row['unit']:<14} {row['accounts']:>8}  {rate(row['filing_rate']):<21} {rate(row['completeness']):<21}"
        click.echo(line)
