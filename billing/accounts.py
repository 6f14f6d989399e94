"""Accounts: creation, customer binding, and who may see which account."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlalchemy.orm import Session, aliased, join, joinedload

from billing.commands import OpenAccount
from billing.models import Account, AccountStatus
from core import trail
from core.errors import Conflict, InvalidInput, NotFound, Problem
from core.identity import AccountBinding, Unit, User, unit_by_code
from core.scope import Viewer, account_in_scope, account_in_scope_of, account_in_scope_of_columns, account_scope
from core.security import constant_time_equal, keyed_hash


def create_account(
    session: Session, data: OpenAccount | Mapping[str, Any], *, id_hash_key: str, actor: User | None
) -> Account:
    """Open an account (``data`` is parsed as ``OpenAccount`` when given as a mapping)."""
    command = data if isinstance(data, OpenAccount) else OpenAccount.parse(data)
    unit = unit_by_code(session, command.unit_code)
    if unit is None:
        raise InvalidInput.fields({"unit_code": Problem("unknown_unit")})
    account_no = command.account_no
    if session.scalar(select(Account.id).where(Account.account_no == account_no)) is not None:
        raise Conflict("account_exists", account_no=account_no)
    account = Account(
        account_no=account_no,
        holder_name=command.holder_name,
        id_last4_hash=keyed_hash(id_hash_key, command.id_last4),
        address=command.address,
        lat=command.lat,
        lon=command.lon,
        category=str(command.category),
        capacity_kva=command.capacity_kva,
        tariff_code=command.tariff_code,
        unit=unit,
        connected_on=command.connected_on,
        status=AccountStatus.ACTIVE,
    )
    if command.meter_multiplier is not None:
        account.meter_multiplier = command.meter_multiplier
    session.add(account)
    session.flush()
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action="account.created",
        entity="account",
        entity_id=account.account_no,
        after=account_snapshot(account),
    )
    return account


def account_snapshot(account: Account) -> dict[str, Any]:
    return {
        "account_no": account.account_no,
        "holder_name": account.holder_name,
        "address": account.address,
        "category": account.category,
        "capacity_kva": account.capacity_kva,
        "tariff_code": account.tariff_code,
        "unit_id": account.unit_id,
        "status": account.status,
        "connected_on": account.connected_on,
    }


def visible_accounts(user: Viewer) -> Select[Any]:
    """Accounts the user may see: staff their unit subtree, customers their bindings."""
    return select(Account).where(account_in_scope(user, Account.id))


def get_visible_account(session: Session, user: Viewer, account_no: str) -> Account:
    """The account if the user may see it; NotFound otherwise (never reveal that it exists)."""
    scope = account_scope(user)
    if scope is None:
        raise NotFound("account_not_found")
    kind, params = scope
    account: Account | None = session.scalar(_visible_account_query(kind), {**params, "account_no": account_no})
    if account is None:
        raise NotFound("account_not_found")
    return account


@functools.cache
def _visible_account_query(scope_kind: str) -> Select[Any]:
    """The account by number, with its unit, within a scope of this kind (built once per kind)."""
    return (
        select(Account)
        .options(joinedload(Account.unit))
        .where(Account.account_no == bindparam("account_no"), account_in_scope_of(scope_kind, Account.id))
    )


@dataclass(frozen=True, slots=True)
class CardUnit:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class AccountCard:
    """What the account summary shows of one account, read as one plain row: the read path builds no ORM
    object. ``id`` and ``balance`` are what ``account_position`` reads."""

    id: int
    account_no: str
    holder_name: str
    address: str
    category: str
    capacity_kva: Decimal
    status: str
    balance: Decimal
    unit: CardUnit


def visible_account_card(session: Session, user: Viewer, account_no: str) -> AccountCard:
    """``get_visible_account`` as an ``AccountCard``: the same scope, the same NotFound, one plain row."""
    scope = account_scope(user)
    if scope is None:
        raise NotFound("account_not_found")
    kind, params = scope
    row = session.execute(_visible_card_query(kind), {**params, "account_no": account_no}).first()
    if row is None:
        raise NotFound("account_not_found")
    return account_card_of(row)


def account_card_of(values: Any) -> AccountCard:
    """The card of a row of the card's columns (``_card_columns`` order)."""
    id_, number, holder, address, category, capacity, status, balance, unit_code, unit_name = values
    return AccountCard(
        id_, number, holder, address, category, capacity, status, balance, CardUnit(unit_code, unit_name)
    )


