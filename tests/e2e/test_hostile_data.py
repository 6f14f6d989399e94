"""Every page, with hostile text planted in every field, in Chromium: no dialog opens, no script error, and the
Content-Security-Policy has nothing to block (pages run only the app's own scripts; stored text stays text)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Phone, open_phone
from tests.e2e.hostile import Planted, hostile, plant
from tests.notifications.helpers import SQUARE
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

Path_ = str | Callable[[Planted], str]
STAFF = "admin"  # admins may open every staff page
# endpoint -> (who opens it: None for anyone, "customer", or a staff role; its path)
PAGES: dict[str, tuple[str | None, Path_]] = {
    "portal.index": (None, "/"),
    "portal.sign_in": (None, "/login"),
    "portal.sign_up": (None, "/signup"),
    "portal.offline": (None, "/offline"),
    "portal.service_map": (None, "/map"),
    "portal.nearby": ("customer", "/nearby?lat=30.2700&lon=120.1600"),
    "staff.sign_in": (None, "/staff/login"),
    "portal.home": ("customer", "/home"),
    "portal.bills": ("customer", "/bills"),
    "portal.bill": ("customer", lambda p: f"/bills/{p.period}"),
    "portal.bind": ("customer", "/bind"),
    "portal.inbox": ("customer", "/inbox"),
    "portal.message": ("customer", lambda p: f"/inbox/{p.message_id}"),
    "portal.me": ("customer", "/me"),
    "portal.confirm_unbind": ("customer", lambda p: f"/accounts/{p.account_no}/unbind"),
    "portal.password": ("customer", "/password"),
    "portal.payments": ("customer", "/payments"),
    "portal.pay": ("customer", "/pay"),
    "portal.payment_order": ("customer", lambda p: f"/pay/orders/{p.order_no}"),
    "portal.invoices": ("customer", "/invoices"),
    "portal.invoice_verify": (None, lambda p: f"/invoices/verify?{p.invoice_query}"),
    "staff.dashboard": (STAFF, "/staff/"),
    "staff.accounts": (STAFF, lambda p: f"/staff/accounts?q={p.account_no}"),
    "staff.account_detail": (STAFF, lambda p: f"/staff/accounts/{p.account_no}"),
    "staff.units": (STAFF, "/staff/units"),
    "staff.users": (STAFF, "/staff/users"),
    "staff.archive_dossiers": (STAFF, "/staff/archive"),
    "staff.archive_dossier": (STAFF, lambda p: f"/staff/archive/dossiers/{p.account_no}"),
    "staff.archive_document": (STAFF, lambda p: f"/staff/archive/documents/{p.document_id}"),
    "staff.archive_search": (STAFF, "/staff/archive/search?q=合同"),
    "staff.archive_imports": (STAFF, "/staff/archive/imports"),
    "staff.archive_import": (STAFF, lambda p: f"/staff/archive/imports/{p.archive_import_id}"),
    "staff.audit_dashboard": (STAFF, "/staff/audit"),
    "staff.audit_findings": (STAFF, "/staff/audit/findings"),
    "staff.audit_finding": (STAFF, lambda p: f"/staff/audit/findings/{p.finding_id}"),
    "staff.audit_rules": (STAFF, "/staff/audit/rules"),
    "staff.audit_run": (STAFF, lambda p: f"/staff/audit/runs/{p.run_id}"),
    "staff.connection_report": (STAFF, "/staff/connection-reports"),
    "staff.billing_home": (STAFF, "/staff/billing"),
    "staff.billing_ledger": (STAFF, lambda p: f"/staff/billing/accounts/{p.account_no}"),
    "staff.billing_approvals": (STAFF, "/staff/billing/approvals"),
    "staff.billing_imports": (STAFF, "/staff/billing/imports"),
    "staff.billing_import": (STAFF, lambda p: f"/staff/billing/imports/{p.import_id}"),
    "staff.billing_reconciliations": (STAFF, "/staff/billing/reconciliations"),
    "staff.billing_reconciliation": (STAFF, "/staff/billing/reconciliations/alipay/2026-03-02"),
    "staff.billing_receipt": (STAFF, lambda p: f"/staff/billing/payments/{p.payment_id}/receipt"),
    "staff.reading_books": (STAFF, "/staff/billing/reading-books?period=2026-02"),
    "staff.reading_book": (STAFF, lambda p: f"/staff/billing/reading-books/{p.book_id}?period=2026-02"),
    "staff.reading_import": (STAFF, "/staff/billing/reading-imports"),
    "staff.reading_import_detail": (STAFF, lambda p: f"/staff/billing/reading-imports/{p.reading_import_id}"),
    "staff.reading_queue": (STAFF, "/staff/billing/readings/held"),
    "staff.reading_review": (STAFF, lambda p: f"/staff/billing/readings/{p.reading_id}"),
    "staff.meter_change": (STAFF, lambda p: f"/staff/billing/accounts/{p.account_no}/meter-change"),
    "staff.notices": (STAFF, "/staff/notices"),
    "staff.notice_detail": (STAFF, lambda p: f"/staff/notices/{p.notice_id}"),
    "staff.new_outage": (STAFF, "/staff/notices/outage"),
    "staff.service_points": (STAFF, "/staff/service-points"),
    "staff.new_service_point": (STAFF, "/staff/service-points/new"),
    "staff.edit_service_point": (STAFF, lambda p: f"/staff/service-points/{p.point_id}/edit"),
    "portal.report_fault": (None, "/repair"),
    "portal.ask": ("customer", "/service/new"),
    "portal.tickets": ("customer", "/service"),
    "portal.ticket": ("customer", lambda p: f"/service/{p.ticket_no}"),
    "portal.follow_ticket": (None, lambda p: p.follow_url),
    "staff.service_queue": (STAFF, "/staff/service"),
    "staff.service_ticket": (STAFF, lambda p: f"/staff/service/tickets/{p.ticket_no}"),
    "staff.crew_page": (STAFF, "/staff/service/crew"),
    "staff.service_incidents": (STAFF, "/staff/service/incidents"),
    "staff.service_incident": (STAFF, lambda p: f"/staff/service/incidents/{p.incident_id}"),
    "staff.repairs_map": (STAFF, "/staff/service/map"),
    "staff.service_supervision": (STAFF, "/staff/service/supervision"),
    "portal.applications": ("customer", "/applications"),
    "portal.apply": ("customer", "/applications/new?type=capacity_increase"),
    "portal.application": ("customer", lambda p: f"/applications/{p.application_no}"),
    "staff.applications_queue": (STAFF, "/staff/applications"),
    "staff.application_page": (STAFF, lambda p: f"/staff/applications/{p.application_no}"),
}
# GET endpoints that are no HTML pages
NOT_PAGES = {
    "static",
    "healthz",
    "portal.manifest",
    "portal.map_tile",
    "portal.service_worker",
    "staff.archive_document_content",
    "staff.archive_catalog_pdf",
    "staff.archive_import_progress",
    "staff.archive_search_csv",
    "staff.audit_findings_csv",
    "staff.connection_report_csv",
    "portal.ticket_photo",
    "staff.service_photo",
    "staff.service_supervision_csv",
    "staff.application_paper",
    "staff.accounts_csv",
    "staff.accounts_xlsx",
    "portal.invoice_download",
    "portal.ebill_download",
    "staff.billing_reconciliation_csv",
}
# pages that show no planted text (forms, lists of fixed things); every other page must show it, as text
WITHOUT_PLANTED_TEXT = {
    "portal.index",
    "portal.sign_in",
    "portal.sign_up",
    "portal.offline",
    "staff.sign_in",
    "portal.bills",
    "portal.bind",
    "portal.password",
    "portal.pay",  # the pay form: amounts and fixed words
    "portal.payment_order",  # an order's numbers and state
    "portal.invoices",  # invoice numbers, amounts and months
    "staff.billing_reconciliations",  # days and counts
    "staff.audit_rules",
    "staff.audit_run",
    "staff.connection_report",  # figures per type and unit
    "staff.billing_home",
    "staff.new_outage",
    "staff.new_service_point",
    "staff.edit_service_point",  # the planted name is in its inputs' values
    "portal.report_fault",
    "portal.ask",  # the planted address is in its options
    "portal.tickets",
    "staff.service_incidents",
    "portal.applications",  # types, states and dates
    "portal.apply",  # the planted address is in its options
}
BROWSER_OWN = ("chrome://", "chrome-extension://")  # the PDF viewer of a document page's frame
PLANTED_AS_TEXT = "<script>alert('nt')</script>"

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + e.blockedURI + " " + (e.sample || ""));
});
"""


