"""Held meter readings and their review by a second person (异常复核), and meter changes (换表)."""

from __future__ import annotations

from typing import Any, Literal

from flask import g, request
from sqlalchemy.orm import Session

from billing.accounts import get_visible_account
from billing.commands import RecordMeterChange, ReviewReading
from billing.imports import read_upload
from billing.models import ReadingImport
from billing.reading_books import create_reading_import, reading_import_dict, visible_reading_imports
from billing.readings import (
    get_visible_reading,
    meter_change_dict,
    reading_dict,
    record_meter_change,
    review_reading,
    visible_readings,
)
from core.commands import MAX_ID
from core.db import db
from core.errors import NotFound
from core.identity import Role, User

from . import api
from .billing import entered_reading_dict
from .framework import PageQuery, allow, caller, endpoint, paginate, register_resource

WRITERS = (Role.CLERK, Role.ADMIN)
READERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)


class ReadingQuery(PageQuery):
    status: Literal["passed", "held", "accepted", "corrected"] | None = None


@endpoint(
    api,
    "/billing/readings",
    access=allow(*READERS),
    query=ReadingQuery,
    summary="Readings of the caller's unit subtree with the checks they failed (?status=held: the review queue)",
)
def list_readings(query: ReadingQuery) -> Any:
    return paginate(db.session, visible_readings(caller(), query.status), query, reading_dict)


def _path_id(path: dict[str, Any], name: str) -> int | None:
    """A row id from the path, or None for one that is not (no row has it)."""
    text = str(path[name])
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID else None


def _resolve_reading(session: Session, user: User, path: dict[str, Any]) -> Any:
    reading_id = _path_id(path, "reading_id")
    if reading_id is None:
        raise NotFound("reading_not_found")
    return get_visible_reading(session, user, reading_id)


register_resource("reading", _resolve_reading)


@endpoint(
    api,
    "/billing/readings/<reading_id>/review",
    methods=["POST"],
    access=allow(*WRITERS, resource="reading"),
    body=ReviewReading,
    summary="Accept or correct a held reading (never the one who entered it); it then bills, once",
    extra_responses={
        403: "same_person: the caller entered the reading",
        409: "reviewed already with another decision, or still below the last reading",
    },
)
def post_review(reading_id: str, body: ReviewReading) -> Any:
    reading, bill = review_reading(db.session, g.resource, body, actor=caller(), on=None)
    return entered_reading_dict(reading.account, reading, bill)


@endpoint(
    api,
    "/billing/meter-changes",
    methods=["POST"],
    access=allow(*WRITERS),
    body=RecordMeterChange,
    status=201,
    summary="Record a meter change (换表) or rollover before the period's reading: final, start, multiplier",
    extra_responses={409: "the period has a reading that is not held, or a change already"},
)
def post_meter_change(body: RecordMeterChange) -> Any:
    user = caller()
    account = get_visible_account(db.session, user, body.account_no)
    change = record_meter_change(db.session, account, body, actor_id=user.id)
    return {"account_no": account.account_no, **meter_change_dict(change)}, 201


@endpoint(
    api,
    "/billing/reading-imports",
    methods=["POST"],
    access=allow(*WRITERS),
    status=202,
    summary="Import a handheld reader's CSV file: stored and entered in the background, row by row",
    multipart={"file": "CSV: account_no,period,reading[,peak,flat,valley] (see docs/billing.md)"},
)
def post_reading_import() -> Any:
    upload = request.files.get("file")
    content = read_upload(upload.stream if upload is not None else None)
    name = (upload.filename if upload is not None else None) or "readings.csv"
    batch = create_reading_import(db.session, name, content, actor=caller())
    return reading_import_dict(batch, with_report=False), 202


def _resolve_reading_import(session: Session, user: User, path: dict[str, Any]) -> Any:
    import_id = _path_id(path, "import_id")
    if import_id is None:
        raise NotFound("reading_import_not_found")
    batch = session.scalar(visible_reading_imports(user).where(ReadingImport.id == import_id))
    if batch is None:
        raise NotFound("reading_import_not_found")
    return batch


register_resource("reading_import", _resolve_reading_import)


@endpoint(
    api,
    "/billing/reading-imports/<import_id>",
    access=allow(*READERS, resource="reading_import"),
    summary="A reader file's import: progress (done of total), counts, and the rows held or refused",
)
def get_reading_import(import_id: str) -> Any:
    return reading_import_dict(g.resource)
