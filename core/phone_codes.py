"""One-time codes that prove a customer holds the mobile number they sign up with.

A code is six digits, lives ``CODE_LIFETIME``, may be tried ``MAX_TRIES`` times and is used once; a new one for the
same number replaces the old one, at most one per ``RESEND_AFTER``. Only a hash of number and code is stored.
Sending it is the caller's (an SMS gateway); checking counts a wrong try even when the caller then rolls back,
so ``check`` returns its verdict and the caller commits before refusing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.errors import Problem, TooManyAttempts

CODE_LIFETIME = dt.timedelta(minutes=10)
RESEND_AFTER = dt.timedelta(seconds=60)
MAX_TRIES = 5


class PhoneCode(Base):
    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None]


def _digest(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def issue(session: Session, phone: str) -> str:
    """A new code for ``phone`` (replacing any earlier one); TooManyAttempts within RESEND_AFTER of the last."""
    now = utcnow()
    last = session.scalar(select(PhoneCode.created_at).where(PhoneCode.phone == phone).order_by(PhoneCode.id.desc()))
    if last is not None and now - last < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - last)).total_seconds()) + 1
        raise TooManyAttempts("code_sent_recently", seconds=wait)
    session.execute(delete(PhoneCode).where(PhoneCode.phone == phone))
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(PhoneCode(phone=phone, code_hash=_digest(phone, code), created_at=now, expires_at=now + CODE_LIFETIME))
    session.flush()
    return code


def check(session: Session, phone: str, code: str) -> Problem | None:
    """None when ``code`` is the live code of ``phone`` (it is then used up), else the problem. Commit the
    session either way: a wrong try counts."""
    now = utcnow()
    row = session.scalar(
        select(PhoneCode).where(PhoneCode.phone == phone, PhoneCode.used_at.is_(None)).order_by(PhoneCode.id.desc())
    )
    if row is None or row.expires_at <= now or row.tries >= MAX_TRIES:
        return Problem("code_expired")
    row.tries += 1
    if not secrets.compare_digest(row.code_hash, _digest(phone, code)):
        return Problem("wrong_code", tries_left=MAX_TRIES - row.tries)
    row.used_at = now
    return None
