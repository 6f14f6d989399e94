"""Administration: units, users and accounts (admin role). These make every other flow scriptable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from billing.accounts import create_account
from core.db import db
from core.errors import NotFound, Problem
from core.identity import Role, create_unit, create_user, unit_by_code

from ..config_access import id_hash_key
from . import api
from .framework import ApiModel, allow, caller, endpoint

ADMIN = allow(Role.ADMIN)


class UnitIn(ApiModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    parent_code: str | None = None


class UserIn(ApiModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: Literal["customer", "archivist", "clerk", "supervisor", "admin"]
    unit_code: str | None = None
    name: str = ""
    email: str | None = None


class AccountIn(ApiModel):
    account_no: str = Field(pattern=r"^\d{1,20}$")
    holder_name: str = Field(min_length=1, max_length=128)
    id_last4: str = Field(pattern=r"^[0-9Xx]{4}$")
    address: str = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    category: Literal["residential", "general", "large_industrial", "agricultural"]
    capacity_kva: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    tariff_code: str = Field(min_length=1, max_length=32)
    unit_code: str
    connected_on: dt.date | None = None
    meter_multiplier: Decimal | None = Field(None, gt=0, max_digits=10, decimal_places=2)


def _unit_in_scope(code: str | None, field: str) -> Any:
    """Admins act within their own unit subtree; an outside unit is reported as unknown."""
    if code is None:
        return None
    unit = unit_by_code(db.session, code)
    admin_unit = caller().unit
    if unit is None or admin_unit is None or not admin_unit.contains(unit):
        raise NotFound.fields({field: Problem("unknown_unit")}, "unit_not_found")
    return unit


@endpoint(
    api,
    "/admin/units",
    methods=["POST"],
    access=ADMIN,
    body=UnitIn,
    status=201,
    summary="Create an organisation unit under a parent",
    extra_responses={409: "code taken"},
)
def create_org_unit(body: UnitIn) -> Any:
    own_unit = caller().unit
    parent = _unit_in_scope(body.parent_code or (own_unit.code if own_unit else None), "parent_code")
    unit = create_unit(db.session, body.code, body.name, parent.code if parent else None)
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "parent_code": parent.code if parent else None,
    }


@endpoint(
    api,
    "/admin/users",
    methods=["POST"],
    access=ADMIN,
    body=UserIn,
    status=201,
    summary="Create a user with a role in a unit",
    extra_responses={409: "username taken"},
)
def create_staff_user(body: UserIn) -> Any:
    unit = _unit_in_scope(body.unit_code, "unit_code")
    user = create_user(db.session, body.username, body.password, body.role, unit, name=body.name, email=body.email)
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "unit_code": unit.code if unit else None,
    }


@endpoint(
    api,
    "/admin/accounts",
    methods=["POST"],
    access=ADMIN,
    body=AccountIn,
    status=201,
    summary="Create a power account (户)",
    extra_responses={409: "account exists"},
)
def create_power_account(body: AccountIn) -> Any:
    _unit_in_scope(body.unit_code, "unit_code")
    account = create_account(db.session, body.model_dump(), id_hash_key=id_hash_key(), actor=caller())
    return {
        "account_no": account.account_no,
        "holder_name": account.holder_name,
        "unit_code": body.unit_code,
        "category": account.category,
        "capacity_kva": account.capacity_kva,
        "status": account.status,
    }
