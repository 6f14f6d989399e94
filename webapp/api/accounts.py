"""A customer's bound accounts and the account summary (staff: their unit subtree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, null, select, true, type_coerce, union_all
from sqlalchemy.orm import Session, joinedload

from billing.accounts import (
    ACCOUNT_CARD_WIDTH,
    AccountCard,
    account_card_of,
    account_card_seen_by,
    account_seen_by,
    bind_account,
    get_visible_account,
    unbind_account,
    visible_account_card,
    visible_accounts,
)
from billing.commands import BindAccount
from billing.ledger import BillState, account_position, bill_states_of_rows, ledger_rows_of
from billing.models import Account
from core import clock
from core.db import DriverStatement, db
from core.errors import NotFound
from core.identity import ALL_ROLES, Role, Unit, User
from core.scope import Viewer

from ..auth import IDENTITY_COLUMNS, IDENTITY_FROM, identity_of_columns, token_claims
from ..config_access import id_hash_key
from ..throttle import binding_keys, guard
from . import api
from .framework import (
    PageQuery,
    allow,
    caller,
    endpoint,
    paginate,
    register_token_resource,
    register_viewer_resource,
    resolved,
)

CUSTOMER = allow(Role.CUSTOMER)
ANY_ACCOUNT_READER = allow(*ALL_ROLES, resource="account_card")


def _resolve_account(session: Session, user: Viewer, path: dict[str, Any]) -> Account:
    return get_visible_account(session, user, str(path["account_no"]))


def _resolve_account_card(session: Session, user: Viewer, path: dict[str, Any]) -> AccountCard:
    return visible_account_card(session, user, str(path["account_no"]))


@dataclass(frozen=True, slots=True)
class CardWithLedger:
    """The summary's account read with its ledger in the statement that read the caller."""

    card: AccountCard
    states: list[BillState]


def card_and_ledger(
    source: Account | AccountCard | CardWithLedger,
) -> tuple[Account | AccountCard, list[BillState] | None]:
    """The account, and its ledger states where the caller's statement read them with it (None: read them)."""
    if isinstance(source, CardWithLedger):
        return source.card, source.states
    return source, None


def _caller_card_and_ledger() -> Any:
    """The token's user (``IDENTITY_COLUMNS``) with the card of the account numbered ``:account_no`` if that user
    may see it (nulls if not): one head row; then the card's ledger rows, one row each, with nulls where the head
    has its columns (the head's values are sent once, not with every ledger row). The head row is the one with
    the user's id; no row at all for an unknown user."""
    users, units = User.__table__, Unit.__table__
    card = account_card_seen_by(users.c.id, users.c.role, units.c.path).lateral("card")
    head = (
        select(*IDENTITY_COLUMNS, *(column.label(f"card__{column.key}") for column in card.c))
        .select_from(IDENTITY_FROM.outerjoin(card, true()))
        .where(users.c.id == bindparam("uid"))
        .cte("head")
    )
    ledger = ledger_rows_of(head.c.card__id).lateral("ledger")
    # typed for SQLAlchemy's check of the result columns, a bare NULL for PostgreSQL (a cast costs a projection)
    nulls_for = lambda columns: (type_coerce(null(), column.type).label(column.key) for column in columns)  # noqa: E731
    return union_all(
        select(*head.c, *nulls_for(ledger.c)),
        select(*nulls_for(head.c), *ledger.c).select_from(head.join(ledger, true())),
    )


_CALLER_CARD_AND_LEDGER = DriverStatement(_caller_card_and_ledger())
_IDENTITY_WIDTH = len(IDENTITY_COLUMNS)
_CARD_AT = _IDENTITY_WIDTH
_LEDGER_AT = _CARD_AT + ACCOUNT_CARD_WIDTH


def _ledger_order(row: tuple[Any, ...]) -> tuple[bool, int]:
    seq = row[-1]
    return seq is None, seq or 0  # the order ``ledger_rows_of`` rows were read in: by seq, those without last


def _account_card_by_token(session: Session, token: str, path: dict[str, Any]) -> tuple[Any, Any]:
    claims = token_claims(token)
    if claims is None:
        return None, None
    uid, version = claims
    rows = _CALLER_CARD_AND_LEDGER.rows(session, {"uid": uid, "account_no": str(path["account_no"])})
    head = next((row for row in rows if row[0] is not None), None)
    if head is None:
        return None, None
    identity = identity_of_columns(head[:_CARD_AT], version)
    if identity is None:
        return None, None

    def found() -> CardWithLedger:
        if head[_CARD_AT] is None:
            raise NotFound("account_not_found")
        card = account_card_of(head[_CARD_AT:_LEDGER_AT])
        ledger = sorted((row[_LEDGER_AT:] for row in rows if row is not head), key=_ledger_order)
        return CardWithLedger(card, bill_states_of_rows(card.id, ledger))

    return identity, found


def _caller_and_account() -> Any:
    """The token's user (``IDENTITY_COLUMNS``) and the account numbered ``:account_no`` with its unit, if that user
    may see it (else None): one statement, on every database."""
    users, units = User.__table__, Unit.__table__
    account, seen = account_seen_by(users.c.id, users.c.role, units.c.path)
    return (
        select(*IDENTITY_COLUMNS, Account)
        .select_from(IDENTITY_FROM.outerjoin(account, seen))
        .options(joinedload(Account.unit))
        .where(users.c.id == bindparam("uid"))
    )


_CALLER_AND_ACCOUNT = _caller_and_account()


def _account_by_token(session: Session, token: str, path: dict[str, Any]) -> tuple[Any, Any]:
    claims = token_claims(token)
    if claims is None:
        return None, None
    uid, version = claims
    row = session.execute(_CALLER_AND_ACCOUNT, {"uid": uid, "account_no": str(path["account_no"])}).first()
    if row is None:
        return None, None
    identity = identity_of_columns(row[:_IDENTITY_WIDTH], version)
    if identity is None:
        return None, None
    account = row[_IDENTITY_WIDTH]

    def found() -> Account:
        if account is None:
            raise NotFound("account_not_found")
        return account  # type: ignore[no-any-return]

    return identity, found


register_viewer_resource("account", _resolve_account)
for _dialect in ("postgresql", "sqlite"):
    register_token_resource("account", _account_by_token, dialect=_dialect)
# the same account and scope for the summary, read as a plain row (the hot read path makes no ORM object); with a
# bearer token, the caller, the card and its ledger are one statement
register_viewer_resource("account_card", _resolve_account_card)
register_token_resource("account_card", _account_card_by_token, dialect="postgresql")  # LATERAL


def account_summary(account: Account | AccountCard | CardWithLedger) -> dict[str, Any]:
    account, states = card_and_ledger(account)
    position = account_position(db.session, account, clock.today_local(), states=states)
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