def test_every_html_page_is_opened_below(app) -> None:
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.rule.startswith("/api/")
    }
    assert endpoints - NOT_PAGES == set(PAGES), "add the new page to PAGES (with hostile data it shows)"


class Visitor:
    """A phone in a fresh context that records dialogs, blocked scripts and script errors on every page."""

    def __init__(self, chromium: Any, base: str, who: str | None):
        self.phone: Phone = open_phone(chromium, base)
        self.problems: list[str] = []
        context, page = self.phone.page.context, self.phone.page
        context.add_init_script(script=WATCH)
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        if who == "customer":
            self.phone.go("/login")
            page.fill("#phone", "13900000001")
            page.fill("#password", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url("**/home")
        elif who is not None:
            self.phone.go("/staff/login")
            page.fill("input[name=username]", f"{who}-a")
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/staff/")

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"{self.phone.page.url}: a {dialog.type} dialog said {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"{self.phone.page.url}: {message.text}")

    def visit(self, endpoint: str, path: str) -> None:
        response = self.phone.go(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        self.inspect(path, shows_planted_text=endpoint not in WITHOUT_PLANTED_TEXT)

    def inspect(self, path: str, *, shows_planted_text: bool) -> None:
        """Open every popup and tooltip of a map, check the planted text shows as text, collect what was blocked."""
        page = self.phone.page
        page.wait_for_load_state("load")
        layers = page.locator(".leaflet-interactive").all()
        for layer in layers[:12]:
            layer.dispatch_event("mouseover")
            layer.dispatch_event("click")
        if shows_planted_text:
            shown = page.inner_text("body")
            if layers:
                shown += "".join(page.locator(".leaflet-popup-content, .leaflet-tooltip").all_inner_texts())
            assert PLANTED_AS_TEXT in shown, f"{path}: the planted text is not on the page"
        blocked = page.evaluate("window.__csp || []")
        self.problems += [f"{path}: Content-Security-Policy {entry}" for entry in blocked]

    def close(self) -> list[str]:
        self.phone.page.context.close()
        return (
            self.problems
            + [f"script error: {error}" for error in self.phone.errors]
            + [f"request outside the app: {url}" for url in self.phone.outside if not url.startswith(BROWSER_OWN)]
        )


def test_every_page_with_hostile_data_opens_no_dialog_and_blocks_nothing(
    app, chromium, live_server, client, session, world, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "/static/no-tiles/{z}/{x}/{y}.png")  # no tile server here
    planted = plant(client, session, world)
    problems: list[str] = []
    for who in (None, "customer", STAFF):
        visitor = Visitor(chromium, live_server, who)
        try:
            for endpoint, (visits, path) in PAGES.items():
                if visits == who:
                    visitor.visit(endpoint, path if isinstance(path, str) else path(planted))
            if who is None:
                visitor.visit("portal.service_map", "/map?lat=30.2700&lon=120.1600")  # your position, the nearest
            if who == STAFF:  # the outage form's preview draws the area with the hostile title
                page = visitor.phone.page
                visitor.phone.go("/staff/notices/outage")
                page.fill("#title", hostile("预览"))
                page.fill("#body", hostile("正文"))
                page.fill("#starts_at", "2099-12-05T08:30")
                page.fill("#ends_at", "2099-12-05T17:30")
                page.fill("#area", json.dumps(SQUARE))
                page.click("button[value=preview]")
                page.wait_for_selector(".leaflet-interactive")
                visitor.inspect("/staff/notices/outage (preview)", shows_planted_text=True)
        finally:
            problems += visitor.close()
    assert problems == []
