"""Flask extensions, created unbound; ``create_app`` binds them."""

from __future__ import annotations

from flask import request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
babel = Babel()


def select_locale() -> str:
    """zh-CN unless the visitor chose English (``?lang=en`` sticks in the session)."""
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in {"zh_CN", "en"}:
        return chosen
    return "zh_CN"
