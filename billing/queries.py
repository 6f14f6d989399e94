"""Read-side queries of billing that the staff pages and the API list and look up, within the caller's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from billing.models import PaymentImport
from core.identity import User
from core.scope import in_scope


def visible_imports(user: User) -> Select[Any]:
    """Payment files imported by staff of the user's unit subtree."""
    return select(PaymentImport).join(User, User.id == PaymentImport.imported_by).where(in_scope(user, User.unit_id))
