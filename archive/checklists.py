"""What a dossier must hold and who builds it: the checklists as data (one table), by capacity tier.

The seed's chapter on marketing archives (sections 2.3 and 2.4) decides both:

- who builds the dossier, by the contracted capacity: from 315 kVA the market development office's archivist
  (市场开发所) hands a complete dossier over within one month of connection; below 315 kVA the marketing unit's
  archivist (营销单位档案员) builds it; below 50 kVA the marketing department (营销部);
- what it holds: the application form (报装单) and the customer record sheet (用户用电档案单) in every tier; the
  fee agreement (电费交纳协议) below 50 kVA too; the box-substation record (箱变资料) and the engineering papers
  from 315 kVA; residential low-voltage accounts (居民, below 50 kVA) their own short list;
- and the sheets a lifecycle event leaves behind (报停、拆表: the service change sheet).

``CHECKLIST`` is the one table: (list, document type) rows. ``TIERS`` says which capacity and category each
list's tier covers and who builds it. The audit reads both as SQL rows (``audit.rules.requirements``); the dossier
page shows the account's list with what is held, and the builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

LARGE_KVA = Decimal(315)
SMALL_KVA = Decimal(50)


class Builder:
    """Who builds the dossier (建档单位), recorded on the dossier (``dossiers.builder``)."""

    MARKET_DEVELOPMENT = "market_development"  # 市场开发所: from 315 kVA, hands the dossier over
    MARKETING_UNIT = "marketing_unit"  # 营销单位档案员: below 315 kVA
    MARKETING_DEPARTMENT = "marketing_department"  # 营销部: below 50 kVA


BUILDERS = (Builder.MARKET_DEVELOPMENT, Builder.MARKETING_UNIT, Builder.MARKETING_DEPARTMENT)
BUILDER_LABELS_ZH = {
    Builder.MARKET_DEVELOPMENT: "市场开发所档案员",
    Builder.MARKETING_UNIT: "营销单位档案员",
    Builder.MARKETING_DEPARTMENT: "营销部",
}


@dataclass(frozen=True)
class Tier:
    code: str
    label_zh: str
    min_kva: Decimal  # inclusive
    max_kva: Decimal | None  # exclusive; None: no upper bound
    residential: bool | None  # True: residential accounts only, False: all but residential, None: any
    builder: str


TIERS: tuple[Tier, ...] = (
    Tier("residential_lv", "居民低压（50千伏安以下）", Decimal(0), SMALL_KVA, True, Builder.MARKETING_DEPARTMENT),
    Tier("below_50", "50千伏安以下", Decimal(0), SMALL_KVA, False, Builder.MARKETING_DEPARTMENT),
    Tier("below_315", "50千伏安至315千伏安以下", SMALL_KVA, LARGE_KVA, None, Builder.MARKETING_UNIT),
    Tier("from_315", "315千伏安及以上", LARGE_KVA, None, None, Builder.MARKET_DEVELOPMENT),
)
# lists that an account's status adds to its tier's list
EVENT_LISTS = {"suspended": "event_suspended", "closed": "event_closed"}

_SMALL = (
    "application_form",  # 用电申请报装单: every tier
    "usage_record_sheet",  # 用户用电档案单: every tier
    "customer_application",
    "power_supply_contract",
    "new_install_work_order",
    "fee_payment_agreement",  # below 50 kVA too
)
_MEDIUM = (*_SMALL, "business_survey", "installation_record")
_LARGE = (
    *_MEDIUM,
    "engineering_survey",
    "test_report",
    "construction_registration",
    "box_substation_record",  # 箱变资料: from 315 kVA
    "completion_acceptance_report",
    "acceptance_work_order",
)
_RESIDENTIAL = ("application_form", "usage_record_sheet", "power_supply_contract", "new_install_work_order")

# The checklists: (list, document type), one row per document a dossier of that list must hold.
CHECKLIST: tuple[tuple[str, str], ...] = (
    *(("residential_lv", doc) for doc in _RESIDENTIAL),
    *(("below_50", doc) for doc in _SMALL),
    *(("below_315", doc) for doc in _MEDIUM),
    *(("from_315", doc) for doc in _LARGE),
    ("event_suspended", "service_change_sheet"),
    ("event_closed", "service_change_sheet"),
)


def tier_for(capacity_kva: Decimal, category: str) -> Tier:
    """The tier of an account of this capacity and category."""
    residential = category == "residential"
    for tier in TIERS:
        if capacity_kva < tier.min_kva or (tier.max_kva is not None and capacity_kva >= tier.max_kva):
            continue
        if tier.residential is None or tier.residential == residential:
            return tier
    raise ValueError(f"no tier for {capacity_kva} kVA")


def builder_for(capacity_kva: Decimal, category: str) -> str:
    return tier_for(capacity_kva, category).builder


def required_for(capacity_kva: Decimal, category: str, status: str = "active") -> tuple[str, ...]:
    """The document types the dossier of such an account must hold, in the checklist's order."""
    lists = [tier_for(capacity_kva, category).code]
    if status in EVENT_LISTS:
        lists.append(EVENT_LISTS[status])
    return tuple(doc for name in lists for list_name, doc in CHECKLIST if list_name == name)


def dossier_checklist(dossier: Any, held: set[str]) -> dict[str, Any]:
    """The dossier's checklist for its page: the account's tier, the builder the tier names and the one recorded,
    and the tier's list (with the status's), each item marked held or not (``held``: the document types of its
    catalogue, after corrections)."""
    account = dossier.account
    capacity, category = Decimal(account.capacity_kva), str(account.category)
    tier = tier_for(capacity, category)
    return {
        "tier": tier.code,
        "tier_builder": tier.builder,
        "builder": dossier.builder,
        "items": [
            {"doc_type": doc, "held": doc in held} for doc in required_for(capacity, category, str(account.status))
        ],
    }
