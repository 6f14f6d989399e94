"""The staff area: sign-in, role navigation, account lookup, admin pages for units and users."""

from __future__ import annotations

from flask import Blueprint

staff = Blueprint("staff", __name__, url_prefix="/staff")

from . import views  # noqa: E402,F401
