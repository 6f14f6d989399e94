"""Every staff and customer form, sent empty from a Chinese page, answers with its errors in Chinese.

Each form is filled with nothing (text fields cleared, the browser's own checks switched off) and sent with its
button; the page that answers must show an error and no English word. "English" is a run of three or more ASCII
letters outside an allow-list of technical names (file formats, units) and the test data's own codes; text in
``<code>`` elements is a technical name by definition. Forms that are valid when empty (searches, filters, the
start of an audit run) are sent too and must answer in Chinese without an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from audit.models import Finding
from audit.rules import all_rules
from billing.adjustments import request_adjustment
from billing.bills import record_reading
from billing.commands import RequestAdjustment
from billing.models import ReadingBook
from connections.commands import Apply, DoStep
from connections.services import apply, complete_step
from mapping.commands import NewServicePoint
from mapping.services import create_point
from servicedesk.commands import MoveTicket, OpenTicket
from servicedesk.services import move_ticket, open_ticket
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes
from tests.e2e.conftest import Phone, phone_in, signed_in_state
from tests.servicedesk.helpers import STREET
from tests.support import PASSWORD, build_world, copy_tables, put_back, reset_database

pytestmark = pytest.mark.e2e

CUSTOMER_PHONE = "13900000001"  # the world's customer
TECHNICAL = {"GridDesk", "English", "PDF", "JPEG", "PNG", "TIFF", "DOCX", "CSV", "JSON", "GeoJSON", "WGS", "UTF"}
TECHNICAL |= {"kWh", "kVA", "API", "MiB", "HTTP"}
TECHNICAL |= {"Leaflet", "OpenStreetMap", "contributors"}  # the map tiles' attribution, required by their licence
HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Form:
    name: str
    user: str | None  # who signs in first: a staff username, "customer", or nobody
    path: str  # may name {document}, {finding}, {point}, {book}, {reading}, {ticket}, {closed}, {incident},
    # {application} (a capacity increase at its site survey), {completed} (a completed name change)
    form: str  # the form's selector on that page
    button: str = "button[type=submit]"
    error: bool = True  # an empty form is refused
    before: str = ""  # a selector to click first (a closed <details>)


FORMS = [
    # the customer's pages
    Form("portal sign-in", None, "/login", "main form[method=post]"),
    Form("portal sign-up", None, "/signup", "main form[method=post]"),
    Form("bind an account", "customer", "/bind", "main form[method=post]"),
    Form("change password", "customer", "/password", "main form[method=post]"),
    Form("pay online", "customer", "/pay", "main form[method=post]"),
    Form("invoice choice", "customer", "/invoices", "main form[method=post]", error=False),
    Form("verify an invoice", None, "/invoices/verify", "main form[method=get]", error=False),
    Form("nearby search", "customer", "/nearby", "form.stack", error=False, before="details.more-search > summary"),
    Form("service map search", None, "/map", "form[role=search]", error=False),
    # staff: sign-in and administration
    Form("staff sign-in", None, "/staff/login", "main form[method=post]"),
    Form("new unit", "admin-a", "/staff/units", "main form[method=post]"),
    Form("new user", "admin-a", "/staff/users", "main form[method=post]"),
    Form("account search", "clerk-a", "/staff/accounts", "main form[role=search]", error=False),
    # archive
    Form("start a dossier", "archivist-a", "/staff/archive?q=1000000001", "form[action$='/staff/archive']"),
    Form("file a document", "archivist-a", "/staff/archive/dossiers/1000000001", "form[action$='/documents']"),
    Form(
        "file several documents",
        "archivist-a",
        "/staff/archive/dossiers/1000000001",
        "form[action$='/documents/batch']",
    ),
    Form("reference sheet", "archivist-a", "/staff/archive/dossiers/1000000001", "form.reference-sheet", error=False),
    Form("save an archive search", "archivist-a", "/staff/archive/search?q=合同", "form.save-search"),
    Form("archive batch import", "archivist-a", "/staff/archive/imports", "form[action$='/archive/imports']"),
    Form(
        "correct a document",
        "archivist-a",
        "/staff/archive/documents/{document}",
        "form[action$='/corrections']",
        before="details > summary",
    ),
    Form("withdraw a document", "archivist-a", "/staff/archive/documents/{document}", "form[action$='/withdrawal']"),
    Form("archive search", "archivist-a", "/staff/archive/search", "main form[role=search]", error=False),
    # billing
    Form("counter payment", "clerk-a", "/staff/billing/accounts/1000000001", "form[action$='/payments']"),
    Form("adjustment request", "clerk-a", "/staff/billing/accounts/1000000001", "form[action$='/requests']"),
    Form("payment file", "clerk-a", "/staff/billing/imports", "form.upload"),
    Form("decision", "clerk-a", "/staff/billing/approvals", "form.decide", button="button[value=reject]"),
    Form("counter search", "clerk-a", "/staff/billing", "main form[method=get]", error=False),
    Form(
        "reading sheet",
        "clerk-a",
        "/staff/billing/reading-books/{book}?period=2026-03",
        "main form[method=post]",
        error=False,
    ),
    Form("reading books period", "clerk-a", "/staff/billing/reading-books", "main form[method=get]", error=False),
    Form("reader file", "clerk-a", "/staff/billing/reading-imports", "form.upload"),
    Form(
        "reading review", "clerk-a", "/staff/billing/readings/{reading}", "form.decide", button="button[value=correct]"
    ),
    Form("meter change", "clerk-a", "/staff/billing/accounts/1000000001/meter-change", "form.change"),
    # audit
    Form("start an audit run", "supervisor-a", "/staff/audit", "form[action$='/audit/runs']", error=False),
    Form("waive a finding", "supervisor-a", "/staff/audit/findings/{finding}", "form:has(input[value=waived])"),
    Form("ticked findings", "supervisor-a", "/staff/audit/findings", "form.bulk"),
    Form("finding filter", "supervisor-a", "/staff/audit/findings", "main form[method=get]", error=False),
    # notices and service points
    Form("outage notice", "clerk-a", "/staff/notices/outage", "main form.card", button="button[value=send]"),
    Form("new service point", "admin-a", "/staff/service-points/new", "main form.card"),
    Form("edit service point", "admin-a", "/staff/service-points/{point}/edit", "main form.card"),
    Form("service point file", "admin-a", "/staff/service-points", "form[action$='/service-points/import']"),
    # the service desk
    Form("fault report", None, "/repair", "form[data-pin-form]"),
    Form("fault report of a customer", "customer", "/repair", "form[data-pin-form]"),
    Form("complaint or question", "customer", "/service/new", "main form.stack"),
    Form("rating", "customer", "/service/{closed}", "form[action$='/rating']"),
    Form("reopening", "customer", "/service/{closed}", "form[action$='/reopen']"),
    Form("service queue filter", "clerk-a", "/staff/service", "main form[method=get]", error=False),
    Form("ticket step", "clerk-a", "/staff/service/tickets/{ticket}", "main form.stack"),
    Form("crew step", "clerk-a", "/staff/service/crew", "section[data-ticket] form"),
    Form("incident notice", "clerk-a", "/staff/service/incidents/{incident}", "form[action$='/notice']"),
    Form("incident restoration", "clerk-a", "/staff/service/incidents/{incident}", "form[action$='/restoration']"),
    # business handling
    Form("application", "customer", "/applications/new?type=new_lv_residential", "main form.stack"),
    Form("application paper", "customer", "/applications/{application}", "form[action$='/papers']"),
    Form("application rating", "customer", "/applications/{completed}", "form[action$='/rating']"),
    Form("application step", "clerk-a", "/staff/applications/{application}", "form[action$='/step']"),
]


@pytest.fixture(scope="module")
def prepared(app, chromium, live_server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The world, its records and every form's user signed in, made once for the module (a few seconds): each test
    starts from a copy of the tables, the sessions included, and opens its phone with its user's cookies."""
    from core.db import db

    with app.app_context():
        world = build_world(app, db.session)
        made = _records(app.test_client(), db.session, world)
        words = _test_data_words(world)
    users = {form.user for form in FORMS if form.user}
    signed_in = {
        user: signed_in_state(chromium, live_server, CUSTOMER_PHONE if user == "customer" else user, PASSWORD)
        for user in sorted(users)
    }
    return {"records": made, "words": words, "signed_in": signed_in, "tables": copy_tables()}


