"""Each audit rule's evidence has its sentence (webapp/staff/audit_evidence.py): a rule added to the registry
without one fails here; tests/audit/test_demo.py renders every rule's demo finding through it."""

from __future__ import annotations

from audit.rules import all_rules
from webapp.staff.audit_evidence import SENTENCES


def test_every_audit_rule_has_its_evidence_sentence(app) -> None:
    codes = {rule.code for rule in all_rules()}
    assert len(codes) >= 20  # the registry loaded its rule modules
    assert sorted(codes - set(SENTENCES)) == [], "add @sentence(CODE) in webapp/staff/audit_evidence.py"
    assert sorted(set(SENTENCES) - codes) == []  # no sentence left for a rule that is gone
