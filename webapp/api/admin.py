"""Administration: units, users and accounts (admin role). These make every other flow scriptable."""

from __future__ import annotations

from typing import Any

from billing.accounts import create_account
from billing.commands import OpenAccount
from core.db import db
from core.identity import NewUnit, NewUser, Role, create_unit, create_user
from core.scope import unit_in_scope

from ..config_access import id_hash_key
from . import api
from .framework import allow, caller, endpoint

ADMIN = allow(Role.ADMIN)


@endpoint(
    api,
    "/admin/units",
    methods=["POST"],
    access=ADMIN,
    body=NewUnit,
    status=201,
    summary="Create an organisation unit under a parent",
    extra_responses={409: "code taken"},
)
def create_org_unit(body: NewUnit) -> Any:
    admin = caller()
    own = admin.unit.code if admin.unit else None
    parent = unit_in_scope(db.session, admin, body.parent_code or own, "parent_code")
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
    body=NewUser,
    status=201,
    summary="Create a user with a role in a unit",
    extra_responses={409: "username taken"},
)
def create_staff_user(body: NewUser) -> Any:
    unit = unit_in_scope(db.session, caller(), body.unit_code, "unit_code")
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
    body=OpenAccount,
    status=201,
    summary="Create a power account (户)",
    extra_responses={409: "account exists"},
)
def create_power_account(body: OpenAccount) -> Any:
    unit_in_scope(db.session, caller(), body.unit_code, "unit_code")
    account = create_account(db.session, body, id_hash_key=id_hash_key(), actor=caller())
    return {
        "account_no": account.account_no,
        "holder_name": account.holder_name,
        "unit_code": body.unit_code,
        "category": account.category,
        "capacity_kva": account.capacity_kva,
        "status": account.status,
    }