@pytest.fixture
def records(app, prepared) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    reset_database(app)
    put_back(prepared["tables"])
    return dict(prepared["records"])


@pytest.fixture
def phone(chromium, live_server, prepared, records, request) -> Iterator[Phone]:  # type: ignore[no-untyped-def]
    """A phone signed in as the form's user already (its session came back with the tables)."""
    user = request.node.callspec.params["form"].user
    signed_in = {"storage_state": prepared["signed_in"][user]} if user else {}
    with phone_in(chromium, live_server, **signed_in) as found:
        yield found


def _records(client: Any, session: Any, world: Any) -> dict[str, Any]:
    """A document, a finding, a service point and a refund waiting for a second person."""
    token = world.token("archivist")
    assert open_dossier(client, token, "1000000001").status_code == 201
    document = file_via_api(client, token, "1000000001", pdf_bytes()).get_json()["id"]
    finding = Finding(rule="T-TEST", severity="high", subject="account:x", account_id=world.own_account.id, evidence={})
    session.add(finding)
    point, _note = create_point(
        session,
        NewServicePoint.parse(
            {"name": "测试营业厅", "kind": "business_hall", "address": "杭州市上城区", "lat": 30.25, "lon": 120.17}
        ),
        actor=None,
        unit=world.unit_a,
    )
    record_reading(session, world.own_account, {"period": "2026-01", "reading": "0"}, actor_id=None)  # the start
    book = ReadingBook(code="A-01", name="一号抄表段", unit_id=world.unit_a.id)
    session.add(book)
    session.flush()
    world.own_account.reading_book_id, world.own_account.book_seq = book.id, 1
    held, _bill = record_reading(session, world.own_account, {"period": "2026-02", "reading": "99999"}, actor_id=None)
    assert held.status == "held"
    world.own_account.balance = Decimal("50.00")
    request_adjustment(
        session,
        world.own_account,
        RequestAdjustment.parse(
            {"kind": "refund", "amount": "10.00", "reason": "多缴", "account_no": world.own_account.account_no}
        ),
        actor=world.users["admin"],
        on=dt.date.today(),
    )
    customer, clerk = world.users["customer"], world.users["clerk"]
    faults = [
        open_ticket(
            session, customer, OpenTicket.parse({"kind": "fault_repair", "description": "停电", "lat": a, "lon": o})
        )
        for a, o in STREET
    ]
    enquiry = {"kind": "enquiry", "description": "咨询", "account_no": world.own_account.account_no}
    closed = open_ticket(session, customer, OpenTicket.parse(enquiry))
    move_ticket(session, clerk, closed, MoveTicket.parse({"to": "closed"}))
    applicant = {"name": "张伟", "phone": "13900000001", "id_last4": "1234"}
    change = {"type": "name_change", "account_no": world.own_account.account_no, "applicant": applicant}
    completed = apply(session, customer, Apply.parse({**change, "new_holder_name": "张小伟"}), id_hash_key="k")
    for step in ("acceptance", "execution"):
        complete_step(session, clerk, completed, step, DoStep.parse({"outcome": "done"}))
    increase = {**change, "type": "capacity_increase", "capacity_kva": "20"}
    application = apply(session, customer, Apply.parse(increase), id_hash_key="k")
    complete_step(session, clerk, application, "acceptance", DoStep.parse({"outcome": "done"}))
    session.commit()
    ids = {"book": book.id, "reading": held.id}
    return {
        **ids,
        "document": document,
        "finding": finding.id,
        "point": point.id,
        "ticket": faults[0].ticket_no,
        "closed": closed.ticket_no,
        "incident": faults[0].incident_id,
        "application": application.application_no,
        "completed": completed.application_no,
    }


