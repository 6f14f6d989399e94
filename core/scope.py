"""Who may see what: the one rule every list, search, export and lookup applies.

Staff see their own unit and every unit below it (a unit's ``path`` is its chain of ids, ``/1/4/9/``, so a subtree
is a path prefix) and whatever belongs to those units; customers see the accounts bound to them and no unit;
nobody else sees anything. A query filters with ``in_scope`` (a unit id column) or ``account_in_scope`` (an account
id column); one loaded unit is checked with ``can_see_unit``. Nothing outside this module compares unit paths.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, bindparam, column, false, or_, select, table
from sqlalchemy.orm import Session, aliased

from core.errors import NotFound, Problem
from core.identity import STAFF_ROLES, AccountBinding, Role, Unit, User


class ViewerUnit(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def parent_id(self) -> int | None: ...


class Viewer(Protocol):
    """What the rule reads of whoever is asking: a ``User`` or the API's lightweight ``Principal`` alike."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...

    @property
    def is_staff(self) -> bool: ...

    @property
    def unit(self) -> ViewerUnit | None: ...


# The account is every domain's join key; its model is billing's. The rule reads two columns of its table.
_accounts = table("accounts", column("id"), column("unit_id"))
# The units of a subtree, as a subquery of their own (made once: building an alias costs more than the query).
_SUBTREE_UNITS = aliased(Unit)


def scope_path(user: Viewer) -> str | None:
    """The unit path prefix the user sees (staff with a unit); None when the user sees no unit (customers)."""
    if not user.is_staff or user.unit is None:
        return None
    return user.unit.path


def sees_everything(user: Viewer) -> bool:
    """Staff of the root unit: every unit is in their scope, and so are records tied to no unit at all."""
    return user.is_staff and user.unit is not None and user.unit.parent_id is None


def under(unit_path: Any, unit_id_column: Any) -> ColumnElement[bool]:
    """Rows whose unit is the unit at ``unit_path`` or one below it (a null unit is in no subtree)."""
    subtree = select(_SUBTREE_UNITS.id).where(_SUBTREE_UNITS.path.startswith(unit_path)).correlate(None)
    result: ColumnElement[bool] = unit_id_column.in_(subtree)
    return result


def of_unit(unit_id: int | None, unit_id_column: Any) -> ColumnElement[bool]:
    """Rows of exactly this unit, not its subtree: for a rule that holds per unit (a receipt number is used once
    per unit), never for what someone may see."""
    return unit_id_column == unit_id  # type: ignore[no-any-return]


def in_scope(user: Viewer, unit_id_column: Any) -> ColumnElement[bool]:
    """Rows whose unit the user may see: for staff their unit subtree, for anyone else none."""
    path = scope_path(user)
    return false() if path is None else under(path, unit_id_column)


def account_in_scope(user: Viewer, account_id_column: Any) -> ColumnElement[bool]:
    """Rows whose account the user may see: customers the accounts bound to them, staff the accounts of their
    unit subtree, anyone else none."""
    if user.role == Role.CUSTOMER:
        return _bound_to(user.id, account_id_column)
    path = scope_path(user)
    if path is None:
        return false()
    return _in_subtree(path, account_id_column)


def account_scope(user: Viewer) -> tuple[str, dict[str, Any]] | None:
    """The kind of the user's account scope (``customer`` or ``staff``) and the values a statement built once with
    ``account_in_scope_of(kind, column)`` is executed with; None for a user who sees no account."""
    if user.role == Role.CUSTOMER:
        return "customer", {"scope_user_id": user.id}
    path = scope_path(user)
    return None if path is None else ("staff", {"scope_path": path})


def account_in_scope_of(kind: str, account_id_column: Any) -> ColumnElement[bool]:
    """``account_in_scope`` with the user's values left as parameters, for a statement built once per kind and
    executed with the values ``account_scope`` gives (building the statement costs more than running it)."""
    if kind == "customer":
        return _bound_to(bindparam("scope_user_id"), account_id_column)
    return _in_subtree(bindparam("scope_path"), account_id_column)


