"""One celery beat per instance folder: a second one stops at start instead of queueing every task again."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.beat import SingleBeatScheduler


def _scheduler(app, schedule: Path) -> SingleBeatScheduler:  # type: ignore[no-untyped-def]
    return SingleBeatScheduler(app=app.extensions["celery"], schedule_filename=str(schedule))


def test_every_beat_uses_the_single_beat_scheduler_under_the_instance_folder(app) -> None:
    conf = app.extensions["celery"].conf
    assert conf.beat_scheduler == "webapp.beat:SingleBeatScheduler"
    assert Path(conf.beat_schedule_filename).is_relative_to(app.config["INSTANCE_DIR"])


def test_a_second_beat_cannot_start_while_one_holds_the_lock(app, tmp_path) -> None:
    schedule = tmp_path / "beat-schedule"
    first = _scheduler(app, schedule)
    try:
        with pytest.raises(SystemExit, match="another beat"):
            _scheduler(app, schedule)
    finally:
        first.close()
    _scheduler(app, schedule).close()  # the lock goes with the first beat