def _send_empty(phone: Phone, form: Form) -> None:
    page = phone.page
    if form.before:
        page.click(form.before)
    target = page.locator(form.form).first
    target.evaluate(
        """form => {
            form.noValidate = true;
            for (const field of form.elements) {
                const kind = (field.type || "").toLowerCase();
                if (field.tagName === "SELECT" || field.tagName === "BUTTON") continue;  // a choice is never empty
                if (["hidden", "checkbox", "radio", "file", "submit", "button"].includes(kind)) continue;
                field.value = "";
            }
        }"""
    )
    with page.expect_navigation(wait_until="domcontentloaded"):
        target.locator(form.button).first.click()
    page.wait_for_load_state("domcontentloaded")


def _visible_text(phone: Phone) -> str:
    """The page's visible text without its technical names (``<code>``)."""
    return str(
        phone.page.evaluate(
            """() => {
                let text = document.body.innerText;
                for (const code of document.querySelectorAll("code")) text = text.split(code.innerText).join(" ");
                return text;
            }"""
        )
    )


def _test_data_words(world: Any) -> set[str]:
    """Codes and names of the test data that pages show as they are (user names, unit, tariff and rule codes)."""
    names = [u.username for u in world.users.values()] + [u.name for u in world.users.values()]
    names += [world.root.code, world.unit_a.code, world.unit_b.code, world.own_account.tariff_code, "T-TEST"]
    names += [rule.code for rule in all_rules()] + ["合同.pdf"]
    return {word for name in names for word in re.findall(r"[A-Za-z]+", name)}


