"""E-mail through a real SMTP server, channel preferences, quiet hours, SMS through the gateway interface."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.db import utcnow
from notifications import runtime
from notifications.delivery import quiet_until
from notifications.models import DeadLetter, Delivery, Preference
from notifications.tasks import send_deferred_deliveries
from tests.notifications.helpers import SQUARE
from tests.notifications.smtp_server import channels_with_smtp, smtp_server

WHEN = {"starts_at": "2026-12-05T08:30:00+08:00", "ends_at": "2026-12-05T17:30:00+08:00"}


def _announce(client, world, title="计划停电"):
    payload = {"title": title, "body": "线路检修，请做好准备", **WHEN, "area": SQUARE}
    response = client.post("/api/v1/notices/outages", json=payload, headers=world.headers("clerk"))
    assert response.status_code == 202, response.get_json()
    return response.get_json()["notice_id"]


def _give_email(session, world, address="zhang@example.test"):
    world.users["customer"].email = address
    session.commit()


def test_email_arrives_through_smtp_with_a_stable_message_id(app, client, world, session) -> None:
    _give_email(session, world)
    with smtp_server() as box, channels_with_smtp(app, box):
        _announce(client, world)
    [mail] = box.messages
    assert mail["Subject"] == "计划停电" and mail["To"] == "zhang@example.test"
    assert "线路检修" in mail.get_content()
    assert mail["Message-ID"].startswith("<griddesk-message-")
    assert session.scalar(select(Delivery.status).where(Delivery.channel == "email")) == "sent"


def test_refused_recipient_is_dead_lettered_at_once(app, client, world, session) -> None:
    _give_email(session, world, "nobody@example.test")
    with smtp_server() as box, channels_with_smtp(app, box):
        box.refuse.add("nobody@example.test")
        _announce(client, world)
    letter = session.scalar(select(DeadLetter))
    assert letter.channel == "email" and letter.target == "nobody@example.test"
    assert session.scalar(select(Delivery.status)) == "failed"


def test_turning_email_off_sends_no_email(app, client, world, session) -> None:
    _give_email(session, world)
    response = client.put(
        "/api/v1/me/notification-preferences", json={"email": False}, headers=world.headers("customer")
    )
    assert response.status_code == 200 and response.get_json()["email"] is False
    with smtp_server() as box, channels_with_smtp(app, box):
        _announce(client, world)
    assert box.messages == []
    inbox = client.get("/api/v1/me/notifications", headers=world.headers("customer")).get_json()
    assert inbox["total"] == 1  # the inbox is always on


def test_sms_goes_through_the_gateway_to_the_customers_phone(client, world, session) -> None:
    client.put("/api/v1/me/notification-preferences", json={"sms": True}, headers=world.headers("customer"))
    gateway = runtime.current().sms
    before = len(gateway.sent)  # type: ignore[attr-defined]
    _announce(client, world)
    phone, text = gateway.sent[before]  # type: ignore[attr-defined]
    assert phone == world.users["customer"].username and "计划停电" in text


def test_bad_preferences_report_every_field(client, world) -> None:
    response = client.put(
        "/api/v1/me/notification-preferences",
        json={"sms_phone": "call me", "quiet_hours": {"start": "25:00", "end": "07:00"}},
        headers=world.headers("customer"),
    )
    assert response.status_code == 422
    assert {"sms_phone", "quiet_hours.start"} <= set(response.get_json()["error"]["details"]["fields"])


def test_quiet_hours_wrap_midnight_in_shanghai() -> None:
    pref = Preference(quiet_start=dt.time(22, 0), quiet_end=dt.time(7, 0))
    late = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    assert quiet_until(pref, late) == dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)  # 07:00 next day
    noon = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    assert quiet_until(pref, noon) is None


def test_sms_in_quiet_hours_waits_and_goes_out_when_they_end(client, world, session) -> None:
    now_local = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8)))
    start = (now_local - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (now_local + dt.timedelta(hours=1)).strftime("%H:%M")
    client.put(
        "/api/v1/me/notification-preferences",
        json={"sms": True, "quiet_hours": {"start": start, "end": end}},
        headers=world.headers("customer"),
    )
    gateway = runtime.current().sms
    before = len(gateway.sent)  # type: ignore[attr-defined]
    _announce(client, world)
    delivery = session.scalar(select(Delivery))
    assert delivery.status == "deferred" and delivery.not_before > utcnow()
    assert len(gateway.sent) == before  # type: ignore[attr-defined]
    session.commit()  # SQLite: release the write lock before the task's own session writes
    assert send_deferred_deliveries.delay().get()["released"] == 0  # not yet
    delivery.not_before = utcnow() - dt.timedelta(seconds=1)  # the quiet hours are over
    session.commit()
    assert send_deferred_deliveries.delay().get() == {"released": 1, "sent": 1}
    assert len(gateway.sent) == before + 1  # type: ignore[attr-defined]
    session.expire_all()
    assert session.scalar(select(Delivery.status)) == "sent"


def _planned(session, world, now: dt.datetime, **preference) -> dict[str, tuple[str, dt.datetime | None]]:  # type: ignore[no-untyped-def]
    """The deliveries planned for the world's customer (with an e-mail address and a push subscription): by
    channel, their status and when they may go."""
    from notifications.delivery import plan_deliveries, store_messages
    from notifications.models import Notice, PushSubscription

    customer = world.users["customer"]
    customer.email = "zhang@example.test"
    session.add(Preference(user_id=customer.id, **preference))
    session.add(PushSubscription(user_id=customer.id, endpoint="https://push.example.test/p", p256dh="k", auth="a"))
    notice = Notice(kind="outage", title="计划停电", body="线路检修", user_ids=[customer.id])
    session.add(notice)
    session.flush()
    store_messages(session, notice.id, [customer.id])
    plan_deliveries(session, notice.id, [customer.id], now)
    session.flush()
    return {d.channel: (d.status, d.not_before) for d in session.scalars(select(Delivery))}


CHANNELS = ["email", "push", "sms"]
LATE = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
MORNING = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)  # 07:00 the next day in Shanghai


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("quiet", [True, False], ids=["in quiet hours", "outside quiet hours"])
def test_push_and_sms_wait_for_the_end_of_quiet_hours_and_email_does_not(session, world, channel, quiet) -> None:
    from notifications.models import Channel

    assert set(CHANNELS) == set(Channel)
    hours = {"quiet_start": dt.time(22, 0), "quiet_end": dt.time(7, 0)} if quiet else {}
    planned = _planned(session, world, LATE, sms=True, **hours)
    waits = quiet and channel in {"push", "sms"}
    assert planned[channel] == (("deferred", MORNING) if waits else ("pending", None))


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_channel_turned_off_gets_no_delivery_and_the_others_still_do(session, world, channel: str) -> None:
    chosen = {"push": True, "email": True, "sms": True, channel: False}
    planned = _planned(session, world, LATE, **chosen)
    assert set(planned) == set(CHANNELS) - {channel}