_CARD_UNIT = aliased(Unit, name="card_unit")


def _card_columns() -> Any:
    """The card's columns of the account numbered ``:account_no`` and its unit's code and name."""
    return (
        select(
            Account.id,
            Account.account_no,
            Account.holder_name,
            Account.address,
            Account.category,
            Account.capacity_kva,
            Account.status,
            Account.balance,
            _CARD_UNIT.code,
            _CARD_UNIT.name,
        )
        .join(_CARD_UNIT, _CARD_UNIT.id == Account.unit_id)
        .where(Account.account_no == bindparam("account_no"))
    )


# how many columns a card is (``account_card_of`` reads them in this order)
ACCOUNT_CARD_WIDTH = len(_card_columns().selected_columns)


@functools.cache
def _visible_card_query(scope_kind: str) -> Any:
    """The card of the account by number within a scope of this kind."""
    return _card_columns().where(account_in_scope_of(scope_kind, Account.id))


def account_seen_by(viewer_id: Any, viewer_role: Any, viewer_unit_path: Any) -> tuple[Any, ColumnElement[bool]]:
    """The account joined with its unit, and the condition that it is the one numbered ``:account_no`` and that a
    viewer who is columns of an enclosing statement may see it: to outer-join from the viewer's row (the caller and
    the ORM account in one statement)."""
    account_unit = aliased(Unit, name="account_unit")
    seen = account_in_scope_of_columns(viewer_id, viewer_role, viewer_unit_path, Account.id, account_unit.path)
    account = join(Account, account_unit, account_unit.id == Account.unit_id)
    return account, and_(Account.account_no == bindparam("account_no"), seen)


def account_card_seen_by(viewer_id: Any, viewer_role: Any, viewer_unit_path: Any) -> Select[Any]:
    """The card of the account numbered ``:account_no`` if a viewer who is columns of an enclosing statement (a
    user row and its unit) may see it: the caller and the card in one round trip."""
    return _card_columns().where(
        account_in_scope_of_columns(viewer_id, viewer_role, viewer_unit_path, Account.id, _CARD_UNIT.path)
    )


def get_account(session: Session, account_no: str) -> Account:
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    if account is None:
        raise NotFound("account_not_found")
    return account


def bind_account(
    session: Session, user: User, account_no: str, holder_name: str, id_last4: str, *, id_hash_key: str
) -> Account:
    """Bind an account to a customer who proves holder name and ID digits.

    The same error answers an unknown account and wrong details, so the answer reveals nothing.
    """
    account = session.scalar(select(Account).where(Account.account_no == str(account_no).strip()))
    expected_hash = account.id_last4_hash if account else keyed_hash(id_hash_key, "0000")
    given_hash = keyed_hash(id_hash_key, str(id_last4))
    name_ok = account is not None and account.holder_name == str(holder_name).strip()
    if not (constant_time_equal(expected_hash, given_hash) and name_ok and account is not None):
        raise InvalidInput("binding_mismatch")
    existing = session.scalar(
        select(AccountBinding).where(AccountBinding.user_id == user.id, AccountBinding.account_id == account.id)
    )
    if existing is None:
        session.add(AccountBinding(user_id=user.id, account_id=account.id))
        session.flush()
        trail.record(
            session,
            actor_id=user.id,
            action="account.bound",
            entity="account",
            entity_id=account.account_no,
            after={"user_id": user.id},
        )
    return account


def unbind_account(session: Session, user: User, account_no: str) -> None:
    binding = session.scalar(
        select(AccountBinding).join(Account).where(AccountBinding.user_id == user.id, Account.account_no == account_no)
    )
    if binding is None:
        raise NotFound("account_not_found")
    session.delete(binding)
    trail.record(
        session,
        actor_id=user.id,
        action="account.unbound",
        entity="account",
        entity_id=account_no,
        before={"user_id": user.id},
    )
    session.flush()
