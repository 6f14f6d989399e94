"""GridDesk's web layer: the app factory. Domains are registered here; they never import this package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_babel import refresh

from core import clock, workdays
from core.db import db

from .config import from_environment
from .extensions import LANGUAGES, babel, csrf, login_manager, migrate, select_locale
from .sessions import CookieSessions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ("billing", "archive", "mapping", "notifications", "servicedesk", "connections", "audit")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration from the environment, then ``config`` overrides on top."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    configure_local_time(app.config)
    configure_working_days(app.config)
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = CookieSessions()
    _trust_proxies(app)

    db.init(app.config["DATABASE_URL"])
    login_manager.init_app(app)
    login_manager.login_view = "portal.sign_in"
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=_translation_directories(),
    )
    migrate.init_app(app, db=db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)

    from .throttle import AttemptGuard

    app.extensions["griddesk_attempts"] = AttemptGuard(app)
    app.extensions["griddesk_health"] = {}
    app.extensions["griddesk_demo_seeders"] = []
    app.extensions["griddesk_beat"] = {}
    from core.demo import seed_units_and_users

    app.extensions["griddesk_demo_seeders"].append((0, "core", seed_units_and_users))

    from . import cli, health
    from .errors import register_error_handlers

    register_error_handlers(app)
    cli.register(app)
    health.register(app)

    import importlib

    for name in DOMAINS:
        importlib.import_module(name).init_app(app)

    from core import outbox

    app.extensions["griddesk_health"]["outbox"] = lambda: outbox.backlog(db.session)
    app.extensions["griddesk_beat"]["relay-outbox"] = {
        "task": outbox.RELAY_TASK,
        "schedule": float(app.config["OUTBOX_SWEEP_SECONDS"]),
    }
    from .celery_app import init_celery

    init_celery(app)
    from . import inputs

    inputs.register(app)  # before the blueprints: their <int:...> routes take the bounded converter
    _register_blueprints(app)
    _register_request_hooks(app)
    activate(app)
    return app


def activate(app: Flask) -> None:
    """Make ``app`` the process's app: the settings that live in modules (the local zone, working days, the
    outbox's kick interval, audit's and online payment's settings), the database engine and Celery's default app
    become its.

    ``create_app`` ends with this; a process serves one app, so only a test that builds a second app calls it
    to switch back to the first."""
    from audit import settings as audit_settings
    from billing import online
    from core import outbox

    configure_local_time(app.config)
    configure_working_days(app.config)
    audit_settings.configure(app.config)
    online.configure(app.config)
    if db.engine is None or db.engine.url.render_as_string(hide_password=False) != app.config["DATABASE_URL"]:
        db.init(app.config["DATABASE_URL"])
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()
    outbox.configure(0.0 if celery.conf.task_always_eager else float(app.config["OUTBOX_KICK_SECONDS"]))


def configure_local_time(config: Any) -> None:
    """The one local zone, ``DISPLAY_TIMEZONE``: for core.clock, Babel's dates and Celery beat's schedule."""
    name = clock.configure(config.get("DISPLAY_TIMEZONE")).key
    config["DISPLAY_TIMEZONE"] = name
    config["BABEL_DEFAULT_TIMEZONE"] = name
    config["CELERY"]["timezone"] = name


def configure_working_days(config: Any) -> None:
    """Days off and working days that the official calendar lacks or gets wrong (core.workdays)."""
    workdays.configure(
        workdays.parse_days(config.get("WORKDAYS_EXTRA_HOLIDAYS")),
        workdays.parse_days(config.get("WORKDAYS_EXTRA_WORKDAYS")),
    )


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, the client address and scheme are the ones the nearest
    proxy forwarded (X-Forwarded-For, X-Forwarded-Proto); with none trusted (the default) those headers are
    ignored, since a client could write them."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def _translation_directories() -> str:
    """Each area keeps its own catalogue under ``webapp/translations/<area>/``; Flask-Babel merges them."""
    base = Path(__file__).parent / "translations"
    return ";".join(str(p) for p in sorted(base.iterdir()) if p.is_dir())


def _register_blueprints(app: Flask) -> None:
    from .api import api, load_modules
    from .portal import portal
    from .staff import staff

    load_modules()
    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(staff)
    app.register_blueprint(portal)


def _register_request_hooks(app: Flask) -> None:
    from . import csp
    from .templating import register_template_helpers

    register_template_helpers(app)
    app.jinja_env.globals["csp_nonce"] = csp.nonce
    app.before_request(csp.forget_nonce)

    @app.before_request
    def remember_language() -> None:
        # Flask-Babel caches the locale on ``g``, which outlives a request when an app context was already
        # pushed (tests, CLI): choose again for every request
        refresh()
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            session["lang"] = lang

    fixed_headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"),
    ]
    if app.config.get("SESSION_COOKIE_SECURE"):
        fixed_headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def security_headers(response: Any) -> Any:
        # a view's own value wins; one pass over the response's headers instead of a search per header
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        headers.extend((name, value) for name, value in fixed_headers if name.lower() not in present)
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", csp.policy())
        return response

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        db.remove_session()
