"""The Content-Security-Policy of every response.

Scripts come from the app's own files; an inline script runs only if it carries this response's nonce (folium's
map script is the one page script generated per request), so injected markup can run nothing, and inline event
handlers (``onclick=``) do not run at all: pages wire their controls in static files. Styles keep
``'unsafe-inline'``: folium writes its map styles inline, and style attributes carry no script.
"""

from __future__ import annotations

import secrets

from flask import g

_FIXED = (
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self' data:; "
    "worker-src 'self'; frame-ancestors 'self'; base-uri 'self'"
)


def allow_form_target(origin: str) -> None:
    """Let this response's forms lead to ``origin`` too (the pay form's redirect to the provider's cashier: a
    form's redirect is held to ``form-action`` as well)."""
    g.csp_form_targets = [*g.get("csp_form_targets", []), origin]


def forget_nonce() -> None:
    """A request starts without a nonce (a test's app context may outlive several requests)."""
    g.pop("csp_nonce", None)


def nonce() -> str:
    """This response's script nonce, made on first use (templates: ``<script nonce="{{ csp_nonce() }}">``)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def policy() -> str:
    scripts = "'self'" + (f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else "")
    forms = " ".join(["'self'", *g.get("csp_form_targets", [])])
    return f"default-src 'self'; script-src {scripts}; {_FIXED}; form-action {forms}"
