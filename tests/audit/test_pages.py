"""The supervisor's dashboard, findings pages, workflow forms and CSV export through the Flask test client."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from audit.models import AuditRun, Finding
from tests.support import staff_sign_in


def _findings(session, world) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    own = Finding(rule="T-TEST", severity="high", subject="doc:1", account_id=world.own_account.id, evidence={"页": 3})
    foreign = Finding(rule="T-TEST", severity="high", subject="doc:2", account_id=world.foreign_account.id, evidence={})
    session.add_all([own, foreign])
    session.commit()
    return own.id, foreign.id


def test_dashboard_shows_open_findings_by_rule_unit_and_age(client, world, session) -> None:
    _findings(session, world)
    staff_sign_in(client, "supervisor-a")
    html = client.get("/staff/audit").get_data(as_text=True)
    assert "<svg" in html and "T-TEST" in html and "单位甲" in html
    assert "单位乙" not in html  # unit B's finding is outside the supervisor's scope
    assert "0-7" in html


def test_dashboard_is_for_supervisors_and_admins(client, world) -> None:
    staff_sign_in(client, "archivist-a")
    assert client.get("/staff/audit").status_code == 403
    assert client.get("/staff/audit/findings").status_code == 200


def test_supervisor_assigns_and_waives_through_the_forms(client, world, session) -> None:
    own, foreign = _findings(session, world)
    token = staff_sign_in(client, "supervisor-a")
    page = client.get(f"/staff/audit/findings/{own}").get_data(as_text=True)
    assert "archivist A" in page and "1000000001" in page
    client.post(
        f"/staff/audit/findings/{own}/transition",
        data={"to": "assigned", "assignee": world.users["archivist"].id, "csrf_token": token},
    )
    session.expire_all()
    assert session.get(Finding, own).status == "assigned"
    response = client.post(
        f"/staff/audit/findings/{own}/transition", data={"to": "waived", "reason": "", "csrf_token": token}
    )
    assert "reason" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/staff/audit/findings/{foreign}").status_code == 404


def test_archivist_sees_and_remediates_what_is_assigned(client, world, session) -> None:
    own, _ = _findings(session, world)
    finding = session.get(Finding, own)
    finding.status, finding.assignee_id = "assigned", world.users["archivist"].id
    session.commit()
    token = staff_sign_in(client, "archivist-a")
    listing = client.get("/staff/audit/findings").get_data(as_text=True)
    assert f"/staff/audit/findings/{own}" in listing
    page = client.get(f"/staff/audit/findings/{own}").get_data(as_text=True)
    assert 'value="remediated"' in page and 'value="waived"' not in page
    client.post(f"/staff/audit/findings/{own}/transition", data={"to": "remediated", "csrf_token": token})
    session.expire_all()
    assert session.get(Finding, own).status == "remediated"


def test_csv_export_has_the_findings_in_scope(client, world, session) -> None:
    _findings(session, world)
    staff_sign_in(client, "supervisor-a")
    response = client.get("/staff/audit/findings.csv?status=all")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "rule", "title", "severity", "account_no"]
    assert [r[4] for r in rows[1:]] == ["1000000001"]
    assert '"页": 3' in rows[1][-1]


def test_starting_a_run_from_the_dashboard_shows_its_progress(client, world, session) -> None:
    token = staff_sign_in(client, "supervisor-a")
    response = client.post("/staff/audit/runs", data={"unit": "UA", "csrf_token": token})
    assert response.status_code == 302
    run_id = session.scalar(select(AuditRun.id))
    assert response.headers["Location"].endswith(f"/staff/audit/runs/{run_id}")
    page = client.get(f"/staff/audit/runs/{run_id}").get_data(as_text=True)
    assert "<progress" in page and f"/api/v1/audit/runs/{run_id}" in page
    # the page polls the API with the session cookie
    assert client.get(f"/api/v1/audit/runs/{run_id}").get_json()["status"] == "done"
    refused = client.post("/staff/audit/runs", data={"unit": "UB", "csrf_token": token})
    assert refused.status_code == 302 and session.scalar(select(AuditRun.id).where(AuditRun.id > run_id)) is None


def test_rules_page_lists_the_rules(client, world) -> None:
    staff_sign_in(client, "clerk-a")
    assert client.get("/staff/audit/rules").status_code == 200


def test_finding_drills_down_to_its_document_and_dossier(client, world, session) -> None:
    finding = Finding(
        rule="T-TEST", severity="low", subject="document:42", account_id=world.own_account.id, evidence={}
    )
    session.add(finding)
    session.commit()
    staff_sign_in(client, "supervisor-a")
    page = client.get(f"/staff/audit/findings/{finding.id}").get_data(as_text=True)
    assert "/staff/archive/documents/42" in page
    assert "/staff/archive/dossiers/1000000001" in page
    client.get("/staff/logout")
    staff_sign_in(client, "clerk-a")  # clerks do not read the archive: no link to it
    finding.status, finding.assignee_id = "assigned", world.users["clerk"].id
    session.commit()
    page = client.get(f"/staff/audit/findings/{finding.id}").get_data(as_text=True)
    assert "/staff/archive/documents/42" not in page
