"""Which documents a dossier must hold: by contracted capacity tier and by lifecycle events (configuration).

Tiers follow chapter 6: below 50 kVA the marketing department builds the dossier, below 315 kVA the marketing
unit's archivist, from 315 kVA the market development side hands a complete dossier over within one month of
connection, with the engineering documents of a larger installation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import literal, select, union_all

BASIC = ("customer_application", "power_supply_contract", "new_install_work_order")
MEDIUM = (*BASIC, "business_survey", "installation_record", "fee_payment_agreement")
LARGE = (
    *MEDIUM,
    "engineering_survey",
    "test_report",
    "construction_registration",
    "completion_acceptance_report",
    "acceptance_work_order",
)
LARGE_KVA = Decimal(315)
# (from kVA inclusive, to kVA exclusive or None, required document types)
TIERS: tuple[tuple[Decimal, Decimal | None, tuple[str, ...]], ...] = (
    (Decimal(0), Decimal(50), BASIC),
    (Decimal(50), LARGE_KVA, MEDIUM),
    (LARGE_KVA, None, LARGE),
)
# account status -> documents the event leaves behind
EVENTS: dict[str, tuple[str, ...]] = {
    "suspended": ("service_change_sheet",),
    "closed": ("service_change_sheet",),
}
# processed sheets that must be filed within the filing deadline
PROCESSED_SHEETS = ("inspection_sheet", "outage_notice", "late_fee_waiver")
FORBIDDEN_MATERIALS = ("ballpoint", "pure_blue_ink", "carbon_copy", "pencil", "thermal_paper")
# A3 is allowed for drawings only
DRAWING_TYPES = ("engineering_survey", "box_substation_record", "construction_registration", "installation_record")
_NO_UPPER = Decimal(10**9)


def tier_table() -> Any:
    """The capacity requirements as rows (min_kva, max_kva, doc_type), portable across SQLite and PostgreSQL."""
    rows = [
        select(
            literal(lo).label("min_kva"), literal(hi if hi is not None else _NO_UPPER).label("max_kva"),
            literal(doc).label("doc_type"),
        )
        for lo, hi, docs in TIERS
        for doc in docs
    ]  # fmt: skip
    return union_all(*rows).subquery("required_by_tier")


def event_table() -> Any:
    rows = [
        select(literal(status).label("status"), literal(doc).label("doc_type"))
        for status, docs in EVENTS.items()
        for doc in docs
    ]
    return union_all(*rows).subquery("required_by_event")


def describe() -> list[tuple[str, str]]:
    """Human-readable requirements for docs/audit.md and the rules page."""
    lines = []
    for lo, hi, docs in TIERS:
        span = f">= {lo} kVA" if hi is None else f"{lo}-{hi} kVA"
        lines.append((span, ", ".join(docs)))
    for status, docs in EVENTS.items():
        lines.append((f"status {status}", ", ".join(docs)))
    return lines
