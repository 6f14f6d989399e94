"""The archive's use-case inputs: filing a document (API upload, the archivist's form, a batch import's row),
correcting or withdrawing one, recording a hand-over. Each is checked once (``Command.parse``), so every door
refuses the same input with the same codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import IO, Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, SkipValidation, field_validator

from core import clock
from core.commands import Command, RowId, refuse
from core.errors import Problem

from .models import CORRECTABLE
from .vocabulary import DocType, PaperSize, Retention, WritingMaterial

REASON_MAX = 2000
PERSON_MAX = 64


class DocumentMetadata(Command):
    """What is recorded about a document when it is filed, and what a correction may change."""

    doc_type: DocType
    title: str = Field(min_length=1, max_length=255)
    formed_on: dt.date
    responsible_unit: str = Field(min_length=1, max_length=128)
    writing_material: WritingMaterial
    paper_size: PaperSize
    retention: Retention = Retention.PERMANENT
    pages: int | None = Field(None, ge=1, le=10_000, description="counted from the file where its format tells")
    handover_id: RowId | None = None
    document_no: str = Field("", max_length=64)
    title_supplied: bool = Field(False, description="a title made up by the archivist, shown in [brackets]")

    @field_validator("formed_on")
    @classmethod
    def _not_in_the_future(cls, value: dt.date) -> dt.date:
        if value > clock.today_local() + dt.timedelta(days=1):
            raise refuse("in_future")
        return value


class FileDocument(DocumentMetadata):
    """A document to file: its metadata and the uploaded file (``file`` a readable, seekable stream)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: SkipValidation[IO[bytes] | None] = Field(None, exclude=True)
    filename: str | None = None

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        return {} if data.get("file") is not None else {"file": Problem("required")}


def _correctable(changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise refuse("nothing_to_correct")
    if set(changes) - set(CORRECTABLE):
        raise refuse("not_correctable", allowed=list(CORRECTABLE))
    return changes


class WithdrawDocument(Command):
    """Why a document leaves its dossier and who authorised it (never deleted)."""

    reason: str = Field(min_length=1, max_length=REASON_MAX)
    authorised_by: str = Field(min_length=1, max_length=PERSON_MAX)


class CorrectDocument(WithdrawDocument):
    """A metadata correction: the fields to change (``CORRECTABLE``) with the reason and who authorised it."""

    changes: Annotated[dict[str, Any], AfterValidator(_correctable)]


class RecordHandover(Command):
    """A hand-over between departments (交接记录) that documents can reference."""

    account_no: str | None = Field(None, pattern=r"^\d{1,20}$")
    from_department: str = Field(min_length=1, max_length=128)
    to_department: str = Field(min_length=1, max_length=128)
    handed_over_on: dt.date
    handed_by: str = Field(min_length=1, max_length=PERSON_MAX)
    received_by: str = Field(min_length=1, max_length=PERSON_MAX)
    item_count: int = Field(0, ge=0, le=1_000_000)
    notes: str = ""


class RecordReferenceSheet(Command):
    """The reference sheet (备考表): the filer (立卷人), the checker, the check date and the notes."""

    filer_name: str = Field("", max_length=PERSON_MAX)
    checker_name: str = Field("", max_length=PERSON_MAX)
    checked_on: dt.date | None = None
    notes: str = Field("", max_length=REASON_MAX)
    # who built the dossier (archive.checklists.BUILDERS); empty keeps what is recorded
    builder: str = Field("", max_length=24)

    @field_validator("builder")
    @classmethod
    def _builder_known(cls, value: str) -> str:
        from .checklists import BUILDERS

        if value and value not in BUILDERS:
            raise refuse("not_a_choice", allowed=list(BUILDERS))
        return value

    @field_validator("checked_on")
    @classmethod
    def _checked_not_in_the_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > clock.today_local():
            raise refuse("in_future")
        return value

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        if data.get("checked_on") and not str(data.get("checker_name") or "").strip():
            return {"checker_name": Problem("required")}
        return {}
