"""What a rule is: a named, documented, set-based query that yields one row per problem.

A rule's ``query`` returns a SELECT with an ``account_id`` column, a ``subject`` column (the record the
problem sits on, unique per rule) and any further columns, which become the finding's evidence. Rules never
loop over accounts in Python: the engine runs each query once per scope, so 100,000 accounts cost one
statement per rule.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select


@dataclass(frozen=True)
class RuleContext:
    """Facts the rules compare against: today's date and the configurable deadlines."""

    today: dt.date
    filing_deadline_days: int = 30
    large_dossier_days: int = 30
    dossier_grace_days: int = 30
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severity: str
    area: str  # "filing" or "business"
    checks: str
    evidence: tuple[str, ...]
    query: Callable[[RuleContext], Select[Any]]


RULES: dict[str, Rule] = {}


def rule(
    code: str, *, title: str, severity: str, area: str, checks: str, evidence: tuple[str, ...]
) -> Callable[[Callable[[RuleContext], Select[Any]]], Rule]:
    """Register a rule under ``code``; the docstring-free decorator keeps each rule a small named unit."""

    def register(query: Callable[[RuleContext], Select[Any]]) -> Rule:
        if code in RULES:
            raise ValueError(f"rule {code} is registered twice")
        registered = Rule(code, title, severity, area, checks, evidence, query)
        RULES[code] = registered
        return registered

    return register


# Rule modules and the model modules they read; a module whose models are absent is skipped, so the
# engine keeps working while a domain's models are still being built.
_RULE_MODULES = {
    "audit.rules.filing": "archive.models",
    "audit.rules.checklists": "archive.models",
    "audit.rules.sheets": "archive.models",
    "audit.rules.business": "billing.models",
    "audit.rules.complaints": "servicedesk.models",
    "audit.rules.connections": "connections.models",
}
_loaded = False
# rule modules skipped because the models they read are not there (yet)
MISSING: list[str] = []


def load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module, needs in _RULE_MODULES.items():
        try:
            present = importlib.util.find_spec(needs) is not None
        except ModuleNotFoundError:
            present = False
        if present:
            importlib.import_module(module)
        else:
            MISSING.append(module)


def all_rules() -> list[Rule]:
    load()
    return [RULES[code] for code in sorted(RULES)]


def get_rule(code: str) -> Rule | None:
    load()
    return RULES.get(code)
