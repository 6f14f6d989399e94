"""Web Push through pywebpush to a local push service that decrypts the message like a browser would."""

from __future__ import annotations

from sqlalchemy import func, select

from notifications.models import DeadLetter, Delivery, PushSubscription
from tests.notifications.helpers import SQUARE
from tests.notifications.push_receiver import push_service

WHEN = {"starts_at": "2026-12-05T08:30:00+08:00", "ends_at": "2026-12-05T17:30:00+08:00"}


def _announce(client, world, title="计划停电"):
    payload = {"title": title, "body": "线路检修，请做好准备", **WHEN, "area": SQUARE}
    response = client.post("/api/v1/notices/outages", json=payload, headers=world.headers("clerk"))
    assert response.status_code == 202, response.get_json()
    return response.get_json()["notice_id"]


def test_subscribed_browser_receives_the_notice_encrypted_with_vapid(client, world, session) -> None:
    with push_service() as service:
        sub = service.subscribe("phone")
        created = client.post("/api/v1/me/push-subscriptions", json=sub, headers=world.headers("customer"))
        assert created.status_code == 201
        again = client.post("/api/v1/me/push-subscriptions", json=sub, headers=world.headers("customer"))
        assert again.status_code == 200  # the same browser again: updated, not doubled
        _announce(client, world)
    [received] = service.received
    assert received["payload"]["title"] == "计划停电" and received["payload"]["body"].startswith("线路检修")
    headers = received["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=") and "k=" in headers["authorization"]
    assert headers["topic"] == f"m{received['payload']['message_id']}"  # a resend replaces, never doubles
    assert int(headers["ttl"]) > 0
    assert session.scalar(select(Delivery.status)) == "sent"


def test_gone_subscription_is_dropped(client, world, session) -> None:
    with push_service() as service:
        service.status_for["old"] = 410
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("old"), headers=world.headers("customer"))
        _announce(client, world)
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    assert session.scalar(select(Delivery.status)) == "dropped"


def test_one_gone_and_one_live_subscription_delivers_once_and_drops_the_gone(client, world, session) -> None:
    with push_service() as service:
        service.status_for["old"] = 404
        for name in ("old", "new"):
            client.post(
                "/api/v1/me/push-subscriptions", json=service.subscribe(name), headers=world.headers("customer")
            )
        _announce(client, world)
    assert [r["name"] for r in service.received] == ["new"]
    assert session.scalar(select(PushSubscription.endpoint)).endswith("/new")
    assert session.scalar(select(Delivery.status)) == "sent"


def test_refused_push_is_dead_lettered(client, world, session) -> None:
    with push_service() as service:
        service.status_for["bad"] = 400
        client.post("/api/v1/me/push-subscriptions", json=service.subscribe("bad"), headers=world.headers("customer"))
        _announce(client, world)
    letter = session.scalar(select(DeadLetter))
    assert letter is not None and letter.channel == "push" and "400" in letter.error
    assert session.scalar(select(Delivery.status)) == "failed"


def test_bad_subscription_json_is_refused_with_every_field(client, world) -> None:
    response = client.post(
        "/api/v1/me/push-subscriptions",
        json={"endpoint": "ftp://x", "keys": {"p256dh": "short", "auth": ""}},
        headers=world.headers("customer"),
    )
    assert response.status_code == 422
    assert {"endpoint", "keys.p256dh", "keys.auth"} <= set(response.get_json()["error"]["details"]["fields"])


def test_unsubscribe_and_vapid_key(client, world) -> None:
    with push_service() as service:
        sub = service.subscribe("phone")
    client.post("/api/v1/me/push-subscriptions", json=sub, headers=world.headers("customer"))
    gone = client.delete("/api/v1/me/push-subscriptions", query_string={"endpoint": sub["endpoint"]},
                         headers=world.headers("customer"))  # fmt: skip
    assert gone.status_code == 204
    key = client.get("/api/v1/push/vapid-public-key").get_json()["public_key"]
    assert len(key) == 87  # 65 bytes, base64url without padding
