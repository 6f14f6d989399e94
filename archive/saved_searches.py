"""Saved archive searches: a name, the words and the filters, kept per user; a shared one is offered to every
user who can see the owner's unit (its unit and the units above it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core import trail
from core.commands import Command
from core.errors import Conflict, NotFound
from core.identity import User
from core.scope import in_scope

from .models import SavedSearch
from .vocabulary import DocType

FILTERS = ("doc_type", "account_no", "from", "to")


class SaveSearch(Command):
    """A search to keep under a name (saving a name again replaces what it searches)."""

    name: str = Field(min_length=1, max_length=80)
    q: str = Field("", max_length=200)
    doc_type: DocType | None = None
    account_no: str | None = Field(None, pattern=r"^\d{1,20}$")
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    shared: bool = False


def visible_saved_searches(user: User) -> Select[Any]:
    """The user's own searches and those shared in units the user may see, by name."""
    shared = SavedSearch.shared.is_(True) & in_scope(user, SavedSearch.unit_id)
    return select(SavedSearch).where(or_(SavedSearch.owner_id == user.id, shared)).order_by(SavedSearch.name)


def _filters(command: SaveSearch) -> dict[str, str]:
    filters = {
        "doc_type": str(command.doc_type) if command.doc_type else None,
        "account_no": command.account_no,
        "from": command.from_.isoformat() if command.from_ else None,
        "to": command.to.isoformat() if command.to else None,
    }
    return {k: v for k, v in filters.items() if v}


def save_search(session: Session, user: User, command: SaveSearch) -> SavedSearch:
    saved = session.scalar(select(SavedSearch).where(SavedSearch.owner_id == user.id, SavedSearch.name == command.name))
    if saved is None:
        saved = SavedSearch(owner_id=user.id, name=command.name)
        session.add(saved)
    return _store(session, user, saved, command)


def update_saved_search(session: Session, user: User, saved_id: int, command: SaveSearch) -> SavedSearch:
    """Change one of the user's saved searches (its name too; a name the user already gives another search is
    409 ``saved_search_name_taken``)."""
    saved = own_saved_search(session, user, saved_id)
    taken = session.scalar(
        select(SavedSearch.id).where(
            SavedSearch.owner_id == user.id, SavedSearch.name == command.name, SavedSearch.id != saved.id
        )
    )
    if taken is not None:
        raise Conflict("saved_search_name_taken", name=command.name)
    saved.name = command.name
    return _store(session, user, saved, command)


def own_saved_search(session: Session, user: User, saved_id: int) -> SavedSearch:
    saved = session.scalar(select(SavedSearch).where(SavedSearch.id == saved_id, SavedSearch.owner_id == user.id))
    if saved is None:
        raise NotFound("saved_search_not_found")
    return saved


def _store(session: Session, user: User, saved: SavedSearch, command: SaveSearch) -> SavedSearch:
    filters = _filters(command)
    saved.unit_id, saved.query, saved.filters, saved.shared = user.unit_id, command.q, filters, command.shared
    session.flush()
    trail.record(
        session,
        actor_id=user.id,
        action="archive.search_saved",
        entity="saved_search",
        entity_id=saved.id,
        after={"name": saved.name, "q": saved.query, "filters": filters, "shared": saved.shared},
    )
    return saved


def delete_saved_search(session: Session, user: User, saved_id: int) -> None:
    """Only its owner deletes a saved search (others see a shared one, and may save a copy under their name)."""
    saved = own_saved_search(session, user, saved_id)
    trail.record(session, actor_id=user.id, action="archive.search_deleted", entity="saved_search", entity_id=saved.id)
    session.delete(saved)


def search_args(saved: SavedSearch) -> dict[str, str]:
    """The search page's query-string arguments of a saved search."""
    return {"q": saved.query, **{k: str(v) for k, v in saved.filters.items() if k in FILTERS}}
