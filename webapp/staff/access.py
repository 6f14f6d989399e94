"""Role checks for staff pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, redirect, request, url_for
from flask_login import current_user

from core.identity import STAFF_ROLES, User


def staff_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    allowed = frozenset(roles) if roles else STAFF_ROLES

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def view(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("staff.sign_in", next=request.full_path))
            if current_user.role not in allowed:
                abort(403)
            return fn(*args, **kwargs)

        return view

    return decorate


def staff_user() -> User:
    return current_user.user  # type: ignore[no-any-return]
