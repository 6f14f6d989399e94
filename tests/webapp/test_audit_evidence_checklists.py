"""The checklist rules' evidence sentences (webapp/staff/audit_evidence_checklists.py) in the branches the demo has
no finding for: each reads as Chinese with its link."""

from __future__ import annotations

import re

from tests.support import staff_sign_in

BRANCHES = [
    ("FL-BUILDER-MISMATCH", {"builder": "", "expected_builder": "marketing_unit", "tier": "below_315",
                             "capacity_kva": "100.00"}),
    ("FL-SHEET-UNFILED", {"source": "outage", "doc_type": "outage_notice", "document_no": "TD-7",
                          "done_on": "2026-10-01", "deadline_days": 30, "has_dossier": False}),
    ("FL-SHEET-UNFILED", {"source": "application", "doc_type": "misc_work_order",
                          "document_no": "YK20261001000001-02", "done_on": "2026-10-01", "deadline_days": 30,
                          "has_dossier": True}),
]  # fmt: skip


def test_every_branch_reads_as_chinese_with_a_link(client, world, session) -> None:
    from audit.models import Finding

    made = [
        Finding(rule=rule, severity="medium", subject=f"c:{n}", account_id=world.own_account.id, evidence=evidence)
        for n, (rule, evidence) in enumerate(BRANCHES)
    ]
    session.add_all(made)
    session.commit()
    staff_sign_in(client, "supervisor-a")
    for finding in made:
        page = client.get(f"/staff/audit/findings/{finding.id}").get_data(as_text=True)
        shown = re.search(r'<p class="card evidence-sentence">(.*?)</p>', page, re.S)
        assert shown, finding.rule
        text = re.sub(r"<[^>]+>", "", shown.group(1))
        for value in (v for v in finding.evidence.values() if isinstance(v, str) and re.search(r"\d", v)):
            text = text.replace(value, "")
        assert not re.search(r"[A-Za-z]{3,}", text), (finding.rule, text)
        assert "href=" in shown.group(1), finding.rule
    first = client.get(f"/staff/audit/findings/{made[0].id}").get_data(as_text=True)
    assert "未记录建档单位" in first and "营销单位档案员" in first
