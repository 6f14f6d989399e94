"""The customer portal: mobile-first pages; each area adds a module here."""

from __future__ import annotations

import sys

from flask import Blueprint

from ..discovery import import_submodules

portal = Blueprint("portal", __name__)

import_submodules(sys.modules[__name__])
