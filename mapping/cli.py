"""``flask --app webapp griddesk service-points ...`` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core.db import db
from core.errors import DomainError
from core.identity import unit_by_code

from .exchange import import_points, parse, to_csv, to_geojson
from .models import ServicePoint

points_cli = click.Group("service-points", help="Service points: import, export, geocode.")


def register(app: Flask) -> None:
    group = app.cli.commands.get("griddesk")
    if isinstance(group, click.Group) and "service-points" not in group.commands:
        group.add_command(points_cli)


@points_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", default=None, help="Unit that runs the new points.")
@with_appcontext
def import_command(path: Path, unit_code: str | None) -> None:
    """Create or update service points from a .csv or .geojson file (all rows or none)."""
    session: Any = db.session
    unit = unit_by_code(session, unit_code) if unit_code else None
    if unit_code and unit is None:
        raise click.ClickException(f"no unit with code {unit_code}")
    try:
        rows = parse(path.name, path.read_bytes())
        with click.progressbar(length=1, label=f"importing {len(rows)} rows") as bar:
            report = import_points(
                session, rows, actor=None, unit=unit, geocoding=current_app.extensions["griddesk_geocoding"]
            )
            bar.update(1)
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {len(report.created)}, updated {len(report.updated)}")
    for code, fallback in report.approximate.items():
        click.echo(f"  approximate location for {code}: {fallback.reason}, {fallback.source} {fallback.district}")


@points_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv")
@with_appcontext
def export_command(fmt: str) -> None:
    """Write every service point to standard output."""
    points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.code)).all()
    if fmt == "csv":
        sys.stdout.write(to_csv(points))
    else:
        sys.stdout.write(json.dumps(to_geojson(points), ensure_ascii=False, indent=1) + "\n")


@points_cli.command("geocode")
@click.argument("address")
@with_appcontext
def geocode_command(address: str) -> None:
    """Look an address up (cache, then the geocoder, then the district centre) and say where it came from."""
    located = current_app.extensions["griddesk_geocoding"].locate(db.session, address)
    db.session.commit()
    if located is None:
        raise click.ClickException("no location known for that address")
    click.echo(f"{located.lat:.6f},{located.lon:.6f} ({located.source}) {located.reason} {located.district}".rstrip())


@points_cli.command("basemap-tiles")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--zoom", default="10-15", show_default=True, help="Zoom levels, FIRST-LAST.")
def basemap_tiles_command(folder: Path, zoom: str) -> None:
    """Write the demo city's basemap as FOLDER/z/x/y.svg (for MAP_TILES=folder with MAP_TILE_EXT=svg)."""
    from .basemap import write_tiles

    first, _, last = zoom.partition("-")
    count = write_tiles(folder, range(int(first), int(last or first) + 1))
    click.echo(f"{count} tiles written to {folder}")
