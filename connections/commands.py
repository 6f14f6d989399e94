"""Business handling's use-case inputs, from the API's JSON or the portal and staff forms, checked once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from billing.models import Category
from core.commands import Command, RowId, refuse
from core.errors import Problem

from . import flows
from .models import ApplicationType, StepName, UploadKind

NOTE_MAX = 2000
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,18}$"
# the unified social credit code (统一社会信用代码): 18 characters of digits and capitals without I, O, S, V, Z
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
Type = Literal[
    "new_lv_residential",
    "new_lv_business",
    "new_hv_single",
    "new_hv_dual",
    "capacity_increase",
    "capacity_reduction",
    "suspension",
    "resumption",
    "name_change",
    "transfer",
    "category_change",
    "closure",
]
Step = Literal[
    "acceptance",
    "site_survey",
    "supply_plan",
    "design_review",
    "interim_check",
    "completion_check",
    "contract",
    "connection",
    "execution",
    "archiving",
]
Kind = Literal["id_card", "business_licence", "property_proof", "other"]
assert set(Type.__args__) == {t.value for t in ApplicationType}  # type: ignore[attr-defined]
assert set(Step.__args__) == {s.value for s in StepName}  # type: ignore[attr-defined]
assert set(Kind.__args__) == {k.value for k in UploadKind}  # type: ignore[attr-defined]
Capacity = Annotated[Decimal, Field(gt=0, le=100000, max_digits=8, decimal_places=2)]


def _id_last4(value: str) -> str:
    value = value.upper()
    if len(value) != 4 or not all(c.isdigit() or c == "X" for c in value):
        raise refuse("id_last4_format")
    return value


class Applicant(Command):
    """Who applies: a person (the ID number's last four) or an organisation (its credit code)."""

    name: str = Field(min_length=1, max_length=128)
    phone: str = Field(max_length=20, pattern=PHONE_PATTERN)
    id_last4: Annotated[str, AfterValidator(_id_last4)] | None = Field(None, description="digits or X")
    credit_code: str | None = Field(None, pattern=CREDIT_CODE_PATTERN)


class Site(Command):
    address: str = Field(min_length=1, max_length=255)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class Apply(Command):
    """An application: a new connection names its site and asks for a capacity and a category; a change names the
    account it changes and what it wants (a capacity, a category, a new holder)."""

    type: Type
    account_no: str | None = Field(None, max_length=20, pattern=r"^[0-9]+$")
    applicant: Applicant
    site: Site | None = None
    capacity_kva: Capacity | None = None
    category: Category | None = None
    new_holder_name: str | None = Field(None, min_length=1, max_length=128)
    unit_code: str | None = Field(None, min_length=1, max_length=32, description="staff: the unit to handle it")
    note: str | None = Field(None, max_length=NOTE_MAX)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems: dict[str, Problem] = {}
        kind = data.get("type")
        if kind not in flows.FLOWS:
            return problems
        applicant = data.get("applicant")
        if isinstance(applicant, Mapping) and not applicant.get("id_last4") and not applicant.get("credit_code"):
            problems["applicant.id_last4"] = Problem("id_or_credit_code")
        if kind in flows.NEW_CONNECTIONS:
            if data.get("account_no"):
                problems["account_no"] = Problem("not_for_new_connection")
            if not data.get("site"):
                problems["site"] = Problem("required")
        elif not data.get("account_no"):
            problems["account_no"] = Problem("required")
        for name, needed in (
            ("capacity_kva", flows.WITH_CAPACITY),
            ("category", flows.WITH_CATEGORY),
            ("new_holder_name", flows.WITH_NEW_HOLDER),
        ):
            if kind in needed and data.get(name) in (None, ""):
                problems[name] = Problem("required")
        return problems


class StepFields(Command):
    """What a step's form records; which fields a step needs is in ``flows.STEP_FIELDS`` and checked by
    ``services.complete_step``."""

    note: str | None = Field(None, max_length=NOTE_MAX)
    findings: str | None = Field(None, max_length=NOTE_MAX, description="site survey")
    voltage: Literal["0.22kV", "0.4kV", "10kV", "35kV", "110kV"] | None = Field(None, description="supply plan")
    capacity_kva: Capacity | None = Field(None, description="supply plan: the capacity granted")
    source_count: int | None = Field(None, ge=1, le=2, description="supply plan: one or two sources")
    metering: Literal["high_supply_high_metering", "high_supply_low_metering", "low_supply_low_metering"] | None = None
    result: Literal["passed", "failed"] | None = Field(None, description="design review and checks")
    contract_no: str | None = Field(None, min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$")
    meter_no: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")
    connected_on: dt.date | None = Field(None, description="connection: the day power was switched on")
    tariff_code: str | None = Field(None, min_length=1, max_length=32)
    handed_over_on: dt.date | None = Field(None, description="archiving: the day the dossier was handed over")


class DoStep(Command):
    """A step's outcome: done with its fields, or returned to the customer (the clock stops) with a note saying
    what is missing."""

    outcome: Literal["done", "returned"]
    fields: StepFields = Field(default_factory=StepFields)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        fields = data.get("fields")
        note = fields.get("note") if isinstance(fields, Mapping) else None
        if data.get("outcome") == "returned" and not (isinstance(note, str) and note.strip()):
            return {"fields.note": Problem("required")}
        return {}


class Assign(Command):
    handler_id: RowId


class Rate(Command):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=500)


class AddUpload(Command):
    """A paper the customer sends (the file itself travels beside the command, checked as an image or a PDF)."""

    doc_type: Kind
    title: str | None = Field(None, max_length=200)
