"""Shared helpers of the service desk tests: opening tickets through the API, images, the customer's inbox."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

# near the world's accounts (30.27, 120.16), a few tens of metres apart
STREET = [(30.2702, 120.1601), (30.2705, 120.1603), (30.2703, 120.1606)]
FAR_AWAY = (39.9042, 116.4074)  # Beijing: far outside the world's service area


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def open_ticket(client: Any, world: Any, role: str | None = "customer", **body: Any) -> Any:
    headers = world.headers(role) if role else {}
    payload = {"kind": "complaint", "description": "抄表员态度不好", **body}
    if role == "customer" and "lat" not in payload:
        payload.setdefault("account_no", world.own_account.account_no)  # the ticket goes to the account's unit
    return client.post("/api/v1/tickets", json=payload, headers=headers)


def fault(client: Any, world: Any, lat: float, lon: float, role: str | None = None, **body: Any) -> Any:
    payload = {"kind": "fault_repair", "description": "路边电线掉落", "lat": lat, "lon": lon, **body}
    if role is None:
        payload.setdefault("contact_phone", "13912345678")
    return open_ticket(client, world, role, **payload)


def move(client: Any, world: Any, ticket_no: str, role: str = "clerk", **body: Any) -> Any:
    return client.post(f"/api/v1/tickets/{ticket_no}/transitions", json=body, headers=world.headers(role))


def inbox_titles(client: Any, world: Any, role: str = "customer") -> list[str]:
    inbox = client.get("/api/v1/me/notifications?per_page=200", headers=world.headers(role)).get_json()
    return [item["title"] for item in inbox["items"]]
