"""New passwords: at least 10 characters and none of the common ones, wherever a password is set."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, Problem
from core.identity import CustomerSignUp, NewUser, change_password
from core.passwords import PASSWORD_MIN, is_common


@pytest.mark.parametrize("password", ["password123", "PASSWORD123", "1qaz2wsx3edc", "woaini1314", "qwertyuiop"])
def test_common_passwords_are_known_in_any_letter_case(password: str) -> None:
    assert is_common(password)


def test_an_uncommon_password_passes() -> None:
    assert not is_common("correct-horse-battery")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("nine-char", Problem("too_short", min=PASSWORD_MIN)), ("password123", Problem("common_password"))],
)
def test_sign_up_and_new_users_refuse_short_and_common_passwords(password: str, problem: Problem) -> None:
    assert PASSWORD_MIN == 10
    with pytest.raises(InvalidInput) as signing_up:
        CustomerSignUp.parse({"phone": "13900000009", "password": password, "name": "王芳", "code": "123456"})
    assert signing_up.value.problems == {"password": problem}
    with pytest.raises(InvalidInput) as creating:
        NewUser.parse({"username": "a", "password": password, "role": "customer"})
    assert creating.value.problems == {"password": problem}


def test_a_password_change_refuses_a_common_password(session, world) -> None:
    user = world.users["customer"]
    with pytest.raises(InvalidInput) as caught:
        change_password(session, user, "password123")
    assert caught.value.problems == {"password": Problem("common_password")}


def test_the_api_names_the_problem_in_chinese(api) -> None:
    body = {"phone": "13712345678", "password": "1234567890", "name": "王芳", "code": "123456"}
    reply = api.post("/api/v1/customers", body)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["fields"]["password"] == "这是最常见的密码之一，请换一个"
