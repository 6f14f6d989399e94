"""Organisation units (a tree), users and their roles, and the customers' claims on accounts (bindings).

Who may see what is decided in ``core.scope``.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.commands import Command, Verbatim, refuse
from core.db import Base, utcnow
from core.errors import Conflict, InvalidInput, NotFound, Problem
from core.passwords import PASSWORD_MIN, is_common
from core.security import hash_password


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    ARCHIVIST = "archivist"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.ARCHIVIST, Role.CLERK, Role.SUPERVISOR, Role.ADMIN})
ALL_ROLES = frozenset(Role)
ROOT_UNIT_CODE = "ROOT"


class Unit(Base):
    """供电公司 → 营销单位 / 供电所. ``path`` is the materialised chain of ids, e.g. ``/1/4/9/``."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    path: Mapped[str] = mapped_column(String(512), index=True, default="")

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class HasRole:
    """``is_staff`` and ``roles`` of anything with a ``role`` (a ``User``, a ``Principal``)."""

    __slots__ = ()
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def roles(self) -> list[str]:
        return [self.role]


class User(HasRole, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Bumped on every password change: bearer tokens carry it, so older tokens stop working.
    token_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()


@dataclass(frozen=True, slots=True)
class UnitRef:
    """What the scope rule reads of a unit: its id, its path and whether it has a parent (the root has none)."""

    id: int
    path: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class Principal(HasRole):
    """Who is asking, as a read path needs it: no ORM object, no session. ``core.scope`` takes it as it takes a
    ``User`` (both are its ``Viewer``); the API builds one per request from the token's user row."""

    id: int
    role: str
    unit: UnitRef | None
    locale: str | None = None

    @property
    def unit_id(self) -> int | None:
        return None if self.unit is None else self.unit.id


class AccountBinding(Base):
    """A customer's claim on an account, made by proving holder name and the last 4 ID digits.

    Authorisation data, so it lives with the users: the scope rule reads it without knowing billing. The account
    (``accounts``, billing's table) is named by its table only.
    """

    __tablename__ = "account_bindings"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.code == code))


def ensure_root_unit(session: Session, name: str = "供电公司") -> Unit:
    root = unit_by_code(session, ROOT_UNIT_CODE)
    if root is None:
        root = create_unit(session, ROOT_UNIT_CODE, name, parent_code=None)
    return root


class NewUnit(Command):
    """An organisation unit under a parent (the admin's own unit when none is named)."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    parent_code: str | None = None


def create_unit(session: Session, code: str, name: str, parent_code: str | None) -> Unit:
    command = NewUnit.parse({"code": code, "name": name, "parent_code": parent_code})
    parent = None
    if command.parent_code:
        parent = unit_by_code(session, command.parent_code)
        if parent is None:
            raise InvalidInput.fields({"parent_code": Problem("unknown_unit")})
    code, name = command.code, command.name
    if unit_by_code(session, code) is not None:
        raise Conflict("unit_exists", unit=code)
    unit = Unit(code=code, name=name, parent=parent)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def _mobile(phone: str) -> str:
    if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
        raise refuse("mobile_number")
    return phone


def canonical_username(raw: str) -> str:
    """The one form of a username: what is stored, what sign-in looks up and what the attempt limit counts.
    Unicode NFKC (full-width letters and spaces become plain ones), surrounding white space removed."""
    return unicodedata.normalize("NFKC", raw).strip()


def _canonical(value: Any) -> Any:
    return canonical_username(value) if isinstance(value, str) else value


def _not_common(password: str) -> str:
    if is_common(password):
        raise refuse("common_password")
    return password


# a new password: long enough and not a common one (checking a password at sign-in takes it as typed)
NewPassword = Annotated[Verbatim, Field(min_length=PASSWORD_MIN, max_length=256), AfterValidator(_not_common)]


class NewUser(Command):
    """A user with a role; staff belong to a unit."""

    username: Annotated[str, BeforeValidator(_canonical)] = Field(min_length=1, max_length=64)
    password: NewPassword
    role: Role
    unit_code: str | None = None
    name: str = Field("", max_length=128)
    email: str | None = Field(None, max_length=255)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        if data.get("role") in STAFF_ROLES and not data.get("unit_code"):
            return {"unit_code": Problem("staff_need_a_unit")}
        return {}


class CustomerSignUp(Command):
    """A customer signing up: the mobile number is the username, proven by the code sent to it."""

    phone: Annotated[str, AfterValidator(_mobile)] = Field(description="mainland mobile number, 11 digits")
    password: NewPassword
    name: str = Field(min_length=1, max_length=128)
    code: str = Field(pattern=r"^[0-9]{6}$", description="the 6-digit code sent by SMS to the phone")


class PhoneOnly(Command):
    """Where a sign-up code is to be sent."""

    phone: Annotated[str, AfterValidator(_mobile)] = Field(description="mainland mobile number, 11 digits")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    unit: Unit | None,
    name: str = "",
    email: str | None = None,
) -> User:
    command = NewUser.parse(
        {
            "username": username,
            "password": password,
            "role": role,
            "unit_code": unit.code if unit is not None else None,
            "name": name,
            "email": email,
        }
    )
    username = command.username
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username_taken")
    user = User(
        username=username,
        password_hash=hash_password(command.password),
        role=str(command.role),
        unit=unit,
        name=command.name,
        email=command.email,
    )
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user: User, new_password: str) -> None:
    if len(new_password) < PASSWORD_MIN:
        raise InvalidInput.fields({"password": Problem("too_short", min=PASSWORD_MIN)})
    if is_common(new_password):
        raise InvalidInput.fields({"password": Problem("common_password")})
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    session.flush()


class SignInSession(Base):
    """One sign-in of a browser: its id rides in the signed session (and remember) cookie, so signing out ends it
    on the server and a copied cookie stops working. A password change ends them all (``token_version``)."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


def open_sign_in(session: Session, user: User, lifetime: dt.timedelta) -> str:
    """A new sign-in of ``user`` lasting at most ``lifetime``; returns its id. The user's expired ones go."""
    now = utcnow()
    session.execute(delete(SignInSession).where(SignInSession.user_id == user.id, SignInSession.expires_at < now))
    sign_in_id = secrets.token_urlsafe(32)
    session.add(SignInSession(id=sign_in_id, user_id=user.id, created_at=now, expires_at=now + lifetime))
    session.flush()
    return sign_in_id


def signed_in_user(session: Session, user_id: int, token_version: int, sign_in_id: str) -> User | None:
    """The active user of a live sign-in (not ended, not expired, no password change since), in one query."""
    return session.scalar(
        select(User)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.active.is_(True),
            User.token_version == token_version,
            SignInSession.id == sign_in_id,
            SignInSession.ended_at.is_(None),
            SignInSession.expires_at > utcnow(),
        )
        .options(selectinload(User.unit))
    )


def end_sign_in(session: Session, sign_in_id: str) -> None:
    session.execute(
        update(SignInSession)
        .where(SignInSession.id == sign_in_id, SignInSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found")
    return user
