"""The audit rules. ``all_rules()`` lists them; each module registers its rules on import."""

from __future__ import annotations

import importlib
import importlib.util

from .base import RULES, Rule, RuleContext, all_rules, get_rule, rule

# Rule modules and the model modules they read; a module whose models are absent is skipped, so the
# engine keeps working while a domain's models are still being built.
_RULE_MODULES = {
    "audit.rules.filing": "archive.models",
    "audit.rules.business": "billing.models",
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


__all__ = ["MISSING", "RULES", "Rule", "RuleContext", "all_rules", "get_rule", "load", "rule"]
