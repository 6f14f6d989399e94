"""Jinja helpers: money and date formatting in the display time zone, the current locale, role navigation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from core import clock

from .extensions import current_language

# (endpoint, label, roles that see it); a domain's pages join by adding to app.extensions["griddesk_nav"]
STAFF_NAV: list[tuple[str, str, frozenset[str]]] = [
    ("staff.dashboard", "Home", frozenset({"archivist", "clerk", "supervisor", "admin"})),
    ("staff.accounts", "Accounts", frozenset({"archivist", "clerk", "supervisor", "admin"})),
    ("staff.units", "Units", frozenset({"admin"})),
    ("staff.users", "Users", frozenset({"admin"})),
]


def money(value: Decimal | None) -> str:
    return "" if value is None else f"¥{value:,.2f}"


def local_datetime(value: dt.datetime | None) -> str:
    shown = clock.local(value)
    return shown.strftime("%Y-%m-%d %H:%M") if shown else ""


def _width(char: str) -> float:
    return 13.0 if ord(char) > 0x2E7F else 7.5  # at 13 px: a CJK character is square, a Latin one about half


def fit(label: object, px: float = 124.0) -> str:
    """``label`` cut to about ``px`` pixels of 13 px text (an ellipsis ends a cut one), for chart labels."""
    text = str(label)
    if sum(_width(c) for c in text) <= px:
        return text
    out, used = [], _width("…")
    for char in text:
        if used + _width(char) > px:
            break
        out.append(char)
        used += _width(char)
    return "".join(out) + "…"


def register_template_helpers(app: Flask) -> None:
    app.extensions.setdefault("griddesk_nav", [])
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["fit"] = fit
    app.jinja_env.filters["local_datetime"] = local_datetime

    @app.context_processor
    def inject() -> dict[str, Any]:
        role = current_user.role if current_user.is_authenticated else None
        nav = [
            (ep, _(label))
            for ep, label, roles in STAFF_NAV + app.extensions["griddesk_nav"]
            if role in roles and ep in app.view_functions
        ]
        lang = current_language()
        return {
            "csrf_token": generate_csrf,
            "staff_nav": nav,
            "lang": lang,
            "html_lang": "zh-CN" if lang == "zh_CN" else "en",
            # punctuation between a label and its value, or two parts of a sentence: full-width in Chinese
            "colon": "：" if lang == "zh_CN" else ": ",
            "comma": "，" if lang == "zh_CN" else ", ",
            "other_lang": "en" if lang == "zh_CN" else "zh_CN",
            "switch_lang_url": lambda: url_for(
                request.endpoint or "portal.index",
                **{**(request.view_args or {}), "lang": "en" if lang == "zh_CN" else "zh_CN"},
            ),
        }
