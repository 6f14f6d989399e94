"""Hostile text planted in every field a page shows: names, titles, addresses, references, reasons.

The text closes a script element, opens one, adds an event handler, an SVG with onload, and a JavaScript
template-string expression: if any of it reaches a page as markup or code, a dialog opens (or the page's
Content-Security-Policy reports a blocked script).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from archive.models import ArchiveImport, SavedSearch
from archive.samples import text_pdf
from billing.invoicing.models import Invoice
from billing.models import Payment, ReadingBook
from billing.online.models import PaymentReconciliation, StatementItem
from tests.billing.support import add_tariffs, bill_with
from tests.notifications.helpers import SQUARE

HOSTILE = "停电</script><script>alert('nt')</script><img src=x onerror=alert(7)>${alert(1)}`\"'<svg onload=alert(8)>"


def hostile(label: str) -> str:
    return f"{label}{HOSTILE}"


@dataclass
class Planted:
    account_no: str
    period: str
    payment_id: int
    import_id: int
    document_id: int
    point_id: int
    notice_id: int
    message_id: int
    run_id: int
    finding_id: int
    book_id: int
    reading_id: int
    reading_import_id: int
    ticket_no: str
    follow_url: str  # a passer-by's follow-up link of a planted fault report
    incident_id: int
    order_no: str
    archive_import_id: int
    application_no: str
    invoice_query: str  # invoice_no=...&check_code=... of an invoice of a planted payment


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def plant(client: Any, session: Any, world: Any) -> Planted:
    """Every kind of record a page lists, each with hostile text where people write."""
    for role, user in world.users.items():
        user.name = hostile(role)
    world.unit_a.name = hostile("单位")
    account = world.own_account
    account.holder_name, account.address = hostile("户名"), hostile("地址")
    add_tariffs(session)
    bill_with(session, account, "2026-01", 200)
    session.commit()
    no = account.account_no

    clerk, admin = world.headers("clerk"), world.headers("admin")
    payment = {"account_no": no, "amount": "50.00", "channel": "counter", "reference": hostile("柜")[:64]}
    _ok(client.post("/api/v1/payments", json=payment, headers={**clerk, "Idempotency-Key": "hostile-1"}))
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    row = f"{no},10.00,{yesterday},bank,{hostile('银')[:60]}"
    csv = io.BytesIO(f"account_no,amount,paid_at,channel,reference\n{row}\n".encode())
    imported = _ok(
        client.post(
            "/api/v1/billing/payment-imports",
            headers=clerk,
            content_type="multipart/form-data",
            data={"file": (csv, hostile("对账") + ".csv")},
        )
    )
    adjustment = {"kind": "correction", "account_no": no, "period": "2026-01", "amount": "-1.00"}
    _ok(client.post("/api/v1/billing/adjustments", json={**adjustment, "reason": hostile("更正")}, headers=clerk))
    book = ReadingBook(code="A-01", name=hostile("抄表段"), unit_id=world.unit_a.id)
    session.add(book)
    session.flush()
    book_id = book.id
    account.reading_book_id, account.book_seq = book_id, 1
    session.commit()  # and no attribute read after it: on SQLite that would begin a transaction holding the lock
    held = {"account_no": no, "period": "2026-02", "reading": "99999"}
    reading = _ok(client.post("/api/v1/billing/readings", json=held, headers=clerk))
    assert reading["status"] == "held"
    readings = io.BytesIO(f"account_no,period,reading\n{no},2026-03,{hostile('读数')[:20]}\n".encode())
    reader_file = client.post(
        "/api/v1/billing/reading-imports",
        headers=clerk,
        content_type="multipart/form-data",
        data={"file": (readings, hostile("抄表机") + ".csv")},
    )
    reading_import = _ok(reader_file, 202)

    archivist = world.headers("archivist")
    _ok(client.post("/api/v1/archive/dossiers", json={"account_no": no}, headers=archivist))
    filing = {
        "doc_type": "power_supply_contract",
        "title": hostile("合同"),
        "formed_on": "2024-03-01",
        "responsible_unit": hostile("责任"),
        "writing_material": "print",
        "paper_size": "A4",
        "file": (io.BytesIO(text_pdf("供用电合同", "停电 合同 正文")), hostile("文件") + ".pdf"),
    }
    document = _ok(
        client.post(
            f"/api/v1/archive/dossiers/{no}/documents",
            headers=archivist,
            content_type="multipart/form-data",
            data=filing,
        )
    )

    place = {"lat": 30.2701, "lon": 120.1601, "hours": {"mon": "08:30-17:30"}, "services": ["bill_payment"]}
    hall = {"name": hostile("营业厅"), "kind": "business_hall", "address": hostile("地址"), "phone": "0571-1234"}
    point = _ok(client.post("/api/v1/admin/service-points", json={**hall, **place}, headers=admin))
    # a name with only a template-string expression: inside a JavaScript `...` string it ran by itself
    terminal = {"name": "网点${alert(1)}`+alert(2)+`", "kind": "self_service", "address": "文三路${alert(3)}"}
    _ok(client.post("/api/v1/admin/service-points", json={**terminal, "lat": 30.2702, "lon": 120.1603}, headers=admin))

    starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    when = {"starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=8)).isoformat()}
    outage = {"title": hostile("计划停电"), "body": hostile("正文"), "area": SQUARE, **when}
    notice = _ok(client.post("/api/v1/notices/outages", json=outage, headers=clerk), 202)
    inbox = _ok(client.get("/api/v1/me/notifications", headers=world.headers("customer")), 200)

    supervisor = world.headers("supervisor")
    run = _ok(client.post("/api/v1/audit/runs", json={}, headers=supervisor), 202)
    findings = _ok(client.get("/api/v1/audit/violations", headers=supervisor), 200)
    finding_id = findings["items"][0]["id"]
    assignment = {"to": "assigned", "assignee": "archivist-a", "reason": hostile("整改")}
    _ok(client.post(f"/api/v1/audit/violations/{finding_id}/transitions", json=assignment, headers=supervisor), 200)

    customer = world.headers("customer")
    complaint = {"kind": "complaint", "account_no": no, "description": hostile("投诉"), "contact_phone": "13912345678"}
    ticket = _ok(client.post("/api/v1/tickets", json=complaint, headers=customer))
    step = {"to": "contacted", "note": hostile("联系")}
    _ok(client.post(f"/api/v1/tickets/{ticket['ticket_no']}/transitions", json=step, headers=clerk), 200)
    for lat, lon in [(30.2701, 120.1601), (30.2703, 120.1602), (30.2702, 120.1604)]:
        report = {"kind": "fault_repair", "description": hostile("报修"), "lat": lat, "lon": lon}
        fault = _ok(client.post("/api/v1/tickets", json=report, headers=customer))
    passer_by = {"kind": "fault_repair", "description": hostile("路人报修"), "lat": 30.2702, "lon": 120.1603}
    followed = _ok(client.post("/api/v1/tickets", json={**passer_by, "contact_phone": "13912345678"}))
    applicant = {"name": hostile("申请人"), "phone": "13912345678", "id_last4": "1234"}
    body = {"type": "capacity_increase", "account_no": no, "applicant": applicant, "capacity_kva": "99"}
    application = _ok(client.post("/api/v1/applications", json={**body, "note": hostile("增容")}, headers=customer))
    returned = {"outcome": "returned", "fields": {"note": hostile("补充资料")}}
    application_no = application["application_no"]
    _ok(client.post(f"/api/v1/applications/{application_no}/steps/acceptance", json=returned, headers=clerk), 200)
    order = _ok(
        client.post(
            "/api/v1/payment-orders", json={"account_no": no, "provider": "alipay"}, headers=world.headers("customer")
        )
    )

    session.rollback()
    batch = ArchiveImport(
        filename=hostile("批次") + ".zip",
        sha256="0" * 64,
        unit_id=world.unit_a.id,
        status="done",
        total=1,
        done=1,
        refused=1,
        report=[
            {
                "line": 2,
                "file": hostile("文件"),
                "account_no": hostile("户号"),
                "status": "error",
                "code": "account_not_found",
                "params": {},
                "document_id": None,
            }
        ],
    )
    session.add(batch)
    admin_user = world.users["admin"]
    session.add(
        SavedSearch(
            owner_id=admin_user.id,
            unit_id=world.unit_a.id,
            name=hostile("检索")[:80],
            query=hostile("词"),
            filters={"account_no": no},
            shared=True,
        )
    )
    session.flush()
    archive_import_id = batch.id
    session.commit()
    payment_id = session.scalar(select(Payment.id).where(Payment.channel == "counter"))
    reconciliation = PaymentReconciliation(provider="alipay", day=dt.date(2026, 3, 2), missing_there=1)
    session.add(reconciliation)
    session.flush()
    session.add(
        StatementItem(reconciliation_id=reconciliation.id, provider="alipay", day=reconciliation.day,
                      kind="missing_there", order_no=hostile("订单")[:64], trade_no=hostile("交易")[:64],
                      ours=Decimal("50.00"), account_id=account.id)
    )  # fmt: skip
    session.commit()
    invoice = session.scalars(select(Invoice).order_by(Invoice.id)).first()
    assert invoice is not None, "a planted payment is invoiced"
    invoice_query = f"invoice_no={invoice.invoice_no}&check_code={invoice.check_code}"
    session.rollback()  # SQLite: every transaction holds the write lock, reads too; the live server must write
    return Planted(
        account_no=no,
        period="2026-01",
        payment_id=int(payment_id),
        import_id=imported["id"],
        document_id=document["id"],
        point_id=point["id"],
        notice_id=notice["notice_id"],
        message_id=next(item["id"] for item in inbox["items"] if item["kind"] == "outage"),
        run_id=run["run_id"],
        finding_id=finding_id,
        book_id=book_id,
        reading_id=reading["id"],
        reading_import_id=reading_import["id"],
        ticket_no=ticket["ticket_no"],
        follow_url=followed["follow_url"],
        incident_id=int(fault["incident_id"]),
        order_no=order["order_no"],
        archive_import_id=archive_import_id,
        application_no=application_no,
        invoice_query=invoice_query,
    )
