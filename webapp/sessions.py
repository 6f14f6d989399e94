"""Flask's signed-cookie sessions, opened only where a request brings a session cookie.

Flask builds the cookie's signer (key derivation included) at the start of every request, before it looks for
the cookie. API calls carry a bearer token and no cookie, so for them that work was thrown away on every call.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask returns for a request without the cookie
        return super().open_session(app, request)
