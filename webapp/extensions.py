"""Flask extensions, created unbound; ``create_app`` binds them."""

from __future__ import annotations

from flask import g, request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
babel = Babel()


LANGUAGES = ("zh_CN", "en")


def _language(value: object) -> str | None:
    """``zh_CN``/``zh-CN``/``zh`` -> ``zh_CN``, ``en``/``en-GB`` -> ``en``; None for anything else."""
    text = str(value or "").replace("-", "_")
    if text == "zh" or text.startswith("zh_"):
        return "zh_CN"
    if text == "en" or text.startswith("en_"):
        return "en"
    return None


def _saved_locale() -> str | None:
    from flask_login import current_user

    identity = g.get("api_identity")
    user = None if identity is None else identity.viewer
    if user is None and current_user and current_user.is_authenticated:
        user = current_user.user
    return _language(getattr(user, "locale", None))


def select_locale() -> str:
    """The visitor's choice (``?lang=``, kept in the session), else the signed-in user's saved locale, else the
    browser's ``Accept-Language``, else zh-CN."""
    chosen = _language(request.args.get("lang") or session.get("lang")) or _saved_locale()
    if chosen is not None:
        return chosen
    preferred = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return "en" if preferred == "en" else "zh_CN"


def current_language() -> str:
    """``zh_CN`` or ``en``: the language of this request's texts."""
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"
