"""core.clock: the one local zone comes from DISPLAY_TIMEZONE; nothing else names or builds a zone."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import clock
from webapp import configure_local_time
from webapp.config import from_environment

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = (
    "core",
    "billing",
    "archive",
    "audit",
    "mapping",
    "notifications",
    "servicedesk",
    "connections",
    "webapp",
    "bench",
    "migrations",
)
CLOCK = Path("core/clock.py")


@pytest.fixture
def restore_zone():  # type: ignore[no-untyped-def]
    before = clock.zone().key
    yield
    clock.configure(before)


def test_the_zone_and_its_companions_come_from_the_setting(restore_zone) -> None:
    config = {"DISPLAY_TIMEZONE": "Europe/Berlin", "CELERY": {}}
    configure_local_time(config)
    assert clock.zone().key == "Europe/Berlin"
    assert config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Berlin" and config["CELERY"]["timezone"] == "Europe/Berlin"
    assert clock.local(dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC)) == dt.datetime(2026, 1, 2, 0, tzinfo=clock.zone())


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DISPLAY_TIMEZONE", "Europe/Berlin")
    assert from_environment(str(tmp_path))["DISPLAY_TIMEZONE"] == "Europe/Berlin"
    monkeypatch.delenv("DISPLAY_TIMEZONE")
    assert from_environment(str(tmp_path))["DISPLAY_TIMEZONE"] == clock.DEFAULT_ZONE


def test_the_app_uses_one_zone_for_pages_babel_and_celery(app) -> None:
    name = app.config["DISPLAY_TIMEZONE"]
    assert clock.zone().key == name == app.config["BABEL_DEFAULT_TIMEZONE"]
    assert app.extensions["celery"].conf.timezone == name


def test_an_empty_setting_means_the_default(restore_zone) -> None:
    assert clock.configure("").key == clock.DEFAULT_ZONE


def test_today_is_the_local_zones_day(restore_zone) -> None:
    clock.configure("Pacific/Kiritimati")  # UTC+14
    ahead = clock.today_local()
    clock.configure("Pacific/Pago_Pago")  # UTC-11: 25 hours behind, always an earlier date
    assert clock.today_local() < ahead
    assert clock.now_local().utcoffset() == dt.timedelta(hours=-11)


def test_local_times_are_placed_in_the_zone(restore_zone) -> None:
    clock.configure("Asia/Shanghai")
    assert clock.local(dt.datetime(2026, 1, 1, 16, tzinfo=dt.UTC)).date() == dt.date(2026, 1, 2)
    assert clock.local(None) is None
    moment = clock.at_local(dt.date(2026, 1, 2), dt.time(8, 30))
    assert moment.astimezone(dt.UTC) == dt.datetime(2026, 1, 2, 0, 30, tzinfo=dt.UTC)


def test_the_clock_works_without_an_app() -> None:
    code = "from core import clock; print(clock.zone().key, clock.today_local().isoformat())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    name, day = result.stdout.split()
    assert name == clock.DEFAULT_ZONE and dt.date.fromisoformat(day)


def _files() -> list[Path]:
    found = [ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in SOURCE_DIRS:
        found += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    return found


def test_nothing_outside_the_clock_names_the_zone() -> None:
    named = [str(p.relative_to(ROOT)) for p in _files() if b"Asia/Shanghai" in p.read_bytes()]
    assert named == [str(CLOCK)]


def test_nothing_outside_the_clock_builds_a_zone_or_imports_from_it() -> None:
    """Callers write ``clock.today_local()``, so replacing ``core.clock.today_local`` reaches every one of them."""
    pattern = re.compile(r"ZoneInfo\(|from core\.clock import|dt\.timezone\(|pytz")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in _files()
        if p.suffix == ".py" and p.relative_to(ROOT) != CLOCK
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
