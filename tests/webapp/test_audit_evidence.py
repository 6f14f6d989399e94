"""Each audit rule's evidence has its sentence (webapp/staff/audit_evidence.py): a rule added to the registry
without one fails here; tests/audit/test_demo.py renders every rule's demo finding through it."""

from __future__ import annotations

from audit.rules import all_rules
from tests.support import staff_sign_in
from webapp.staff.audit_evidence import SENTENCES


def test_every_audit_rule_has_its_evidence_sentence(app) -> None:
    codes = {rule.code for rule in all_rules()}
    assert len(codes) >= 20  # the registry loaded its rule modules
    assert sorted(codes - set(SENTENCES)) == [], "add @sentence(CODE) in webapp/staff/audit_evidence.py"
    assert sorted(set(SENTENCES) - codes) == []  # no sentence left for a rule that is gone


def test_every_kept_value_of_every_rule_has_its_label(app) -> None:
    from webapp.staff.audit_evidence import LABELS

    unlabelled = {rule.code: sorted(set(rule.evidence) - set(LABELS)) for rule in all_rules()}
    assert {code: keys for code, keys in unlabelled.items() if keys} == {}, "add them to LABELS"


# Every branch of the sentences the demo has no finding for: each must read as Chinese with its link.
BRANCHES = [
    ("BZ-UNAPPROVED", {"kind": "waiver", "record_id": 5, "bill_id": None, "amount": "12.00",
                       "requested_by": "clerk", "decided_by": "clerk", "problem": "approved_by_requester"}),
    ("BZ-UNAPPROVED", {"kind": "refund", "record_id": 6, "bill_id": None, "amount": "3.50",
                       "requested_by": "clerk", "decided_by": None, "problem": "approved_without_decider"}),
    ("BZ-UNAPPROVED", {"kind": "correction", "record_id": 7, "bill_id": None, "amount": "3.50",
                       "requested_by": "clerk", "decided_by": "archivist", "problem": "approver_not_entitled"}),
    ("BZ-PAYMENT-UNMATCHED", {"payment_id": 1, "amount": "10.00", "channel": "counter",
                              "paid_at": "2026-12-01T16:30:00+00:00", "reference": "GT-1", "problem": "no_bill"}),
    ("BZ-STATEMENT-MISMATCH", {"provider": "wechat", "day": "2026-12-01", "kind": "missing_here", "order_no": "GD1",
                               "trade_no": "T1", "ours": None, "theirs": "9.00", "recorded": True}),
    ("BZ-STATEMENT-MISMATCH", {"provider": "alipay", "day": "2026-12-01", "kind": "missing_there", "order_no": "GD2",
                               "trade_no": None, "ours": "9.00", "theirs": None, "recorded": False}),
    ("FL-COMPLAINT-UNFILED", {"ticket_no": "S1", "kind": "meter_check", "closed_at": "2026-12-01T16:30:00+00:00",
                              "has_dossier": False}),
    ("FL-LARGE-INCOMPLETE", {"missing": "power_supply_contract,test_report", "capacity_kva": "400.00",
                             "connected_on": "2026-01-01", "days_since_connection": 300, "has_dossier": False}),
    ("FL-REQUIRED-DOC", {"doc_type": "usage_record_sheet", "capacity_kva": "8.00", "connected_on": "2026-01-01",
                         "has_dossier": False}),
    ("YK-APPLICATION-LATE", {"application_no": "YK1", "type": "new_lv_business", "received_on": "2026-11-02",
                             "end_on": "2026-11-30", "working_days": 20, "allowed_days": 15, "open": False}),
    ("YK-HANDOVER-LATE", {"capacity_kva": "630.00", "connected_on": "2026-09-01", "handed_over_on": None,
                          "days_to_handover": None, "source": None, "application_no": "YK2"}),
    ("YK-OFF-SYSTEM", {"problem": "read_without_application", "first_reading_on": "2026-10-01"}),
    ("YK-OFF-SYSTEM", {"problem": "registered_after_work", "connected_on": "2026-10-01", "application_no": "YK3",
                       "received_on": "2026-10-09"}),
    ("YK-OFF-SYSTEM", {"problem": "changed_without_application", "changed": "capacity_kva"}),
    ("YK-OFF-SYSTEM", {"problem": "changed_behind_the_trail", "changed": "holder_name"}),
    ("YK-PROCESS", {"application_no": "YK4", "type": "new_hv_single", "step": "design_review", "problem": "skipped",
                    "received_on": "2026-10-01", "done_on": None, "predecessor_done_on": None}),
    ("YK-PROCESS", {"application_no": "YK4", "type": "new_hv_single", "step": "site_survey",
                    "problem": "done_before_receipt", "received_on": "2026-10-01", "done_on": "2026-09-28"}),
    ("YK-PROCESS", {"application_no": "YK4", "type": "new_hv_single", "step": "connection",
                    "problem": "connected_without_passed_check", "received_on": "2026-10-01"}),
    ("YK-PROCESS", {"application_no": "YK4", "type": "new_hv_single", "step": "power_supply_contract",
                    "problem": "document_before_receipt", "received_on": "2026-10-01", "done_on": "2026-09-20"}),
    ("YK-STEP-LATE", {"application_no": "YK5", "type": "transfer", "step": "acceptance", "start_on": "2026-11-02",
                      "end_on": "2026-11-09", "working_days": 5, "allowed_days": 1, "open": False}),
]  # fmt: skip


def test_every_branch_of_the_sentences_reads_as_chinese_with_a_link(client, world, session) -> None:
    import re

    from audit.models import Finding

    people = {"clerk": world.users["clerk"].id, "archivist": world.users["archivist"].id}
    made = []
    for n, (rule, evidence) in enumerate(BRANCHES):
        evidence = {k: people.get(v, v) if k in ("requested_by", "decided_by") else v for k, v in evidence.items()}
        made.append(Finding(rule=rule, severity="high", subject=f"t:{n}", account_id=world.own_account.id,
                            evidence=evidence))  # fmt: skip
    session.add_all(made)
    session.commit()
    staff_sign_in(client, "supervisor-a")
    for finding in made:
        page = client.get(f"/staff/audit/findings/{finding.id}").get_data(as_text=True)
        shown = re.search(r'<p class="card evidence-sentence">(.*?)</p>', page, re.S)
        assert shown, finding.rule
        text = re.sub(r"<[^>]+>", "", shown.group(1))
        for name in ("clerk A", "archivist A"):  # the test users' names
            text = text.replace(name, "")
        for value in (v for v in finding.evidence.values() if isinstance(v, str) and re.search(r"\d", v)):
            text = text.replace(value, "")  # kept numbers (references, application numbers) may hold letters
        assert not re.search(r"[A-Za-z]{3,}", text), (finding.rule, finding.evidence, text)
        assert "href=" in shown.group(1), (finding.rule, finding.evidence)
        facts = page[page.index('class="facts card evidence"') : page.index("</dl>", page.index("card evidence"))]
        assert not re.search(r"<dt>[a-z_]+</dt>|<dd>[a-z]+_[a-z_]+</dd>", facts), (finding.rule, facts)
