"""Shared helpers of the business handling tests: applying and working steps through the API, small files."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

# what each step's form records in the tests
FIELDS: dict[str, dict[str, Any]] = {
    "site_survey": {"findings": "具备供电条件"},
    "supply_plan": {
        "voltage": "10kV",
        "capacity_kva": "20",
        "source_count": 1,
        "metering": "high_supply_high_metering",
    },
    "design_review": {"result": "passed"},
    "interim_check": {"result": "passed"},
    "completion_check": {"result": "passed"},
    "contract": {"contract_no": "GY-2026-0001"},
    "connection": {"meter_no": "DB-0001", "tariff_code": "ZJ-RES-TIER"},
}
NEW = {"new_lv_residential", "new_lv_business", "new_hv_single", "new_hv_dual"}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(100, 750, "property proof")
    page.save()
    return buffer.getvalue()


def application_body(world: Any, application_type: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": application_type,
        "applicant": {"name": "张伟", "phone": "13900000001", "id_last4": "1234"},
    }
    if application_type in NEW:
        body["site"] = {"address": "杭州市延安路 9 号", "lat": 30.271, "lon": 120.161}
        body["capacity_kva"] = "8"
        body["category"] = "residential"
    else:
        body["account_no"] = world.own_account.account_no
    if application_type == "capacity_increase":
        body["capacity_kva"] = "20"
    if application_type == "capacity_reduction":
        body["capacity_kva"] = "4"
    if application_type == "category_change":
        body["category"] = "general"
    if application_type in ("name_change", "transfer"):
        body["new_holder_name"] = "张小伟"
    body.update(overrides)
    return body


def apply(client: Any, world: Any, application_type: str, role: str = "customer", **overrides: Any) -> Any:
    body = application_body(world, application_type, **overrides)
    return client.post("/api/v1/applications", json=body, headers=world.headers(role))


def do_step(
    client: Any, world: Any, number: str, step: str, outcome: str = "done", fields: dict[str, Any] | None = None
) -> Any:
    payload = {"outcome": outcome, "fields": FIELDS.get(step, {}) if fields is None else fields}
    return client.post(f"/api/v1/applications/{number}/steps/{step}", json=payload, headers=world.headers("clerk"))


def work_through(client: Any, world: Any, number: str, steps: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for step in steps:
        response = do_step(client, world, number, step)
        assert response.status_code == 200, (step, response.get_json())
        body = response.get_json()
    return body
