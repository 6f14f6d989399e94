"""Organisation units (a tree), users and their roles, and the unit-scope rules every domain applies."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base, utcnow
from core.errors import Conflict, InvalidInput, NotFound, Problem
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
PASSWORD_MIN = 8


class Unit(Base):
    """供电公司 → 营销单位 / 供电所. ``path`` is the materialised chain of ids, e.g. ``/1/4/9/``."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    path: Mapped[str] = mapped_column(String(512), index=True, default="")

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def contains(self, other: Unit) -> bool:
        return other.path.startswith(self.path)


class User(Base):
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

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def roles(self) -> list[str]:
        return [self.role]


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.code == code))


def ensure_root_unit(session: Session, name: str = "供电公司") -> Unit:
    root = unit_by_code(session, ROOT_UNIT_CODE)
    if root is None:
        root = create_unit(session, ROOT_UNIT_CODE, name, parent_code=None)
    return root


def create_unit(session: Session, code: str, name: str, parent_code: str | None) -> Unit:
    problems: dict[str, Problem] = {}
    if not code:
        problems["code"] = Problem("required")
    elif len(code) > 32:
        problems["code"] = Problem("too_long", max=32)
    if not name:
        problems["name"] = Problem("required")
    parent = None
    if parent_code:
        parent = unit_by_code(session, parent_code)
        if parent is None:
            problems["parent_code"] = Problem("unknown_unit")
    if problems:
        raise InvalidInput.fields(problems)
    if unit_by_code(session, code) is not None:
        raise Conflict("unit_exists", unit=code)
    unit = Unit(code=code, name=name, parent=parent)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    unit: Unit | None,
    name: str = "",
    email: str | None = None,
) -> User:
    problems: dict[str, Problem] = {}
    if not username:
        problems["username"] = Problem("required")
    elif len(username) > 64:
        problems["username"] = Problem("too_long", max=64)
    if len(password) < PASSWORD_MIN:
        problems["password"] = Problem("too_short", min=PASSWORD_MIN)
    if role not in ALL_ROLES:
        problems["role"] = Problem("not_a_choice", allowed=sorted(ALL_ROLES))
    elif role != Role.CUSTOMER and unit is None:
        problems["unit_code"] = Problem("staff_need_a_unit")
    if problems:
        raise InvalidInput.fields(problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username_taken")
    user = User(username=username, password_hash=hash_password(password), role=role, unit=unit, name=name, email=email)
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user: User, new_password: str) -> None:
    if len(new_password) < PASSWORD_MIN:
        raise InvalidInput.fields({"password": Problem("too_short", min=PASSWORD_MIN)})
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    session.flush()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found")
    return user


def unit_scope_path(user: User) -> str | None:
    """The materialised path prefix a staff member may see; None for customers (they see bindings)."""
    if not user.is_staff or user.unit is None:
        return None
    return user.unit.path
