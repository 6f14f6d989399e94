"""Read-side queries of billing that the staff pages and the API list and look up, within the caller's scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from billing.accounts import visible_accounts
from billing.models import Account, PaymentImport
from core.identity import Unit, User
from core.scope import in_scope


def visible_imports(user: User) -> Select[Any]:
    """Payment files imported by staff of the user's unit subtree."""
    return select(PaymentImport).join(User, User.id == PaymentImport.imported_by).where(in_scope(user, User.unit_id))


def find_accounts(session: Session, user: User, q: str, limit: int = 50) -> list[Account]:
    """The account lookup: accounts in the user's scope whose number, holder or address contains ``q``."""
    return list(session.scalars(_matching(user, q).order_by(Account.account_no).limit(limit)))


def _matching(user: User, q: str) -> Select[Any]:
    stmt = visible_accounts(user)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(Account.account_no.like(like), Account.holder_name.like(like), Account.address.like(like))
        )
    return stmt


ACCOUNT_EXPORT_COLUMNS = (
    "account_no",
    "holder_name",
    "category",
    "capacity_kva",
    "tariff_code",
    "unit_code",
    "unit_name",
    "status",
    "address",
    "connected_on",
)


def account_export_rows(session: Session, user: User, q: str) -> Iterator[tuple[Any, ...]]:
    """Every account of the lookup (no page limit), in ``ACCOUNT_EXPORT_COLUMNS`` order, read in chunks."""
    stmt = (
        _matching(user, q)
        .join(Unit, Unit.id == Account.unit_id)
        .with_only_columns(
            Account.account_no,
            Account.holder_name,
            Account.category,
            Account.capacity_kva,
            Account.tariff_code,
            Unit.code,
            Unit.name,
            Account.status,
            Account.address,
            Account.connected_on,
        )
        .order_by(Account.account_no)
    )
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        yield tuple(row)
