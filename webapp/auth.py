"""Authentication: bearer tokens for the API, session sign-in for the HTML pages.

Tokens are signed (itsdangerous) and carry the user's ``token_version``; a password change bumps it, which
revokes every older token and session at once. Sessions store ``id:version`` through Flask-Login.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import UserMixin, current_user
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import ValidationError

from core.db import db
from core.identity import User
from core.security import verify_password

from .extensions import login_manager

_TOKEN_SALT = "griddesk.api-token"
# Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$5JZDEVz3QAyyLqfTaxWoLQ$QRA5Va2re1usrh00hACP4D53ksYa/xHqwAA7lCLl5DE"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def issue_token(user: User) -> tuple[str, int]:
    ttl = int(current_app.config["API_TOKEN_TTL"])
    return _serializer().dumps({"uid": user.id, "v": user.token_version}), ttl


def user_from_token(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=int(current_app.config["API_TOKEN_TTL"]))
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    uid = data.get("uid")
    if not isinstance(uid, int):
        return None
    user = user_with_unit(uid)
    if user is None or not user.active or user.token_version != data.get("v"):
        return None
    return user


def user_with_unit(uid: int) -> User | None:
    """The user and their unit in one query (the scope rule reads the unit's path on every request); no query at
    all when the session holds the user already."""
    return db.session.get(User, uid, options=[joinedload(User.unit)])


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def current_api_user() -> User | None:
    """Bearer token first; else the signed-in session, which must then prove CSRF on unsafe methods."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return user_from_token(token.strip())
    if current_user.is_authenticated:
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                return None
        return current_user.user  # type: ignore[no-any-return]
    return None


class SessionUser(UserMixin):
    """Flask-Login's view of a user: the id includes the token version so a password change signs out."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.token_version}"

    @property
    def role(self) -> str:
        return self.user.role

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)


@login_manager.user_loader
def _load_user(raw: str) -> SessionUser | None:
    uid, _, version = raw.partition(":")
    if not uid.isdigit():
        return None
    user = user_with_unit(int(uid))
    if user is None or not user.active or str(user.token_version) != version:
        return None
    return SessionUser(user)
