"""Customer sign-up, shared by the API and the portal: a code sent by SMS proves the phone, and each client
address may ask for codes and try sign-ups only so often (``RATELIMIT_SMS_CODE``, ``RATELIMIT_SIGNUP``)."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from core import phone_codes
from core.db import db
from core.errors import Conflict, InvalidInput, Unavailable
from core.identity import CustomerSignUp, Role, User, create_user
from notifications import runtime
from notifications.interfaces import DeliveryError

from .throttle import guard


def _address() -> str:
    return request.remote_addr or "-"


def _refuse_taken(phone: str) -> None:
    if db.session.scalar(select(User.id).where(User.username == phone)) is not None:
        raise Conflict("username_taken")


def send_code(phone: str) -> None:
    """Send a sign-up code to ``phone`` (a valid mobile number not yet registered)."""
    guard().spend("RATELIMIT_SMS_CODE", _address())
    _refuse_taken(phone)
    code = phone_codes.issue(db.session, phone)
    try:
        runtime.current().sms.send_code(phone, code)
    except DeliveryError as exc:
        db.session.rollback()
        raise Unavailable("sms_unavailable") from exc
    db.session.commit()


def sign_up(command: CustomerSignUp) -> User:
    """The new customer, once the code checks out; a wrong code counts against the code's tries."""
    guard().spend("RATELIMIT_SIGNUP", _address())
    _refuse_taken(command.phone)
    problem = phone_codes.check(db.session, command.phone, command.code)
    db.session.commit()
    if problem is not None:
        raise InvalidInput.fields({"code": problem})
    user = create_user(db.session, command.phone, command.password, Role.CUSTOMER, None, name=command.name)
    db.session.commit()
    return user
