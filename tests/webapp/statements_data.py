"""Bills and payments for the portal's statement pages, with amounts that can be checked by hand.

The customer 13900000001 (world.own_account 1000000001, residential, Zhejiang annual tiers 2,760 / 4,800 kWh
at ¥0.538 / ¥0.588 / ¥0.838) gets:

- 2025-12: 100 kWh, all tier 1: 100 x 0.538 = ¥53.80 (due 2026-01-15)
- 2026-01: 2,000 kWh, tier 1: ¥1,076.00 (due 2026-02-15)
- 2026-02: 1,000 kWh crossing 2,760: 760 x 0.538 = ¥408.88 + 240 x 0.588 = ¥141.12 = ¥550.00 (due 2026-03-15)
  so 2026 stands at 3,000 kWh: tier 1 used 2,760 of 2,760, tier 2 used 240 of 2,040.

- payment 2026-01-10 counter C-0001 ¥1,000.00: 2025-12 principal ¥53.80, 2026-01 principal ¥946.20.
- payment 2026-03-20 bank B-0002 ¥700.00: 2026-01 late fee ¥4.28 (¥129.80 x 1‰ x 33 days) and principal
  ¥129.80; 2026-02 late fee ¥2.75 (¥550.00 x 1‰ x 5 days) and principal ¥550.00; ¥13.17 kept as balance.

A second bound account 1000000002 (time-of-use) has one bill 2026-10: peak 100 x 1.0824 = ¥108.24,
flat 200 x 0.6544 = ¥130.88, valley 300 x 0.3064 = ¥91.92, total ¥331.04. A third bound account
1000000003 has no bills. The foreign account 2000000001 (not bound) has a bill for 2026-01.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.accounts import bind_account
from billing.bills import record_reading
from billing.models import Payment
from billing.payments import record_payment, request_hash
from core import clock
from tests.billing.support import add_tariffs, bill_with
from tests.support import make_account

# The pages compute "today" in local time (the usage chart ends at the current month, late fees run to today):
# the tests see them on one fixed day so that they do not age.
TODAY = dt.date(2026, 11, 20)


def fix_today(monkeypatch: Any) -> None:
    monkeypatch.setattr(clock, "today_local", lambda: TODAY)


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _pay(session: Any, account: Any, amount: str, day: dt.date, channel: str, reference: str) -> Payment:
    fields = {
        "account_no": account.account_no,
        "amount": Decimal(amount),
        "channel": channel,
        "paid_at": dt.datetime.combine(day, dt.time(10, 30), tzinfo=SHANGHAI),
        "reference": reference,
    }
    return record_payment(
        session, account, fields, idempotency_key=reference, digest=request_hash(fields, True), actor_id=None
    )[0]


def add_statements(session: Any, world: Any) -> dict[str, Any]:
    add_tariffs(session)
    own = world.own_account
    bill_with(session, own, "2025-12", 100)
    bill_with(session, own, "2026-01", 2000)
    bill_with(session, own, "2026-02", 1000)
    _pay(session, own, "1000.00", dt.date(2026, 1, 10), "counter", "C-0001")
    _pay(session, own, "700.00", dt.date(2026, 3, 20), "bank", "B-0002")

    tou = make_account(session, "1000000002", world.unit_a, category="large_industrial", tariff_code="ZJ-LI-TOU")
    zero = {"peak": Decimal(0), "flat": Decimal(0), "valley": Decimal(0)}
    record_reading(session, tou, {"period": "2026-09", **zero}, actor_id=None)
    bands = {"peak": Decimal(100), "flat": Decimal(200), "valley": Decimal(300)}
    record_reading(session, tou, {"period": "2026-10", **bands}, actor_id=None, on=dt.date(2026, 11, 1))
    empty = make_account(session, "1000000003", world.unit_a)
    customer = world.users["customer"]
    for account in (tou, empty):
        bind_account(session, customer, account.account_no, "张伟", "1234", id_hash_key="test-id-hash-key")
    bill_with(session, world.foreign_account, "2026-01", 500)
    session.commit()
    return {"own": own, "tou": tou, "empty": empty}