def _let_the_browser_be(phone: Phone) -> None:
    """Chromium's own PDF viewer may load (chrome:// parts); the map's tile server is left out, unrecorded."""
    context = phone.page.context
    context.route(lambda url: url.startswith(("chrome://", "chrome-extension://")), lambda route: route.continue_())
    context.route(lambda url: "tile.openstreetmap.org" in url, lambda route: route.abort())


@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_an_empty_form_answers_in_chinese(phone: Phone, prepared, records, form: Form) -> None:  # type: ignore[no-untyped-def]
    _let_the_browser_be(phone)
    if form.path.startswith("/staff/archive/documents/"):
        # the document page embeds the file: Chromium's PDF viewer is heavy and this test is about the forms
        phone.page.route("**/documents/*/content", lambda route: route.fulfill(status=204))
    path = form.path.format(**records)
    phone.page.goto(phone.base + path, wait_until="domcontentloaded")
    if form.user:  # the form's own page, not the sign-in page that an unsigned phone would be sent to
        assert "login" not in phone.page.url, f"{form.name}: {form.user} is not signed in ({phone.page.url})"
    _send_empty(phone, form)
    page = phone.page
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    text = _visible_text(phone)
    english = sorted(set(re.findall(r"[A-Za-z]{3,}", text)) - TECHNICAL - prepared["words"])
    assert not english, f"{form.name}: English on the Chinese page {page.url}: {english}\n{text}"
    errors = [
        e for e in page.locator(".flash-error, .field-error, .error, [role=alert]").all_inner_texts() if e.strip()
    ]
    if form.error:
        assert errors and all(HAN.search(e) for e in errors), f"{form.name}: no error shown on {page.url}: {errors}"
    else:
        assert not errors, f"{form.name}: an empty search is not an error: {errors}"
