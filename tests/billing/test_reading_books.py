"""Reader files imported in the background: chunks commit their rows and the progress together, so a task that
dies goes on where it stopped and enters no row twice; the import over the API."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from billing import reading_books
from billing.models import MeterReading, ReadingImport
from billing.reading_books import create_reading_import, run_reading_import
from core.db import db
from tests.billing.support import add_tariffs

ROWS = "account_no,period,reading\n" + "".join(f"1000000001,2026-{m:02d},{m * 300}\n" for m in range(1, 8))


def test_a_redelivered_import_goes_on_where_the_last_task_stopped(world, session, held_outbox, monkeypatch) -> None:
    add_tariffs(session)
    batch = create_reading_import(session, "r.csv", ROWS.encode(), actor=world.users["clerk"])
    import_id = batch.id
    session.commit()  # the outbox is held: no task yet
    monkeypatch.setattr(reading_books, "CHUNK", 3)
    original, calls = reading_books.enter_readings, []

    def dies_on_the_second_chunk(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return original(*args, **kwargs)

    monkeypatch.setattr(reading_books, "enter_readings", dies_on_the_second_chunk)
    worker = db.new_session()
    with pytest.raises(RuntimeError):
        run_reading_import(worker, import_id)
    worker.rollback()
    progress = worker.get(ReadingImport, import_id)
    assert (progress.status, progress.done, progress.total) == ("running", 3, 7)  # the first chunk stays
    monkeypatch.setattr(reading_books, "enter_readings", original)
    done = run_reading_import(worker, import_id)
    assert (done.status, done.done, done.billed, done.refused) == ("done", 7, 7, 0)
    worker.close()
    session.rollback()
    assert session.scalar(select(func.count(MeterReading.id))) == 7


def test_the_import_over_the_api_reports_progress_and_the_refused_rows(world, session, api) -> None:
    add_tariffs(session)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    body = (ROWS + "1000000001,2026-08,x\n").encode()
    reply = clerk.client.post(
        "/api/v1/billing/reading-imports",
        data={"file": (io.BytesIO(body), "r.csv")},
        headers={"Authorization": f"Bearer {world.token('clerk')}"},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 202, reply.get_json()
    import_id = reply.get_json()["id"]
    state = api.as_token(world.token("supervisor")).get(f"/api/v1/billing/reading-imports/{import_id}").get_json()
    assert (state["status"], state["done"], state["total"], state["progress"]) == ("done", 8, 8, 1.0)
    assert (state["billed"], state["held"], state["refused"]) == (7, 0, 1)
    assert [(r["line"], r["outcome"], r["fields"]["reading"][0]) for r in state["report"]] == [
        (9, "refused", "not_a_reading")
    ]
    bad = clerk.client.post(
        "/api/v1/billing/reading-imports",
        data={"file": (io.BytesIO(b"x,y\n"), "r.csv")},
        headers={"Authorization": f"Bearer {world.token('clerk')}"},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "reading_file_invalid"
