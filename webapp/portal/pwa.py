"""Installable app: the web app manifest, the root-scoped service worker and the offline page."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template, send_from_directory, session, url_for
from flask_babel import gettext as _

from ..extensions import current_language
from . import portal

# Bump when the files the service worker pre-caches change, so phones drop the old copies.
OFFLINE_CACHE_VERSION = "portal-v1"


@portal.get("/manifest.webmanifest")
def manifest() -> Any:
    icon = "portal/icons/{}".format
    body = {
        "name": _("GridDesk power service"),
        "short_name": _("GridDesk"),
        "description": _("Balance, bills, usage and service points for your power account."),
        "lang": "en" if current_language() == "en" else "zh-CN",
        "start_url": url_for("portal.index", source="pwa"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f8",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": url_for("static", filename=icon("icon-192.png")), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename=icon("icon-512.png")), "sizes": "512x512", "type": "image/png"},
            {
                "src": url_for("static", filename=icon("maskable-512.png")),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@portal.get("/sw.js")
def service_worker() -> Any:
    """Served from the root so that its scope covers every portal page."""
    response = send_from_directory(current_app.static_folder or "static", "portal/sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    response.mimetype = "text/javascript"
    return response


@portal.get("/offline")
def offline() -> Any:
    page = render_template("portal/offline.html")
    # The service worker fetches this page in the background when it installs, which is often while the customer
    # signs in: a session written by this request would put back the cookie as it was before the sign-in (reading
    # the user marks an unknown session not fresh). The page needs nothing from the session, so it writes none.
    session.modified = False
    return page