def account_in_scope_of_columns(
    viewer_id: Any, viewer_role: Any, viewer_unit_path: Any, account_id_column: Any, account_unit_path: Any
) -> ColumnElement[bool]:
    """``account_in_scope`` for a viewer who is columns of the same statement (a user row joined with its unit),
    not values: one statement can then read the caller and what the caller may see. ``account_unit_path`` is
    the path of the account's unit, joined by the statement."""
    customer = and_(viewer_role == Role.CUSTOMER.value, _bound_to(viewer_id, account_id_column, correlated=True))
    staff = and_(
        or_(*(viewer_role == role.value for role in sorted(STAFF_ROLES))),
        viewer_unit_path.is_not(None),
        unit_path_covers(viewer_unit_path, account_unit_path),
    )
    return or_(customer, staff)


def _bound_to(user_id: Any, account_id_column: Any, *, correlated: bool = False) -> ColumnElement[bool]:
    bound = select(AccountBinding.account_id).where(AccountBinding.user_id == user_id)
    bound = bound.correlate_except(AccountBinding) if correlated else bound.correlate(None)
    result: ColumnElement[bool] = account_id_column.in_(bound)
    return result


def _in_subtree(path: Any, account_id_column: Any) -> ColumnElement[bool]:
    own_unit = _own_unit_column(account_id_column)
    if own_unit is not None:
        return under(path, own_unit)
    accounts = _accounts.alias()
    owned = select(accounts.c.id).where(under(path, accounts.c.unit_id)).correlate(None)
    result: ColumnElement[bool] = account_id_column.in_(owned)
    return result


def _own_unit_column(account_id_column: Any) -> Any:
    """The row's own ``unit_id`` when the column is the id of the accounts table itself (or an alias of it): the
    same rule without a second pass over the accounts."""
    expression = getattr(account_id_column, "expression", account_id_column)
    table = getattr(expression, "table", None)
    if table is None or getattr(expression, "key", None) != "id":
        return None
    if _accounts.name not in {getattr(table, "name", None), getattr(getattr(table, "element", None), "name", None)}:
        return None
    return table.c.unit_id


def unit_covers(ancestor: Unit, unit: Unit) -> bool:
    """Whether ``unit`` is ``ancestor`` or lies below it."""
    return unit.path.startswith(ancestor.path)


def unit_path_covers(ancestor_path: Any, unit_path: Any) -> ColumnElement[bool]:
    """SQL: the unit with path ``unit_path`` is the one with ``ancestor_path`` or lies below it (two path columns)."""
    result: ColumnElement[bool] = unit_path.startswith(ancestor_path)
    return result


def can_see_unit(user: Viewer, unit: Unit | None) -> bool:
    """Whether the user may see this (loaded) unit and what belongs to it."""
    path = scope_path(user)
    return path is not None and unit is not None and unit.path.startswith(path)


def visible_units(user: Viewer) -> Select[Any]:
    """The units the user may see, the tree in path order."""
    return select(Unit).where(in_scope(user, Unit.id)).order_by(Unit.path)


def visible_unit(session: Session, user: Viewer, code: str) -> Unit | None:
    """The unit with this code if the user may see it; None for an unknown unit and one outside the scope alike."""
    unit: Unit | None = session.scalar(select(Unit).where(Unit.code == code, in_scope(user, Unit.id)))
    return unit


def unit_in_scope(session: Session, user: Viewer, code: str | None, field: str) -> Unit | None:
    """``visible_unit`` for an input field: None for no code; an unknown unit and one outside the scope are the
    same 404 ``unit_not_found``, naming ``field`` as the problem."""
    if code is None:
        return None
    unit = visible_unit(session, user, code)
    if unit is None:
        raise NotFound.fields({field: Problem("unknown_unit")}, "unit_not_found")
    return unit


def visible_users(user: Viewer) -> Select[Any]:
    """The users of the units the user may see (customers belong to no unit), by username."""
    return select(User).where(in_scope(user, User.unit_id)).order_by(User.username)
