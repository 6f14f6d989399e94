"""Notification commands."""

from __future__ import annotations

from tests.support import seed_demo


def test_vapid_key_and_dead_letters_commands(app, session) -> None:
    runner = app.test_cli_runner()
    key = runner.invoke(args=["griddesk", "notifications", "vapid-public-key"])
    assert key.exit_code == 0 and len(key.output.strip()) == 87
    letters = runner.invoke(args=["griddesk", "notifications", "dead-letters"])
    assert letters.exit_code == 0 and "no dead letters" in letters.output


def test_demo_seed_puts_a_notice_in_the_demo_customers_inbox(app, client, session) -> None:
    runner = app.test_cli_runner()
    first = seed_demo(app)
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["griddesk", "seed-demo"])
    assert again.exit_code == 0 and "already there" in again.output
    token = client.post(
        "/api/v1/auth/token", json={"username": "13800000000", "password": "customer-demo-2026"}
    ).get_json()["access_token"]
    inbox = client.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}).get_json()
    outages = [item for item in inbox["items"] if item["kind"] == "outage"]  # the demo tickets' notices beside it
    assert len(outages) == 1
    nearest = client.get("/api/v1/service-points/nearest?lat=30.26&lon=120.165&limit=3").get_json()
    assert len(nearest) == 3
