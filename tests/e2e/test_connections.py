"""Business handling in headless Chromium at 360 px: the customer applies for a capacity increase on a phone with a
photo of the property proof, the clerk works it step by step on the staff pages to connection, the account shows
the new capacity and its dossier holds each step's sheet in the order of the work, pages numbered on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from billing.models import Account
from tests.connections.helpers import png_bytes
from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

STEPS = ["acceptance", "site_survey", "supply_plan", "completion_check", "contract", "connection"]
STEP_INPUT = {
    "site_survey": {"#f-findings": "现场具备增容条件"},
    "supply_plan": {"#f-capacity_kva": "20", "#f-source_count": "1"},
    "contract": {"#f-contract_no": "GY-2026-0099"},
    "connection": {"#f-meter_no": "DB-2026-0099"},
}


def _customer(phone: Phone) -> None:
    phone.go("/login")
    phone.page.fill("#phone", "13900000001")
    phone.page.fill("#password", PASSWORD)
    phone.page.click("form button[type=submit]")
    phone.page.wait_for_url("**/home")


def _clerk(phone: Phone) -> None:
    phone.go("/staff/login")
    phone.page.fill("input[name=username]", "clerk-a")
    phone.page.fill("input[name=password]", PASSWORD)
    phone.page.keyboard.press("Enter")
    phone.page.wait_for_url(f"{phone.base}/staff/")


def test_a_capacity_increase_from_the_phone_to_connection_and_into_the_dossier(
    chromium: Any, live_server: str, session: Any, world: Any, tmp_path: Any
) -> None:
    from archive.services import catalog, dossier_for

    customer = open_phone(chromium, live_server)
    page = customer.page
    _customer(customer)
    page.get_by_role("link", name="申请新装或变更用电").click()
    page.get_by_role("link", name="增容").click()
    page.wait_for_load_state("load")
    customer.assert_fits()
    customer.assert_labelled()
    page.fill("#applicant_name", "张伟")
    page.fill("#id_last4", "1234")
    page.fill("#capacity_kva", "20")
    proof = tmp_path / "proof.png"
    proof.write_bytes(png_bytes())
    page.set_input_files("#property_proof", str(proof))
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/applications/YK*")
    number = page.url.rsplit("/", 1)[-1]
    expect(page.locator("[data-status]")).to_have_text("办理中")
    assert page.locator("[data-step]").evaluate_all("items => items.map(i => i.dataset.step)") == STEPS
    customer.assert_fits()

    clerk = open_phone(chromium, live_server, width=1280)
    _clerk(clerk)
    clerk.go("/staff/applications")
    clerk.page.get_by_role("link", name=number).click()
    for step in STEPS:
        form = clerk.page.locator("form[action$='/step']")
        expect(form.locator("input[name=step]")).to_have_value(step)
        for selector, value in STEP_INPUT.get(step, {}).items():
            clerk.page.fill(selector, value)
        form.get_by_role("button", name="本环节完成").click()
        expect(clerk.page.locator(f"[data-step={step}]")).to_have_attribute("data-state", "done")
    expect(clerk.page.locator("[data-status]")).to_have_text("已办结")

    page.reload()
    expect(page.locator("[data-status]")).to_have_text("已办结")
    assert page.locator("[data-step]").evaluate_all("items => items.map(i => i.dataset.state)") == ["done"] * 6
    customer.assert_fits()
    assert customer.errors == [] and clerk.errors == []

    session.expire_all()
    account = session.scalar(select(Account).where(Account.account_no == world.own_account.account_no))
    assert account.capacity_kva == Decimal(20)
    dossier = dossier_for(session, account.account_no)
    assert dossier is not None
    entries = [e for e in catalog(dossier) if (e.document.document_no or "").startswith(number)]
    assert [e.document.document_no for e in entries if "-U" not in e.document.document_no] == [
        f"{number}-{n:02d}" for n in range(1, len(STEPS) + 1)
    ]
    pages = [(e.page_from, e.page_to) for e in catalog(dossier)]
    assert pages[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(pages, pages[1:], strict=False))
    session.rollback()
