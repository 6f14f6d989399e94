"""Which documents a dossier must hold and who builds it, as SQL rows: the archive's checklists
(``archive.checklists``, one table of (list, document type) rows, with the capacity tiers and their builders).

Tiers follow chapter 6: below 50 kVA the marketing department builds the dossier (residential low-voltage
accounts have their own short list), below 315 kVA the marketing unit's archivist, from 315 kVA the market
development side hands a complete dossier over within one month of connection, with the engineering documents and
the box-substation record of a larger installation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, literal, or_, select, union_all

from archive.checklists import CHECKLIST, EVENT_LISTS, LARGE_KVA, TIERS

# processed sheets that must be filed within the filing deadline
PROCESSED_SHEETS = ("inspection_sheet", "outage_notice", "late_fee_waiver")
FORBIDDEN_MATERIALS = ("ballpoint", "pure_blue_ink", "carbon_copy", "pencil", "thermal_paper")
# A3 is allowed for drawings only
DRAWING_TYPES = ("engineering_survey", "box_substation_record", "construction_registration", "installation_record")
_NO_UPPER = Decimal(10**9)
_ANY, _NOT_RESIDENTIAL, _RESIDENTIAL = -1, 0, 1

__all__ = ["DRAWING_TYPES", "FORBIDDEN_MATERIALS", "LARGE_KVA", "PROCESSED_SHEETS"]


def tier_rows() -> Any:
    """The tiers as rows (tier, min_kva, max_kva, residential, builder), portable across SQLite and PostgreSQL."""
    rows = [
        select(
            literal(t.code).label("tier"),
            literal(t.min_kva).label("min_kva"),
            literal(t.max_kva if t.max_kva is not None else _NO_UPPER).label("max_kva"),
            literal(_ANY if t.residential is None else int(t.residential)).label("residential"),
            literal(t.builder).label("builder"),
        )
        for t in TIERS
    ]
    return union_all(*rows).subquery("tiers")


def account_tier(account: Any) -> tuple[Any, Any]:
    """(tiers subquery, join condition): each account joins the one tier of its capacity and category."""
    tiers = tier_rows()
    is_residential = case((account.category == "residential", _RESIDENTIAL), else_=_NOT_RESIDENTIAL)
    on = and_(
        account.capacity_kva >= tiers.c.min_kva,
        account.capacity_kva < tiers.c.max_kva,
        or_(tiers.c.residential == _ANY, tiers.c.residential == is_residential),
    )
    return tiers, on


def checklist_rows() -> Any:
    """The checklists as rows (list, doc_type)."""
    rows = [select(literal(name).label("list"), literal(doc).label("doc_type")) for name, doc in CHECKLIST]
    return union_all(*rows).subquery("checklist")


def event_rows() -> Any:
    """(status, list): the list an account's status adds."""
    rows = [
        select(literal(status).label("status"), literal(name).label("list")) for status, name in EVENT_LISTS.items()
    ]
    return union_all(*rows).subquery("event_lists")


def describe() -> list[tuple[str, str]]:
    """Human-readable requirements: each list with its documents."""
    lines = []
    for t in TIERS:
        lines.append((f"{t.code} ({t.label_zh}, {t.builder})", ", ".join(d for n, d in CHECKLIST if n == t.code)))
    for status, name in EVENT_LISTS.items():
        lines.append((f"status {status}", ", ".join(d for n, d in CHECKLIST if n == name)))
    return lines
