"""Read-side queries of billing that the staff pages and the API list and look up, within the caller's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from billing.accounts import visible_accounts
from billing.models import Account, PaymentImport
from core.identity import User
from core.scope import in_scope


def visible_imports(user: User) -> Select[Any]:
    """Payment files imported by staff of the user's unit subtree."""
    return select(PaymentImport).join(User, User.id == PaymentImport.imported_by).where(in_scope(user, User.unit_id))


def find_accounts(session: Session, user: User, q: str, limit: int = 50) -> list[Account]:
    """The account lookup: accounts in the user's scope whose number, holder or address contains ``q``."""
    stmt = visible_accounts(user)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(Account.account_no.like(like), Account.holder_name.like(like), Account.address.like(like))
        )
    return list(session.scalars(stmt.order_by(Account.account_no).limit(limit)))
