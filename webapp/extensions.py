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


LANGUAGES = ("zh_CN", "en")


def select_locale() -> str:
    """The visitor's choice (``?lang=`` sticks in the session), else the browser's ``Accept-Language``, else zh-CN."""
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    preferred = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return "en" if preferred == "en" else "zh_CN"
