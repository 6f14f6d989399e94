"""Who builds the dossier: the builder recorded on each dossier (建档单位) is the one its account's capacity tier
names (``archive.checklists``: from 315 kVA the market development office, below 315 kVA the marketing unit's
archivist, below 50 kVA the marketing department)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, literal, select

from archive.models import Dossier
from billing.models import Account

from .base import RuleContext, rule
from .requirements import account_tier


@rule(
    "FL-BUILDER-MISMATCH",
    title="Dossier built by the wrong unit for its capacity",
    severity="medium",
    area="filing",
    checks=(
        "The builder recorded on a dossier (建档单位) is the one its account's capacity tier names: from 315 kVA "
        "the market development office hands the dossier over, below 315 kVA the marketing unit's archivist "
        "builds it, below 50 kVA the marketing department; a dossier with no builder recorded is a finding too."
    ),
    evidence=("builder", "expected_builder", "tier", "capacity_kva"),
)
def builder_mismatch(ctx: RuleContext) -> Select[Any]:
    tiers, on_tier = account_tier(Account)
    return (
        select(
            Account.id.label("account_id"),
            (literal("dossier:") + Dossier.account_no + literal(":builder")).label("subject"),
            Dossier.builder,
            tiers.c.builder.label("expected_builder"),
            tiers.c.tier,
            Account.capacity_kva,
        )
        .join(Account, Account.account_no == Dossier.account_no)
        .join(tiers, on_tier)
        .where(Dossier.builder != tiers.c.builder)
    )
