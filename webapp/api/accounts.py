"""A customer's bound accounts and the account summary (staff: their unit subtree)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from billing.accounts import (
    AccountCard,
    bind_account,
    get_visible_account,
    unbind_account,
    visible_account_card,
    visible_accounts,
)
from billing.commands import BindAccount
from billing.ledger import account_position
from billing.models import Account
from core import clock
from core.db import db
from core.identity import ALL_ROLES, Role
from core.scope import Viewer

from ..config_access import id_hash_key
from ..throttle import binding_keys, guard
from . import api
from .framework import PageQuery, allow, caller, endpoint, paginate, register_viewer_resource, resolved

CUSTOMER = allow(Role.CUSTOMER)
ANY_ACCOUNT_READER = allow(*ALL_ROLES, resource="account_card")


def _resolve_account(session: Session, user: Viewer, path: dict[str, Any]) -> Account:
    return get_visible_account(session, user, str(path["account_no"]))


def _resolve_account_card(session: Session, user: Viewer, path: dict[str, Any]) -> AccountCard:
    return visible_account_card(session, user, str(path["account_no"]))


register_viewer_resource("account", _resolve_account)
# the same account and scope for the summary, read as a plain row (the hot read path makes no ORM object)
register_viewer_resource("account_card", _resolve_account_card)


def account_summary(account: Account | AccountCard) -> dict[str, Any]:
    position = account_position(db.session, account, clock.today_local())
    return {
        "account_no": account.account_no,
        "holder_name": account.holder_name,
        "address": account.address,
        "category": account.category,
        "capacity_kva": account.capacity_kva,
        "status": account.status,
        "unit": {"code": account.unit.code, "name": account.unit.name},
        "balance": position.balance,
        "arrears": position.arrears,
        "late_fee_today": position.late_fee_today,
    }


@endpoint(
    api,
    "/me/accounts",
    methods=["POST"],
    access=CUSTOMER,
    body=BindAccount,
    status=201,
    summary="Bind an account by holder name and the last 4 ID digits",
    extra_responses={422: "details do not match (also for an unknown account)", 429: "too many failures"},
)
def bind_my_account(body: BindAccount) -> Any:
    user = caller()
    attempts = guard()
    for key in binding_keys(user.id):
        attempts.check("RATELIMIT_BINDING", *key)
    try:
        account = bind_account(
            db.session, user, body.account_no, body.holder_name, body.id_last4, id_hash_key=id_hash_key()
        )
    except Exception:
        for key in binding_keys(user.id):
            attempts.failed("RATELIMIT_BINDING", *key)
        raise
    return account_summary(account)


@endpoint(api, "/me/accounts", access=CUSTOMER, query=PageQuery, summary="The caller's bound accounts")
def list_my_accounts(query: PageQuery) -> Any:
    stmt = visible_accounts(caller()).order_by(Account.account_no)
    return paginate(db.session, stmt, query, account_summary)


@endpoint(
    api,
    "/me/accounts/<account_no>",
    methods=["DELETE"],
    access=allow(Role.CUSTOMER, resource="account"),
    summary="Unbind one of the caller's accounts",
    status=204,
)
def unbind_my_account(account_no: str) -> Any:
    unbind_account(db.session, caller(), account_no)
    return "", 204


@endpoint(
    api,
    "/accounts/<account_no>",
    access=ANY_ACCOUNT_READER,
    summary="Account summary with balance, arrears and today's late fee",
)
def get_account_summary(account_no: str) -> Any:
    return account_summary(resolved())
