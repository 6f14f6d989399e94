"""The meter reader's and the reviewer's pages through the Flask test client: the reading book's sheet, the reader
file import, the review queue and review page, the meter change form; roles and scope."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.bills import record_reading
from billing.models import Account, Bill, MeterChange, MeterReading, ReadingBook
from core.identity import create_user
from tests.billing.support import add_tariffs, bill_with
from tests.support import PASSWORD, csrf_token, make_account, staff_sign_in


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def book(world, session):  # type: ignore[no-untyped-def]
    """Book A-01 in unit A: the own account (6 months of 300 kWh, last reading 1800) and a second account of A
    without readings; the foreign account (unit B) on a book of B."""
    add_tariffs(session)
    for period in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
        bill_with(session, world.own_account, period, 300)
    second = make_account(session, "1000000009", world.unit_a)
    a01 = ReadingBook(code="A-01", name="一号抄表段", unit_id=world.unit_a.id)
    b01 = ReadingBook(code="B-01", name="乙抄表段", unit_id=world.unit_b.id)
    session.add_all([a01, b01])
    session.flush()
    world.own_account.reading_book_id, world.own_account.book_seq = a01.id, 1
    second.reading_book_id, second.book_seq = a01.id, 2
    world.foreign_account.reading_book_id, world.foreign_account.book_seq = b01.id, 1
    world.extra["a01"], world.extra["b01"] = a01.id, b01.id
    session.commit()  # nothing read after it: on SQLite a read would begin a transaction holding the write lock
    return world


def _status(session, account_no: str, period: str) -> str | None:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(
        select(MeterReading.status)
        .join(Account, Account.id == MeterReading.account_id)
        .where(MeterReading.period == period, Account.account_no == account_no)
    )


def test_the_books_list_shows_the_callers_books_only(client, book) -> None:
    staff_sign_in(client, "supervisor-a")
    page = _text(client.get("/staff/billing/reading-books?period=2026-07"))
    assert "A-01" in page and "一号抄表段" in page and "B-01" not in page
    assert client.get(f"/staff/billing/reading-books/{book.extra['b01']}").status_code == 404


def test_the_sheet_lists_the_route_in_order_and_enters_each_reading(client, book, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    path = f"/staff/billing/reading-books/{book.extra['a01']}?period=2026-07"
    html = client.get(path).get_data(as_text=True)
    assert html.index("1000000001") < html.index("1000000009")  # route order
    assert html.count("data-enter-next") == 2 and "1800.00" in html  # an input each; the last reading shown
    reply = client.post(path, data={"csrf_token": token, "reading-1000000001": "2100", "reading-1000000009": "x"})
    assert reply.status_code == 422  # a row was refused
    page = _text(reply)
    assert "已录入：1 条已出账，0 条待复核，1 条被拒。" in page
    assert "读数：须为非负的累计读数" in page  # the refused row says which field and why, in Chinese
    assert _status(session, "1000000001", "2026-07") == "passed"
    assert _status(session, "1000000009", "2026-07") is None
    assert 'value="x"' in reply.get_data(as_text=True)  # the refused value stays in its field


def test_a_suspicious_reading_on_the_sheet_is_held_and_links_to_its_review(client, book, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    path = f"/staff/billing/reading-books/{book.extra['a01']}?period=2026-07"
    reply = client.post(path, data={"csrf_token": token, "reading-1000000001": "99999"})
    assert reply.status_code == 200
    page = _text(reply)
    assert "0 条已出账，1 条待复核" in page
    assert "突增：98199.00 千瓦时，超过近期月均（300.00 千瓦时）的 3 倍" in page
    assert _status(session, "1000000001", "2026-07") == "held"
    assert session.scalar(select(func.count()).select_from(Bill).where(Bill.period == "2026-07")) == 0


def test_a_supervisor_reads_the_sheet_but_enters_nothing(client, book) -> None:
    token = staff_sign_in(client, "supervisor-a")
    path = f"/staff/billing/reading-books/{book.extra['a01']}?period=2026-07"
    assert "data-enter-next" not in client.get(path).get_data(as_text=True)
    assert client.post(path, data={"csrf_token": token, "reading-1000000001": "2100"}).status_code == 403


def test_the_reader_file_enters_good_rows_and_reports_the_refused(client, book, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    rows = [
        "account_no,period,reading",
        "1000000001,2026-07,2100",  # billed
        "1000000009,2026-07,500",  # the account's first reading: a starting reading, no bill
        "2000000001,2026-07,100",  # another unit's account
        "1000000001,2026-08,abc",  # not a reading
        "1000000001,2026-07,2200",  # entered already, two lines up
    ]
    reply = client.post(
        "/staff/billing/reading-imports",
        data={"csrf_token": token, "file": (io.BytesIO("\n".join(rows).encode()), "reader.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 302  # to the file's page, which follows the import
    page = _text(client.get(reply.headers["Location"]))
    assert "100 % · 状态: 已完成" in page and "5 /5" in page
    assert "已出账: 2 · 待复核: 0 · 被拒: 3" in page
    assert "4 2000000001 2026-07 被拒 户号：户号不存在" in page  # another unit's account is unknown here
    assert "5 1000000001 2026-08 被拒 读数：须为非负的累计读数" in page
    assert "6 1000000001 2026-07 被拒 2026-07 的抄表读数已存在" in page
    assert _status(session, "1000000001", "2026-07") == "passed"
    listing = _text(client.get("/staff/billing/reading-imports"))
    assert "reader.csv" in listing


def test_a_file_without_the_header_enters_nothing(client, book, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    reply = client.post(
        "/staff/billing/reading-imports",
        data={"csrf_token": token, "file": (io.BytesIO(b"a,b\n1,2\n"), "reader.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422
    assert "表头缺少" in _text(reply)


def _held_reading(session, world, entered_by) -> int:  # type: ignore[no-untyped-def]
    reading, _bill = record_reading(
        session, world.own_account, {"period": "2026-07", "reading": "9999"}, actor_id=entered_by
    )
    assert reading.status == "held"
    session.commit()
    return reading.id


def test_the_queue_and_the_review_page_show_the_checks_and_the_usage_chart(client, book, session) -> None:
    reading_id = _held_reading(session, book, book.users["clerk"].id)
    staff_sign_in(client, "clerk-a")
    queue = _text(client.get("/staff/billing/readings/held"))
    assert "1000000001 · 2026-07 · 9999.00" in queue
    assert "突增：8199.00 千瓦时，超过近期月均（300.00 千瓦时）的 3 倍" in queue
    assert "远超居民用户的范围：8199.00 千瓦时，上限 4000.00 千瓦时" in queue
    assert "此读数由您录入，须由另一人复核。" in queue
    html = client.get(f"/staff/billing/readings/{reading_id}").get_data(as_text=True)
    assert 'class="usage-chart"' in html and "2026-06：300 kWh" in html  # the account's history beside the checks
    assert "form" in html and 'value="accept"' not in html  # the one who entered it gets no review form


def test_the_one_who_entered_it_is_refused_and_a_second_person_bills_it_once(client, book, session) -> None:
    reading_id = _held_reading(session, book, book.users["clerk"].id)
    token = staff_sign_in(client, "clerk-a")
    own = client.post(f"/staff/billing/readings/{reading_id}/review", data={"csrf_token": token, "decision": "accept"})
    assert own.status_code == 403 and "录入读数的人不能复核自己录入的读数" in _text(own)
    token = staff_sign_in(client, "admin-a")
    review = client.get(f"/staff/billing/readings/{reading_id}").get_data(as_text=True)
    assert 'value="accept"' in review and 'value="correct"' in review
    empty = client.post(
        f"/staff/billing/readings/{reading_id}/review", data={"csrf_token": token, "decision": "correct"}
    )
    assert empty.status_code == 422 and "必填" in _text(empty)
    form = {"csrf_token": token, "decision": "correct", "reading": "2110", "note": "看错一位"}
    first = client.post(f"/staff/billing/readings/{reading_id}/review", data=form)
    again = client.post(f"/staff/billing/readings/{reading_id}/review", data=form)
    assert first.status_code == 302 and again.status_code == 302  # a resubmitted form finds it reviewed alike
    session.rollback()
    bills = session.scalars(select(Bill).where(Bill.period == "2026-07")).all()
    assert [(b.kwh, b.start_reading, b.end_reading) for b in bills] == [(Decimal(310), Decimal(1800), Decimal(2110))]
    assert "没有待复核的读数。" in _text(client.get("/staff/billing/readings/held"))


def test_the_queue_shows_only_the_callers_units(client, book, session) -> None:
    for period in ("2026-01", "2026-02", "2026-03"):
        bill_with(session, book.foreign_account, period, 300)
    record_reading(session, book.foreign_account, {"period": "2026-04", "reading": "9999"}, actor_id=None)
    session.commit()
    other = create_user(session, "clerk-b", PASSWORD, "clerk", book.unit_b, name="clerk B")
    session.commit()
    staff_sign_in(client, "clerk-a")
    assert "2000000001" not in _text(client.get("/staff/billing/readings/held"))
    staff_sign_in(client, other.username)
    assert "2000000001" in _text(client.get("/staff/billing/readings/held"))


def test_the_meter_change_form_records_the_change(client, book, session) -> None:
    token = staff_sign_in(client, "clerk-a")
    path = "/staff/billing/accounts/1000000001/meter-change"
    assert "1800.00 (2026-06)" in _text(client.get(path))
    form = {
        "csrf_token": token,
        "kind": "replacement",
        "period": "2026-07",
        "changed_on": "2026-07-03",
        "old_final": "1850",
        "new_start": "0",
        "multiplier": "",
        "note": "",
    }
    empty = client.post(path, data={**form, "new_start": ""})
    assert empty.status_code == 422 and "新表起码（装表示数）：必填" in _text(empty)
    below = client.post(path, data={**form, "old_final": "1700"})
    assert below.status_code == 422 and "低于上次读数 1800.00" in _text(below)
    done = client.post(path, data=form)
    assert done.status_code == 302
    session.rollback()
    change = session.scalar(select(MeterChange))
    assert (change.old_final, change.new_start, change.multiplier) == (Decimal(1850), Decimal(0), Decimal(1))
    ledger = client.get("/staff/billing/accounts/1000000001").get_data(as_text=True)
    assert "/staff/billing/accounts/1000000001/meter-change" in ledger
    assert csrf_token(ledger)
