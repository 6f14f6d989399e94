"""Own and foreign bills for the permission matrix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.resources import Params, provider
from tests.billing.support import add_tariffs, bill_with
from tests.support import World


@provider("bill")
def _bills(world: World, session: Any) -> tuple[Params, Params]:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    bill_with(session, world.foreign_account, "2026-01", 100)
    session.commit()
    own = {"account_no": world.own_account.account_no, "period": "2026-01"}
    return own, {"account_no": world.foreign_account.account_no, "period": "2026-01"}


@provider("adjustment")
def _adjustments(world: World, session: Any) -> tuple[Params, Params]:
    from billing.adjustments import request_adjustment
    from billing.commands import RequestAdjustment

    add_tariffs(session)
    ids = []
    for account in (world.own_account, world.foreign_account):
        bill_with(session, account, "2026-01", 100)
        adj = request_adjustment(
            session,
            account,
            RequestAdjustment.parse(
                {
                    "kind": "correction",
                    "period": "2026-01",
                    "amount": "-10.00",
                    "reason": "meter misread",
                    "account_no": account.account_no,
                }
            ),
            actor=world.users["admin"],
            on=dt.date(2026, 1, 1),
        )
        ids.append(adj.id)
    session.commit()
    return {"adjustment_id": ids[0]}, {"adjustment_id": ids[1]}


@provider("payment_import")
def _imports(world: World, session: Any) -> tuple[Params, Params]:
    from billing.models import PaymentImport
    from core.identity import create_user

    other = create_user(session, "clerk-b", "correct-horse-battery", "clerk", world.unit_b, name="clerk B")
    own = PaymentImport(filename="a.csv", sha256="0" * 64, imported_by=world.users["clerk"].id, report=[])
    foreign = PaymentImport(filename="b.csv", sha256="1" * 64, imported_by=other.id, report=[])
    session.add_all([own, foreign])
    session.commit()
    return {"import_id": own.id}, {"import_id": foreign.id}


@provider("reading")
def _readings(world: World, session: Any) -> tuple[Params, Params]:
    """A held reading (9999 after 300 kWh months) on each account, entered by no one of the world's users."""
    from billing.bills import record_reading

    add_tariffs(session)
    ids = []
    for account in (world.own_account, world.foreign_account):
        for period, kwh in (("2026-01", 300), ("2026-02", 300), ("2026-03", 300)):
            bill_with(session, account, period, kwh)
        reading, _bill = record_reading(session, account, {"period": "2026-04", "reading": 9999}, actor_id=None)
        assert reading.status == "held"
        ids.append(reading.id)
    session.commit()
    return {"reading_id": ids[0]}, {"reading_id": ids[1]}


@provider("reading_import")
def _reading_imports(world: World, session: Any) -> tuple[Params, Params]:
    """A reader file imported in unit A, and one in unit B."""
    from billing.models import ReadingImport

    own = ReadingImport(filename="a.csv", sha256="0" * 64, unit_id=world.unit_a.id, rows=[], report=[])
    foreign = ReadingImport(filename="b.csv", sha256="1" * 64, unit_id=world.unit_b.id, rows=[], report=[])
    session.add_all([own, foreign])
    session.commit()
    return {"import_id": own.id}, {"import_id": foreign.id}


@provider("payment_order")
def _payment_orders(world: World, session: Any) -> tuple[Params, Params]:
    from billing.online.models import PaymentOrder
    from core.db import utcnow

    numbers = []
    for n, account in enumerate((world.own_account, world.foreign_account)):
        order_no = f"GD20260101000000{n:08d}"
        session.add(
            PaymentOrder(order_no=order_no, account_id=account.id, amount=100, provider="alipay", expires_at=utcnow())
        )
        numbers.append(order_no)
    session.commit()
    return {"order_no": numbers[0]}, {"order_no": numbers[1]}


@provider("invoice")
def _invoices(world: World, session: Any) -> tuple[Params, Params]:
    from tests.billing.test_invoicing import plant_invoice

    own = plant_invoice(session, world.own_account, "25000000000000000001")
    foreign = plant_invoice(session, world.foreign_account, "25000000000000000002")
    session.commit()
    return (
        {"account_no": world.own_account.account_no, "invoice_no": own.invoice_no},
        {"account_no": world.foreign_account.account_no, "invoice_no": foreign.invoice_no},
    )
