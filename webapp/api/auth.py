"""Tokens, customer sign-up and the caller's identity."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.commands import Verbatim
from core.identity import ALL_ROLES, CustomerSignUp, PhoneOnly
from core.phone_codes import CODE_LIFETIME

from .. import signup
from ..auth import issue_token, sign_in_attempt
from . import api
from .framework import PUBLIC, ApiModel, Unauthorized, allow, caller, endpoint


class TokenRequest(ApiModel):
    username: str = Field(min_length=1, max_length=64)
    password: Verbatim = Field(min_length=1, max_length=256)  # as typed, like the sign-in page's


def user_identity(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name or user.username,
        "username": user.username,
        "roles": user.roles,
        "unit": {"code": user.unit.code, "name": user.unit.name} if user.unit else None,
    }


@endpoint(
    api,
    "/auth/token",
    methods=["POST"],
    access=PUBLIC,
    body=TokenRequest,
    summary="Exchange username and password for a bearer token",
    extra_responses={401: "bad credentials", 429: "too many failed sign-ins for this name from this address"},
)
def issue_api_token(body: TokenRequest) -> Any:
    user = sign_in_attempt(body.username, body.password)
    if user is None:
        raise Unauthorized("invalid_credentials")
    token, ttl = issue_token(user)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl, "roles": user.roles}


@endpoint(
    api,
    "/customers",
    methods=["POST"],
    access=PUBLIC,
    body=CustomerSignUp,
    status=201,
    summary="Customer sign-up with the code sent to the phone (the phone number is the username)",
    extra_responses={409: "phone taken", 429: "too many sign-ups from this address"},
)
def sign_up_customer(body: CustomerSignUp) -> Any:
    user = signup.sign_up(body)
    return {"id": user.id, "phone": user.username, "name": user.name}


@endpoint(
    api,
    "/customers/verification-codes",
    methods=["POST"],
    access=PUBLIC,
    body=PhoneOnly,
    status=202,
    summary="Send a sign-up code by SMS to a mobile number not yet registered (valid 10 minutes, one a minute)",
    extra_responses={409: "phone taken", 429: "sent too recently, or too many from this address", 503: "SMS down"},
)
def send_sign_up_code(body: PhoneOnly) -> Any:
    signup.send_code(body.phone)
    return {"sent": True, "expires_in": int(CODE_LIFETIME.total_seconds())}


@endpoint(api, "/me", access=allow(*ALL_ROLES), summary="The caller's identity, roles and unit")
def who_am_i() -> Any:
    return user_identity(caller())
