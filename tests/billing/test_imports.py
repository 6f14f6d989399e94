"""Payment files: a reconciliation report; a bad file imports nothing; a re-run imports nothing twice."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from billing.models import Payment
from tests.billing.support import add_tariffs, bill_with
from tests.support import make_account

HEADER = "account_no,amount,paid_at,channel,reference\n"


@pytest.fixture(autouse=True)
def _files_arrive_in_february(monkeypatch) -> None:
    """The files below date their payments in February 2026 and arrive ten days later."""
    from core import clock

    monkeypatch.setattr(clock, "now_local", lambda: dt.datetime(2026, 2, 20, 12, tzinfo=clock.zone()))


def _upload(api, world, text: str):
    clerk = api.as_token(world.token("admin"))
    data = {"file": (io.BytesIO(text.encode()), "bank.csv")}
    return clerk.client.post(
        "/api/v1/billing/payment-imports", data=data, headers=clerk._headers(None), content_type="multipart/form-data"
    )


def _count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count(Payment.id)))


def test_import_reports_each_outcome_and_a_rerun_imports_nothing(world, session, api) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)  # 107.60 due 2026-02-15
    second = make_account(session, "1000000002", world.unit_a)
    bill_with(session, second, "2026-01", 100)  # 53.80
    session.commit()
    text = HEADER + (
        "1000000001,107.60,2026-02-10T09:00:00+08:00,bank,B-1\n"
        "1000000002,50.00,2026-02-10T09:00:00+08:00,bank,B-2\n"
        "2000000001,10.00,2026-02-10T09:00:00+08:00,bank,B-3\n"
        "1000000001,107.60,2026-02-10T09:00:00+08:00,bank,B-1\n"
    )
    first = _upload(api, world, text)
    assert first.status_code == 201, first.get_json()
    report = first.get_json()
    assert report["counts"] == {"matched": 1, "unknown_account": 1, "duplicate": 1, "amount_mismatch": 1}
    assert [r["outcome"] for r in report["rows"]] == ["matched", "amount_mismatch", "unknown_account", "duplicate"]
    assert _count(session) == 2
    again = _upload(api, world, text).get_json()
    assert again["counts"] == {"matched": 0, "unknown_account": 1, "duplicate": 3, "amount_mismatch": 0}
    assert _count(session) == 2
    fetched = api.as_token(world.token("supervisor")).get(f"/api/v1/billing/payment-imports/{report['id']}")
    assert fetched.get_json()["counts"] == report["counts"]


def test_a_file_with_one_bad_row_imports_nothing(world, session, api) -> None:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 200)
    session.commit()
    text = HEADER + ("1000000001,107.60,2026-02-10T09:00:00+08:00,bank,B-1\n1000000001,abc,2026-02-10,counter,\n")
    reply = _upload(api, world, text)
    assert reply.status_code == 422
    assert list(reply.get_json()["error"]["details"]["rows"]) == ["3"]
    assert _count(session) == 0
    assert _upload(api, world, "a,b\n1,2\n").get_json()["error"]["code"] == "payment_file_invalid"


@pytest.mark.parametrize("channel", ["app", "bank", "counter", "third_party"])
def test_a_payment_file_carries_bank_and_third_party_payments_only(world, session, api, channel: str) -> None:
    from billing.models import Channel

    assert {"app", "bank", "counter", "third_party"} == set(Channel)
    reply = _upload(api, world, HEADER + f"1000000001,10.00,2026-02-10T09:00:00+08:00,{channel},F-1\n")
    session.rollback()
    if channel in {"bank", "third_party"}:
        assert reply.status_code == 201, reply.get_json()
        assert session.scalars(select(Payment.channel)).all() == [channel]
    else:
        assert reply.status_code == 422
        assert list(reply.get_json()["error"]["details"]["rows"]) == ["2"]
        assert _count(session) == 0


def test_a_file_may_date_payments_back_within_its_bound_and_records_who_imported(world, session, api) -> None:
    from billing.commands import PAYMENT_FILE_MAX_AGE_DAYS
    from core import clock

    now = clock.now_local()
    within = (now - dt.timedelta(days=PAYMENT_FILE_MAX_AGE_DAYS - 1)).isoformat()
    beyond = (now - dt.timedelta(days=PAYMENT_FILE_MAX_AGE_DAYS + 1)).isoformat()
    refused = _upload(api, world, HEADER + f"1000000001,10.00,{within},bank,W-1\n1000000001,10.00,{beyond},bank,W-2\n")
    assert refused.status_code == 422
    problems = refused.get_json()["error"]["details"]["row_problems"]
    assert list(problems) == ["3"] and problems["3"]["paid_at"]["code"] == "too_old"
    assert _count(session) == 0
    assert _upload(api, world, HEADER + f"1000000001,10.00,{within},bank,W-1\n").status_code == 201
    session.rollback()
    payment = session.scalars(select(Payment)).one()
    assert (payment.recorded_by, payment.import_id is not None) == (world.users["admin"].id, True)
