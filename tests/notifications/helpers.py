"""Test helpers for notifications: customers bound to accounts at given places."""

from __future__ import annotations

from typing import Any

from billing.accounts import bind_account
from core.identity import Role, create_user
from tests.support import PASSWORD, make_account

SQUARE = {  # around 30.27, 120.16
    "type": "Polygon",
    "coordinates": [[[120.15, 30.26], [120.17, 30.26], [120.17, 30.28], [120.15, 30.28], [120.15, 30.26]]],
}


def customer_with_account(
    session: Any, world: Any, n: int, lat: float, lon: float, unit: Any = None, email: str | None = None
):
    unit = unit or world.unit_a
    account = make_account(session, f"5{n:09d}", unit, lat=lat, lon=lon)
    user = create_user(session, f"1370000{n:04d}", PASSWORD, Role.CUSTOMER, None, name=f"客户{n}", email=email)
    bind_account(session, user, account.account_no, "张伟", "1234", id_hash_key="test-id-hash-key")
    return user, account
