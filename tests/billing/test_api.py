"""The billing endpoints over HTTP: readings to bills, bill detail, payments with an Idempotency-Key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.billing.support import add_tariffs


def _setup(world, session, api) -> None:
    add_tariffs(session)
    session.commit()
    clerk = api.as_token(world.token("clerk"))
    assert (
        clerk.post(
            "/api/v1/billing/readings", {"account_no": "1000000001", "period": "2026-01", "reading": "0"}
        ).status_code
        == 201
    )
    reply = clerk.post("/api/v1/billing/readings", {"account_no": "1000000001", "period": "2026-02", "reading": "3000"})
    assert reply.status_code == 201, reply.get_json()
    # 2760 x 0.538 = 1484.88; 240 x 0.588 = 141.12; total 1626.00
    assert reply.get_json()["bill"]["amount"] == "1626.00"


def test_bill_detail_shows_the_tier_lines(world, session, api) -> None:
    _setup(world, session, api)
    customer = api.as_token(world.token("customer"))
    bill = customer.get("/api/v1/accounts/1000000001/bills/2026-02").get_json()
    assert [(line["item"], line["kwh"], line["amount"]) for line in bill["lines"]] == [
        ("tier_1", "2760.00", "1484.88"),
        ("tier_2", "240.00", "141.12"),
    ]
    readings = (bill["start_reading"], bill["end_reading"], bill["multiplier"], bill["meter_change"])
    assert readings == ("0.00", "3000.00", "1.00", None)
    listing = customer.get("/api/v1/accounts/1000000001/bills?year=2026").get_json()
    assert [(b["period"], b["amount"], b["status"]) for b in listing["items"]] == [("2026-02", "1626.00", "unpaid")]
    assert customer.get("/api/v1/accounts/1000000001/bills?year=2025").get_json()["items"] == []
    usage = customer.get("/api/v1/accounts/1000000001/usage?months=3").get_json()
    assert len(usage["series"]) == 3


def test_payment_replay_returns_the_same_payment_and_other_body_is_409(world, session, api) -> None:
    _setup(world, session, api)
    customer = api.as_token(world.token("customer"))
    body = {"account_no": "1000000001", "amount": "100.00", "channel": "app", "reference": "wx-1"}
    first = customer.post("/api/v1/payments", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.get_json()
    again = customer.post("/api/v1/payments", body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    other = customer.post("/api/v1/payments", {**body, "amount": "200.00"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    payments = customer.get("/api/v1/accounts/1000000001/payments").get_json()
    assert payments["total"] == 1
    assert payments["items"][0]["applied"][0]["period"] == "2026-02"


def test_payment_without_key_or_with_wrong_channel_is_refused(world, session, api) -> None:
    _setup(world, session, api)
    customer = api.as_token(world.token("customer"))
    body = {"account_no": "1000000001", "amount": "100.00", "channel": "app"}
    assert customer.post("/api/v1/payments", body).get_json()["error"]["code"] == "idempotency_key_required"
    wrong = customer.post("/api/v1/payments", {**body, "channel": "counter"}, headers={"Idempotency-Key": "k"})
    assert wrong.status_code == 422
    foreign = customer.post("/api/v1/payments", {**body, "account_no": "2000000001"}, headers={"Idempotency-Key": "k"})
    assert foreign.status_code == 404
    bad = customer.post(
        "/api/v1/payments", {"account_no": "1", "amount": "-1", "channel": "x"}, headers={"Idempotency-Key": "k"}
    )
    assert bad.status_code == 422
    assert {"amount", "channel"} <= set(bad.get_json()["error"]["details"]["fields"])


CHANNELS = ["app", "bank", "counter", "third_party"]
MAY_RECORD = {
    "customer": {"app"},
    "clerk": {"bank", "counter", "third_party"},
    "admin": {"bank", "counter", "third_party"},
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("role", sorted(MAY_RECORD))
def test_each_role_records_payments_in_its_channels_only(world, session, api, role: str, channel: str) -> None:
    from billing.models import Channel, Payment

    assert set(CHANNELS) == set(Channel)
    body = {"account_no": "1000000001", "amount": "10.00", "channel": channel, "reference": "R-1"}
    reply = api.as_token(world.token(role)).post("/api/v1/payments", body, headers={"Idempotency-Key": "k-1"})
    session.rollback()
    recorded = session.scalars(select(Payment.channel)).all()
    if channel in MAY_RECORD[role]:
        assert reply.status_code == 201, reply.get_json()
        assert recorded == [channel]
    else:
        assert recorded == []
        error = reply.get_json()["error"]
        if role == "customer":  # customers pay through the app
            assert (reply.status_code, set(error["details"]["fields"])) == (422, {"channel"})
        else:
            assert (reply.status_code, error["code"]) == (403, "channel_not_allowed")
