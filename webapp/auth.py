"""Authentication: bearer tokens for the API, session sign-in for the HTML pages.

Tokens are signed (itsdangerous) and carry the user's ``token_version``; a password change bumps it, which
revokes every older token and session at once. Sessions store ``id:version`` through Flask-Login.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

from flask import current_app, request
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Row, bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from wtforms import ValidationError

from core.db import db
from core.errors import DomainError
from core.identity import (
    Principal,
    Unit,
    UnitRef,
    User,
    canonical_username,
    end_sign_in,
    open_sign_in,
    signed_in_user,
)
from core.security import verify_password

from .extensions import login_manager
from .throttle import guard

_TOKEN_SALT = "griddesk.api-token"
_Model = TypeVar("_Model", User, Unit)
# Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$5JZDEVz3QAyyLqfTaxWoLQ$QRA5Va2re1usrh00hACP4D53ksYa/xHqwAA7lCLl5DE"


class _TokenKeys:
    """The app's token serializer for one secret key, and the claims of tokens it verified lately: a token seen
    again costs a dictionary look-up and the age check, not an HMAC, base64 and JSON (every API request
    carries one). Only tokens whose signature held are kept, at most ``VERIFIED_KEPT`` of them."""

    VERIFIED_KEPT = 4096

    def __init__(self, secret: Any) -> None:
        self.secret = secret
        self.serializer = URLSafeTimedSerializer(secret, salt=_TOKEN_SALT)
        self.verified: dict[str, tuple[tuple[int, Any] | None, int]] = {}  # token -> (claims, signed at)

    def claims(self, token: str, max_age: int) -> tuple[int, Any] | None:
        known = self.verified.get(token)
        if known is None:
            try:
                data, signed_at = self.serializer.loads(token, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return None
            uid = data.get("uid") if isinstance(data, dict) else None
            claims = (uid, data.get("v")) if isinstance(uid, int) else None
            if len(self.verified) >= self.VERIFIED_KEPT:
                self.verified.clear()
            self.verified[token] = known = (claims, int(signed_at.timestamp()))
        claims, signed_at = known
        age = int(time.time()) - signed_at
        return claims if 0 <= age <= max_age else None  # itsdangerous's own rule for a timestamp's age


def _token_keys() -> _TokenKeys:
    """The app's ``_TokenKeys``, made anew when the secret key changes."""
    secret = current_app.config["SECRET_KEY"]
    keys: _TokenKeys | None = current_app.extensions.get("griddesk_token_keys")
    if keys is None or keys.secret != secret:
        keys = current_app.extensions["griddesk_token_keys"] = _TokenKeys(secret)
    return keys


def issue_token(user: User) -> tuple[str, int]:
    ttl = int(current_app.config["API_TOKEN_TTL"])
    return _token_keys().serializer.dumps({"uid": user.id, "v": user.token_version}), ttl


def token_claims(token: str) -> tuple[int, Any] | None:
    """The user id and token version a valid, unexpired token carries (no database work)."""
    return _token_keys().claims(token, int(current_app.config["API_TOKEN_TTL"]))


def identity_from_token(token: str) -> ApiIdentity | None:
    """The caller a bearer token names, if the token is valid and its user active at the token's version: one
    plain statement (the user row with its unit), no ORM object."""
    claims = token_claims(token)
    if claims is None:
        return None
    uid, version = claims
    return identity_of_row(db.session.execute(USER_ROW, {"uid": uid}).first(), version)


def identity_of_row(row: Row[Any] | None, version: Any) -> ApiIdentity | None:
    """The caller of a ``USER_ROW`` row read for a token of ``version``: None for no row, an inactive user or a
    token an older version signed."""
    if row is None or not row.active or row.token_version != version:
        return None
    unit = None if row.unit_id is None else UnitRef(row.unit_id, row.unit__path, row.unit__parent_id)
    return ApiIdentity(Principal(row.id, row.role, unit, row.locale), row=row)


def identity_of_columns(values: Sequence[Any], version: Any) -> ApiIdentity | None:
    """``identity_of_row`` for the values of ``IDENTITY_COLUMNS`` (a read path that read its caller in its own
    statement); the ORM user, if anything asks for it, is loaded then."""
    id_, role, unit_id, token_version, active, locale, unit_path, unit_parent_id = values
    if id_ is None or not active or token_version != version:
        return None
    unit = None if unit_id is None else UnitRef(unit_id, unit_path, unit_parent_id)
    return ApiIdentity(Principal(id_, role, unit, locale))


def sign_in_attempt(username: str, password: str, roles: Any = None) -> User | None:
    """The user these credentials sign in (of ``roles`` when given), or None. Failures count against the
    canonical username and the client's address, so no spelling of a name (" name", "name  ", full-width
    letters) earns fresh guesses; raises TooManyAttempts once they are used up."""
    name = canonical_username(username)
    key = (name.casefold(), request.remote_addr or "-")
    attempts = guard()
    attempts.check("RATELIMIT_SIGNIN", *key)
    user = authenticate(name, password)
    if user is None or (roles is not None and user.role not in roles):
        attempts.failed("RATELIMIT_SIGNIN", *key)
        return None
    return user


