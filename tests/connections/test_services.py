"""Applications through the API: every type's steps in order, the account change of the applying step, the clock
that stops while the customer owes something, withdrawal, rating, papers and who sees what."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from billing.models import Account
from connections.models import Application, ApplicationUpload
from core import clock, workdays
from core.trail import TrailEvent
from tests.connections.helpers import FIELDS, apply, do_step, pdf_bytes, png_bytes, work_through

# every type's steps, written down here (not imported): a new type fails until it is classified
FLOWS = {
    "new_lv_residential": ["acceptance", "site_survey", "connection"],
    "new_lv_business": ["acceptance", "site_survey", "connection"],
    "new_hv_single": [
        "acceptance",
        "site_survey",
        "supply_plan",
        "design_review",
        "interim_check",
        "completion_check",
        "contract",
        "connection",
        "archiving",
    ],
    "new_hv_dual": [
        "acceptance",
        "site_survey",
        "supply_plan",
        "design_review",
        "interim_check",
        "completion_check",
        "contract",
        "connection",
        "archiving",
    ],
    "capacity_increase": ["acceptance", "site_survey", "supply_plan", "completion_check", "contract", "connection"],
    "capacity_reduction": ["acceptance", "site_survey", "execution"],
    "suspension": ["acceptance", "site_survey", "execution"],
    "resumption": ["acceptance", "site_survey", "execution"],
    "name_change": ["acceptance", "execution"],
    "transfer": ["acceptance", "contract", "execution"],
    "category_change": ["acceptance", "site_survey", "execution"],
    "closure": ["acceptance", "site_survey", "execution"],
}
# the published commitments (working days): supply plan replies and low-voltage connections in total
SUPPLY_PLAN_DAYS = {"new_hv_single": 15, "new_hv_dual": 30, "capacity_increase": 15}
TOTAL_DAYS = {"new_lv_residential": 5, "new_lv_business": 15}


def test_the_flows_cover_every_type() -> None:
    from connections.models import ApplicationType

    assert set(FLOWS) == {t.value for t in ApplicationType}


def _prepare_account(session: Any, world: Any, application_type: str) -> None:
    if application_type == "resumption":
        world.own_account.status = "suspended"
        session.commit()


@pytest.mark.parametrize("application_type", sorted(FLOWS))
def test_each_type_goes_through_its_steps_to_completed(client, world, session, application_type) -> None:
    _prepare_account(session, world, application_type)
    created = apply(client, world, application_type)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert [s["step"] for s in body["steps"]] == FLOWS[application_type]
    assert all(s["due_on"] for s in body["steps"])
    if application_type in SUPPLY_PLAN_DAYS:
        received = dt.date.fromisoformat(body["received_on"])
        plan = next(s for s in body["steps"] if s["step"] == "supply_plan")
        assert plan["limit_days"] == SUPPLY_PLAN_DAYS[application_type]
        del received
    if application_type in TOTAL_DAYS:
        received = dt.date.fromisoformat(body["received_on"])
        assert body["total_due_on"] == workdays.add(received, TOTAL_DAYS[application_type]).isoformat()
        assert sum(s["limit_days"] for s in body["steps"]) == TOTAL_DAYS[application_type]
    final = work_through(client, world, body["application_no"], FLOWS[application_type])
    assert final["status"] == "completed"
    assert all(s["done_on"] for s in final["steps"])
    assert [e["action"] for e in final["timeline"]] == ["received", *FLOWS[application_type], "completed"]
    assert final["account_no"] is not None


def test_a_step_out_of_order_is_refused_and_changes_nothing(client, world) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    response = do_step(client, world, number, "site_survey")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "step_out_of_order"
    view = client.get(f"/api/v1/applications/{number}", headers=world.headers("clerk")).get_json()
    assert view["current_step"] == "acceptance" and not any(s["done_on"] for s in view["steps"])


def test_a_step_needs_its_fields(client, world) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    do_step(client, world, number, "acceptance")
    do_step(client, world, number, "site_survey")
    response = do_step(client, world, number, "supply_plan", fields={"voltage": "10kV"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["problems"]) == {
        "fields.capacity_kva",
        "fields.source_count",
        "fields.metering",
    }


def test_a_new_connection_needs_a_tariff_that_exists(client, world) -> None:
    number = apply(client, world, "new_lv_residential").get_json()["application_no"]
    do_step(client, world, number, "acceptance")
    do_step(client, world, number, "site_survey")
    missing = do_step(client, world, number, "connection", fields={"meter_no": "DB-1"})
    assert missing.get_json()["error"]["details"]["problems"]["fields.tariff_code"]["code"] == "required"
    unknown = do_step(client, world, number, "connection", fields={"meter_no": "DB-1", "tariff_code": "NO-SUCH"})
    assert unknown.get_json()["error"]["details"]["problems"]["fields.tariff_code"]["code"] == "unknown_tariff"
    view = client.get(f"/api/v1/applications/{number}", headers=world.headers("clerk")).get_json()
    assert view["current_step"] == "connection" and view["account_no"] is None


def test_a_failed_completion_check_keeps_the_step_open(client, world) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    for step in ("acceptance", "site_survey", "supply_plan"):
        do_step(client, world, number, step)
    failed = do_step(client, world, number, "completion_check", fields={"result": "failed", "note": "接地不合格"})
    assert failed.status_code == 200
    assert failed.get_json()["current_step"] == "completion_check"
    assert failed.get_json()["timeline"][-1]["action"] == "check_failed"
    assert do_step(client, world, number, "contract").get_json()["error"]["code"] == "step_out_of_order"


def test_a_capacity_increase_changes_the_account_at_connection_and_the_trail_says_so(client, world, session) -> None:
    number = apply(client, world, "capacity_increase", capacity_kva="20").get_json()["application_no"]
    work_through(client, world, number, FLOWS["capacity_increase"][:-1])
    session.expire_all()
    assert session.get(Account, world.own_account.id).capacity_kva == Decimal(8)  # not before connection
    do_step(client, world, number, "connection")
    session.expire_all()
    assert session.get(Account, world.own_account.id).capacity_kva == Decimal(20)
    change = session.scalar(
        select(TrailEvent).where(TrailEvent.action == "account.changed", TrailEvent.entity_id == "1000000001")
    )
    assert change is not None
    assert Decimal(change.before["capacity_kva"]) == 8 and Decimal(change.after["capacity_kva"]) == 20
    assert change.after["application_no"] == number


def test_a_new_connection_opens_an_account_bound_to_its_applicant_with_a_dossier_of_its_papers(
    client, world, session
) -> None:
    from archive.models import Document
    from archive.services import catalog, dossier_for

    body = apply(client, world, "new_lv_residential").get_json()
    number = body["application_no"]
    paper = client.post(
        f"/api/v1/applications/{number}/documents",
        data={"doc_type": "id_card", "file": (io.BytesIO(png_bytes()), "id.png")},
        headers=world.headers("customer"),
    )
    assert paper.status_code == 201, paper.get_json()
    final = work_through(client, world, number, FLOWS["new_lv_residential"])
    account_no = final["account_no"]
    accounts = client.get("/api/v1/me/accounts", headers=world.headers("customer")).get_json()
    assert account_no in [a["account_no"] for a in accounts["items"]]
    session.expire_all()
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    assert account.capacity_kva == Decimal(8) and account.connected_on is not None
    dossier = dossier_for(session, account_no)
    assert dossier is not None
    documents = session.scalars(select(Document).where(Document.account_no == account_no)).all()
    by_number = {d.document_no: d.doc_type for d in documents}
    assert (by_number[f"{number}-01"], by_number[f"{number}-A"]) == ("application_form", "usage_record_sheet")
    assert {d.document_no for d in documents} == {
        f"{number}-01",  # acceptance
        f"{number}-02",  # site survey
        f"{number}-03",  # connection
        f"{number}-A",  # the customer record sheet (用户用电档案单) of the account it opened
        *(f"{number}-U{u}" for u in session.scalars(select(ApplicationUpload.id))),
    }
    entries = catalog(dossier)
    assert [e.document.formed_on for e in entries] == sorted(e.document.formed_on for e in entries)
    pages = [(e.page_from, e.page_to) for e in entries]
    assert pages[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(pages, pages[1:], strict=False))


def test_papers_are_filed_once_however_often_their_filing_runs(client, world, session) -> None:
    from archive.models import Document
    from connections.papers import file_papers_task

    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    do_step(client, world, number, "acceptance")
    application_id = session.scalar(select(Application.id).where(Application.application_no == number))
    session.rollback()  # SQLite: the task's transaction must not wait for this one
    assert file_papers_task.delay(application_id).get() == 0
    filed = session.scalar(select(func.count()).select_from(Document).where(Document.document_no.like(f"{number}%")))
    assert filed == 1


def _on(monkeypatch: Any, day: dt.date) -> None:
    """Make ``day`` (10:00 local) the present for business handling."""
    moment = clock.at_local(day, dt.time(10, 0))
    monkeypatch.setattr("core.clock.today_local", lambda: day)
    monkeypatch.setattr("connections.services.utcnow", lambda: moment.astimezone(dt.UTC))


def test_returning_to_the_customer_stops_the_clock_until_they_answer(client, world, monkeypatch) -> None:
    monday = dt.date(2026, 11, 2)
    _on(monkeypatch, monday)
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    returned = do_step(client, world, number, "acceptance", outcome="returned", fields={"note": "请补充产权证明"})
    assert returned.status_code == 200, returned.get_json()
    assert returned.get_json()["status"] == "awaiting_customer" and returned.get_json()["due_on"] is None
    assert do_step(client, world, number, "acceptance").get_json()["error"]["code"] == "awaiting_customer"
    friday = dt.date(2026, 11, 6)  # four working days later
    _on(monkeypatch, friday)
    paper = client.post(
        f"/api/v1/applications/{number}/documents",
        data={"doc_type": "property_proof", "file": (io.BytesIO(pdf_bytes()), "proof.pdf")},
        headers=world.headers("customer"),
    )
    assert paper.status_code == 201, paper.get_json()
    view = client.get(f"/api/v1/applications/{number}", headers=world.headers("customer")).get_json()
    assert view["status"] == "in_progress"
    acceptance = view["steps"][0]
    assert acceptance["waited_days"] == 4
    assert view["due_on"] == workdays.add(monday, 1 + 4).isoformat()


def test_due_dates_skip_china_s_holidays(client, world, monkeypatch) -> None:
    # received on the last working day before the National Day holiday of 2026 (1 to 7 October)
    _on(monkeypatch, dt.date(2026, 9, 30))
    body = apply(client, world, "new_lv_residential").get_json()
    assert body["received_on"] == "2026-09-30"
    # the first working day after the National Day holiday
    assert body["steps"][0]["due_on"] == "2026-10-08"
    assert body["total_due_on"] == workdays.add(dt.date(2026, 9, 30), 5).isoformat()


def test_customers_see_their_own_applications_and_staff_their_units(client, world) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    assert client.get(f"/api/v1/applications/{number}", headers=world.headers("customer")).status_code == 200
    assert client.get(f"/api/v1/applications/{number}", headers=world.headers("clerk")).status_code == 200
    listed = client.get("/api/v1/applications?status=in_progress", headers=world.headers("customer")).get_json()
    assert [a["application_no"] for a in listed["items"]] == [number]


def test_a_customer_cannot_apply_to_change_an_account_that_is_not_theirs(client, world) -> None:
    response = apply(client, world, "capacity_increase", account_no=world.foreign_account.account_no)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["problems"]["account_no"]["code"] == "unknown_account"


def test_one_open_application_per_account(client, world) -> None:
    first = apply(client, world, "capacity_increase").get_json()["application_no"]
    second = apply(client, world, "name_change")
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "application_open"
    assert first in second.get_json()["error"]["message"]


def test_the_applicant_withdraws_an_open_application_and_rates_a_completed_one(client, world) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    withdrawn = client.post(f"/api/v1/applications/{number}/withdraw", headers=world.headers("customer"))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    again = client.post(f"/api/v1/applications/{number}/withdraw", headers=world.headers("customer"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "application_closed"
    done = apply(client, world, "name_change").get_json()["application_no"]
    early = client.post(f"/api/v1/applications/{done}/rating", json={"score": 5}, headers=world.headers("customer"))
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_completed"
    work_through(client, world, done, FLOWS["name_change"])
    rated = client.post(f"/api/v1/applications/{done}/rating", json={"score": 4}, headers=world.headers("customer"))
    assert rated.status_code == 200 and rated.get_json()["rating"]["score"] == 4
    twice = client.post(f"/api/v1/applications/{done}/rating", json={"score": 5}, headers=world.headers("customer"))
    assert twice.get_json()["error"]["code"] == "application_already_rated"


def test_a_refused_paper_leaves_nothing(client, world, session) -> None:
    number = apply(client, world, "capacity_increase").get_json()["application_no"]
    refused = client.post(
        f"/api/v1/applications/{number}/documents",
        data={"doc_type": "id_card", "file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "id.png")},
        headers=world.headers("customer"),
    )
    assert refused.status_code == 422
    assert session.scalar(select(func.count()).select_from(ApplicationUpload)) == 0


def test_applicants_are_told_of_each_step(client, world) -> None:
    number = apply(client, world, "name_change").get_json()["application_no"]
    work_through(client, world, number, FLOWS["name_change"])
    inbox = client.get("/api/v1/me/notifications?per_page=100", headers=world.headers("customer")).get_json()
    titles = [item["title"] for item in inbox["items"] if number in item["title"]]
    assert len(titles) == len(FLOWS["name_change"]) + 1  # each step and the completion


def test_the_step_fields_cover_every_step() -> None:
    from connections.flows import STEP_FIELDS
    from connections.models import StepName

    assert set(STEP_FIELDS) == {s.value for s in StepName}
    assert set(FIELDS) <= {s.value for s in StepName}


def test_a_new_account_is_put_at_the_end_of_its_unit_s_least_loaded_reading_book(client, world, session) -> None:
    from billing.models import ReadingBook

    busy = ReadingBook(code="A-01", name="一号", unit_id=world.unit_a.id)
    quiet = ReadingBook(code="A-02", name="二号", unit_id=world.unit_a.id)
    session.add_all([busy, quiet])
    session.flush()
    world.own_account.reading_book_id, world.own_account.book_seq = busy.id, 1
    session.commit()
    number = apply(client, world, "new_lv_residential", role="clerk").get_json()["application_no"]
    account_no = work_through(client, world, number, FLOWS["new_lv_residential"])["account_no"]
    session.expire_all()
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    assert (account.reading_book_id, account.book_seq) == (quiet.id, 1)
