"""The customer portal: mobile-first pages for sign-up, sign-in, bound accounts and their details."""

from __future__ import annotations

from flask import Blueprint

portal = Blueprint("portal", __name__)

from . import views  # noqa: E402,F401
