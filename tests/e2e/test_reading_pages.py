"""Meter reading in Chromium at 360 px, by keyboard: the book's sheet (Enter moves to the next account), the review
queue and a second person's review with the usage chart beside the checks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from billing.models import Bill, MeterReading, ReadingBook
from tests.billing.support import add_tariffs, bill_with
from tests.e2e.test_clerk_pages import _sign_in
from tests.support import make_account

pytestmark = pytest.mark.e2e


@pytest.fixture
def book_id(session, world) -> int:  # type: ignore[no-untyped-def]
    """Book A-01: the own account and 1000000009, each with six months of 300 kWh (last reading 1800)."""
    add_tariffs(session)
    second = make_account(session, "1000000009", world.unit_a)
    book = ReadingBook(code="A-01", name="一号抄表段", unit_id=world.unit_a.id)
    session.add(book)
    session.flush()
    for seq, account in enumerate((world.own_account, second), start=1):
        account.reading_book_id, account.book_seq = book.id, seq
        for month in range(1, 7):
            bill_with(session, account, f"2026-0{month}", 300)
    session.commit()
    return book.id


def test_a_clerk_reads_a_book_by_keyboard_and_a_second_person_reviews_the_held_one(
    phone, session, world, book_id
) -> None:
    _sign_in(phone, "clerk-a")
    page = phone.page
    phone.go("/staff/billing/reading-books?period=2026-07")
    page.wait_for_load_state("load")
    phone.assert_fits()
    phone.assert_labelled()
    page.click("text=A-01")
    page.wait_for_load_state("load")
    page.focus("#reading-1000000001")
    page.keyboard.type("2100")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "reading-1000000009"  # Enter moved on, sent nothing
    page.keyboard.type("99999")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter on the last account saves the sheet
    main = page.inner_text("main")
    assert "已录入：1 条已出账，1 条待复核，0 条被拒。" in main
    phone.assert_fits()
    phone.shot("reading-sheet")
    session.rollback()
    assert session.scalar(select(func.count(Bill.id)).where(Bill.period == "2026-07")) == 1
    held = session.scalar(select(MeterReading.id).where(MeterReading.status == "held"))
    session.rollback()

    _sign_in(phone, "admin-a")
    page.click("nav >> text=异常复核")
    page.wait_for_load_state("load")
    assert "1000000009 · 2026-07 · 99999.00" in page.inner_text("main")
    phone.assert_fits()
    phone.go(f"/staff/billing/readings/{held}")
    page.wait_for_load_state("load")
    assert page.locator("svg.usage-chart").count() == 1
    phone.assert_fits()
    phone.assert_labelled()
    phone.shot("reading-review")
    page.focus("#review-reading")
    page.keyboard.type("2100")
    page.focus("button[value=correct]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "读数已更正并出账。" in page.inner_text("main")
    session.rollback()
    assert session.scalar(select(func.count(Bill.id)).where(Bill.period == "2026-07")) == 2
