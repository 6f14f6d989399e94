"""The audit rules. ``all_rules()`` lists them; each module registers its rules on import (``load``)."""

from __future__ import annotations

from .base import MISSING, RULES, Rule, RuleContext, all_rules, get_rule, load, rule

__all__ = ["MISSING", "RULES", "Rule", "RuleContext", "all_rules", "get_rule", "load", "rule"]
