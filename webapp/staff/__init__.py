"""The staff area: sign-in, role navigation, account lookup, admin pages; each domain adds a module here."""

from __future__ import annotations

import sys

from flask import Blueprint

from ..discovery import import_submodules

staff = Blueprint("staff", __name__, url_prefix="/staff")

import_submodules(sys.modules[__name__])
