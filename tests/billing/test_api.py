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
    clerk = api.as_token(world.token("clerk"))
    body = {"account_no": "1000000001", "amount": "100.00", "channel": "bank", "reference": "ICBC-1"}
    first = clerk.post("/api/v1/payments", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.get_json()
    again = clerk.post("/api/v1/payments", body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    other = clerk.post("/api/v1/payments", {**body, "amount": "200.00"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    payments = api.as_token(world.token("customer")).get("/api/v1/accounts/1000000001/payments").get_json()
    assert payments["total"] == 1
    assert payments["items"][0]["applied"][0]["period"] == "2026-02"


def test_payment_without_key_or_for_a_foreign_account_or_malformed_is_refused(world, session, api) -> None:
    _setup(world, session, api)
    clerk = api.as_token(world.token("clerk"))
    body = {"account_no": "1000000001", "amount": "100.00", "channel": "bank", "reference": "ICBC-1"}
    assert clerk.post("/api/v1/payments", body).get_json()["error"]["code"] == "idempotency_key_required"
    foreign = clerk.post("/api/v1/payments", {**body, "account_no": "2000000001"}, headers={"Idempotency-Key": "k"})
    assert foreign.status_code == 404
    bad = clerk.post(
        "/api/v1/payments", {"account_no": "1", "amount": "-1", "channel": "x"}, headers={"Idempotency-Key": "k"}
    )
    assert bad.status_code == 422
    assert {"amount", "channel"} <= set(bad.get_json()["error"]["details"]["fields"])


def test_a_customer_cannot_credit_their_own_account(world, session, api) -> None:
    """The attack: a customer's token posting a hundred million yuan to their own account through the app channel."""
    from billing.models import Account, Payment

    _setup(world, session, api)
    customer = api.as_token(world.token("customer"))
    for channel in ("app", "counter", "bank", "third_party"):
        body = {"account_no": "1000000001", "amount": "100000000.00", "channel": channel, "reference": "x"}
        reply = customer.post("/api/v1/payments", body, headers={"Idempotency-Key": f"k-{channel}"})
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (403, "forbidden"), channel
    session.rollback()
    assert session.scalars(select(Payment)).all() == []
    account = session.scalar(select(Account).where(Account.account_no == "1000000001"))
    assert account.balance == 0


def test_a_payment_posted_by_hand_cannot_be_backdated(world, session, api) -> None:
    """Backdating dodged the late fee (3.65 became 0.00): a posted payment is paid now."""
    import datetime as dt

    from billing.models import Payment

    _setup(world, session, api)
    clerk = api.as_token(world.token("clerk"))
    now = dt.datetime.now(dt.UTC)
    body = {"account_no": "1000000001", "amount": "10.00", "channel": "bank", "reference": "B-1"}
    for past in (now - dt.timedelta(days=27), now - dt.timedelta(minutes=6)):
        reply = clerk.post("/api/v1/payments", {**body, "paid_at": past.isoformat()}, headers={"Idempotency-Key": "k"})
        assert reply.status_code == 422
        assert reply.get_json()["error"]["details"]["problems"]["paid_at"]["code"] == "backdated"
    session.rollback()
    assert session.scalars(select(Payment)).all() == []
    current = clerk.post("/api/v1/payments", {**body, "paid_at": now.isoformat()}, headers={"Idempotency-Key": "k"})
    assert current.status_code == 201, current.get_json()


CHANNELS = ["app", "bank", "counter", "third_party"]
MAY_RECORD = {
    "customer": set(),
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
        if role == "customer":  # customers record no payment at all
            assert (reply.status_code, error["code"]) == (403, "forbidden")
        else:
            assert (reply.status_code, error["code"]) == (403, "channel_not_allowed")


def test_a_reference_is_used_once_per_channel_and_unit(world, session, api) -> None:
    """Back, resubmit: receipts 4036 and 4037 were both recorded for one GT-20261207-0001."""
    from billing.models import Payment

    _setup(world, session, api)
    clerk = api.as_token(world.token("clerk"))
    body = {"account_no": "1000000001", "amount": "100.00", "channel": "counter", "reference": "GT-20261207-0001"}
    first = clerk.post("/api/v1/payments", body, headers={"Idempotency-Key": "form-1"})
    assert first.status_code == 201
    for again in (body, {**body, "amount": "90.00"}):
        reply = clerk.post("/api/v1/payments", again, headers={"Idempotency-Key": "form-2"})
        error = reply.get_json()["error"]
        assert (reply.status_code, error["code"]) == (409, "reference_used")
        assert error["details"]["payment_id"] == first.get_json()["id"]
        assert str(first.get_json()["id"]) in error["message"]
    assert clerk.post("/api/v1/payments", body, headers={"Idempotency-Key": "form-1"}).status_code == 200  # a replay
    other_channel = {**body, "channel": "bank"}
    assert clerk.post("/api/v1/payments", other_channel, headers={"Idempotency-Key": "form-3"}).status_code == 201
    session.rollback()
    assert len(session.scalars(select(Payment)).all()) == 2
