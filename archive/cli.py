"""``flask --app webapp griddesk archive ...``: reindex, verify, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

archive_cli = click.Group("archive", help="Archive: rebuild and check the search index, bulk import.")


def register(app: Any) -> None:
    griddesk = app.cli.commands.get("griddesk")
    if griddesk is not None and "archive" not in griddesk.commands:
        griddesk.add_command(archive_cli)


@archive_cli.command("reindex")
@click.option("--batch", default=200, show_default=True, help="documents per index commit (bounds memory)")
@with_appcontext
def reindex_command(batch: int) -> None:
    """Rebuild the search index from the database (extracting text where none is stored)."""
    from .maintenance import reindex

    count = reindex(batch=batch, progress=sys.stderr.isatty() or True)
    click.echo(f"indexed {count} documents")


@archive_cli.command("verify")
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
@with_appcontext
def verify_command(as_json: bool) -> None:
    """Report documents missing from or stale in the index, and blobs missing or corrupt on disk."""
    import json

    from .maintenance import verify

    report = verify()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@archive_cli.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, path_type=Path), help="CSV (default: manifest.csv inside)")
@click.option("--report", "report_path", type=click.Path(path_type=Path), help="write the per-row report (CSV)")
@click.option("--user", "username", default=None, help="file as this staff user (default: none recorded)")
@with_appcontext
def import_command(source: Path, manifest: Path | None, report_path: Path | None, username: str | None) -> None:
    """File a batch from a folder or zip plus a manifest CSV; bad rows are reported and skipped."""
    from .importer import run_import

    result = run_import(source, manifest=manifest, username=username, progress=True)
    click.echo(result.summary())
    if report_path:
        result.write_csv(report_path)
        click.echo(f"report written to {report_path}")
