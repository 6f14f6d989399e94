"""What every signed-in customer page needs: the guard, the bound accounts and the selected one."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from billing.accounts import visible_accounts
from billing.models import Account
from core.db import db
from core.identity import Role, User
from notifications.services import unread_count

from . import portal

F = TypeVar("F", bound=Callable[..., Any])


def customer_required(view: F) -> F:
    """Anonymous visitors go to sign-in (and come back); staff go to their own pages."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
        if current_user.role != Role.CUSTOMER:
            return redirect(url_for("staff.dashboard"))
        return view(*args, **kwargs)

    return cast(F, guarded)


def customer() -> User:
    return cast(User, current_user.user)


def bound_accounts() -> list[Account]:
    return list(db.session.scalars(visible_accounts(customer()).order_by(Account.account_no)))


def selected_account(accounts: list[Account]) -> Account | None:
    """``?account=`` if it is one of the customer's, else the one chosen last, else the first."""
    if not accounts:
        return None
    by_no = {a.account_no: a for a in accounts}
    wanted = request.args.get("account")
    if wanted in by_no:
        session["portal_account"] = wanted
        return by_no[wanted]
    return by_no.get(session.get("portal_account", ""), accounts[0])


# The tab bar at the bottom of every customer page: (endpoint, icon, label, endpoints that light it up).
TABS: list[tuple[str, str, Any, frozenset[str]]] = [
    ("portal.home", "home", _l("Home"), frozenset({"portal.home"})),
    (
        "portal.bills",
        "bill",
        _l("Bills"),
        frozenset({"portal.bills", "portal.bill", "portal.payments", "portal.invoices", "portal.invoice_preferences"}),
    ),
    ("portal.nearby", "pin", _l("Nearby"), frozenset({"portal.nearby"})),
    ("portal.inbox", "bell", _l("Messages"), frozenset({"portal.inbox", "portal.message"})),
    ("portal.me", "user", _l("Me"), frozenset({"portal.me", "portal.bind", "portal.password"})),
]


def unread_messages() -> int:
    return unread_count(db.session, customer()) if current_user.is_authenticated else 0


@portal.context_processor
def portal_helpers() -> dict[str, Any]:
    def tabs() -> list[tuple[str, str, str, bool]]:
        return [
            (endpoint, icon, str(label), request.endpoint in lit)
            for endpoint, icon, label, lit in TABS
            if endpoint in current_app.view_functions
        ]

    def has(endpoint: str) -> bool:
        return endpoint in current_app.view_functions

    return {"portal_tabs": tabs, "portal_unread": unread_messages, "portal_has": has}
