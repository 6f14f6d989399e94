"""Web Push through pywebpush to a local push service that decrypts the message like a browser would."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from notifications import build_channels, push_targets, runtime
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


@pytest.fixture
def no_local_push_service(app, monkeypatch):  # type: ignore[no-untyped-def]
    """The channels as production builds them: no PUSH_ALLOWED_LOCAL_HOSTS (the suite exempts 127.0.0.1)."""
    channels, _vapid = build_channels({**app.config, "PUSH_ALLOWED_LOCAL_HOSTS": ""})
    monkeypatch.setattr(runtime, "CHANNELS", channels)


@pytest.mark.parametrize(
    "endpoint", ["https://169.254.169.254/latest/meta-data/", "https://[::1]:8443/push", "https://localhost/push"]
)
def test_subscribing_a_local_or_private_endpoint_is_refused_with_a_code(
    endpoint, no_local_push_service, client, world, session
) -> None:
    with push_service() as service:
        for candidate in (endpoint, service.subscribe("phone")["endpoint"]):
            sub = {**service.subscribe("phone"), "endpoint": candidate}
            response = client.post("/api/v1/me/push-subscriptions", json=sub, headers=world.headers("customer"))
            assert response.status_code == 422, candidate
            error = response.get_json()["error"]
            assert error["code"] == "push_endpoint_not_allowed" and "endpoint" in error["details"]["fields"]
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def _stored_subscription(session, world, endpoint: str, keys: dict[str, str]) -> None:
    """A subscription already in the table (stored before these checks, or its name resolved elsewhere then)."""
    user = world.users["customer"]
    session.add(PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"]))
    session.commit()


def test_the_worker_never_posts_to_a_local_endpoint_already_stored(
    no_local_push_service, client, world, session
) -> None:
    with push_service() as service:
        sub = service.subscribe("phone")
        _stored_subscription(session, world, sub["endpoint"], sub["keys"])
        _announce(client, world)
    assert service.received == []
    session.rollback()
    assert session.scalar(select(Delivery.status)) == "failed"
    assert "not allowed" in session.scalar(select(DeadLetter.error))


def test_a_name_that_now_resolves_to_a_private_address_is_not_contacted(
    no_local_push_service, monkeypatch, client, world, session
) -> None:
    monkeypatch.setattr(push_targets, "resolve", lambda host, port: ["10.20.30.40"])
    with push_service() as service:
        _stored_subscription(session, world, "https://push.rebound.test/send/abc", service.subscribe("p")["keys"])
    _announce(client, world)
    session.rollback()
    assert session.scalar(select(Delivery.status)) == "failed"
    assert "non-public address (10.20.30.40)" in session.scalar(select(DeadLetter.error))