# built once: every API request with a token runs it. The user's columns and their unit's, as a plain row (a read
# path may extend it with what the caller asks for: one statement for both).
_USER_COLUMNS = tuple(User.__table__.c.keys())
_UNIT_COLUMNS = tuple(Unit.__table__.c.keys())
USER_ROW = (
    select(
        *User.__table__.c,
        *(Unit.__table__.c[name].label(f"unit__{name}") for name in _UNIT_COLUMNS),
    )
    .outerjoin(Unit.__table__, Unit.__table__.c.id == User.__table__.c.unit_id)
    .where(User.__table__.c.id == bindparam("uid"))
)


# What the API's role and scope checks read of the caller, as columns of ``IDENTITY_FROM`` (the user and their
# unit): a read path selects them in the statement that reads its resource (``identity_of_columns``).
IDENTITY_FROM = User.__table__.outerjoin(Unit.__table__, Unit.__table__.c.id == User.__table__.c.unit_id)
IDENTITY_COLUMNS = (
    *(User.__table__.c[name] for name in ("id", "role", "unit_id", "token_version", "active", "locale")),
    *(Unit.__table__.c[name].label(f"unit__{name}") for name in ("path", "parent_id")),
)


def _user_of_row(row: Row[Any]) -> User:
    """The ORM user (and unit) of a ``USER_ROW`` row, made part of the session as if loaded by a query: no
    statement. The session's own instances when it holds them already (their attributes that a commit or a
    rollback expired filled in from the row, as a query would refresh them)."""
    values = row._mapping
    unit = None
    if row.unit_id is not None:
        unit = _persistent(Unit, {name: values[f"unit__{name}"] for name in _UNIT_COLUMNS})
    user = _persistent(User, {name: values[name] for name in _USER_COLUMNS})
    if "unit" in inspect(user).unloaded:
        set_committed_value(user, "unit", unit)
    return user


def _persistent(model: type[_Model], values: dict[str, Any]) -> _Model:
    session = db.session
    held = session.identity_map.get(identity_key(model, values["id"]))
    if held is None:
        instance = model(**values)
        make_transient_to_detached(instance)
        session.add(instance)
        return instance
    for name in inspect(held).unloaded & values.keys():
        set_committed_value(held, name, values[name])
    return held  # type: ignore[no-any-return]


class Unauthorized(DomainError):
    """401: no valid token or signed-in session (the API answers it before any role or scope check)."""

    status = 401
    code = "unauthorized"


class ApiIdentity:
    """The caller of one API request: ``viewer``, what the scope rule and the role check read (a ``Principal``
    for a bearer token: no ORM object on the read path), and ``user()``, the ORM user for whatever needs one,
    made from the same row on first use (no second look-up)."""

    __slots__ = ("_row", "_user", "viewer")

    def __init__(self, viewer: Principal | User, *, row: Row[Any] | None = None, user: User | None = None):
        self.viewer = viewer
        self._row = row
        self._user = user

    def user(self) -> User:
        if self._user is None:
            row = self._row or db.session.execute(USER_ROW, {"uid": self.viewer.id}).first()
            if row is None:  # the user was deleted since the request's first statement
                raise Unauthorized()
            self._user = _user_of_row(row)
        return self._user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == canonical_username(username)))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer`` header; None for no header or another scheme."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def current_api_identity() -> ApiIdentity | None:
    """Bearer token first; else the signed-in session, which must then prove CSRF on unsafe methods."""
    if request.headers.get("Authorization"):
        token = bearer_token()
        return None if token is None else identity_from_token(token)
    if current_user.is_authenticated:
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                return None
        user: User = current_user.user
        return ApiIdentity(user, user=user)
    return None


class SessionUser(UserMixin):
    """Flask-Login's view of a signed-in user: the id names the user, the token version (a password change signs
    out) and the server-side sign-in (signing out ends it)."""

    def __init__(self, user: User, sign_in_id: str):
        self.user = user
        self.sign_in_id = sign_in_id

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.token_version}:{self.sign_in_id}"

    @property
    def role(self) -> str:
        return self.user.role

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)


def start_session(user: User, remember: bool = False) -> None:
    """Sign ``user`` in on this browser: a server-side sign-in that lasts the session's lifetime, or the remember
    cookie's when asked to remember."""
    config = current_app.config
    lifetime = config["REMEMBER_COOKIE_DURATION"] if remember else config["SIGN_IN_LIFETIME"]
    sign_in_id = open_sign_in(db.session, user, lifetime)
    db.session.commit()
    login_user(SessionUser(user, sign_in_id), remember=remember, duration=config["REMEMBER_COOKIE_DURATION"])


def end_session() -> None:
    """Sign out: the sign-in ends on the server, so the session and remember cookies stop working everywhere."""
    if current_user.is_authenticated:
        end_sign_in(db.session, current_user.sign_in_id)
        db.session.commit()
    logout_user()


@login_manager.user_loader
def _load_user(raw: str) -> SessionUser | None:
    uid, version, sign_in_id = [*raw.split(":"), "", ""][:3]
    if not (uid.isdigit() and version.isdigit() and sign_in_id) or len(uid) > 18 or len(version) > 18:
        return None
    user = signed_in_user(db.session, int(uid), int(version), sign_in_id)
    return SessionUser(user, sign_in_id) if user is not None else None
