"""Sign-up codes: six digits, one live code per number, a minute between sends, five tries, ten minutes, once."""

from __future__ import annotations

import datetime as dt

import pytest

from core import phone_codes
from core.errors import Problem, TooManyAttempts
from core.phone_codes import MAX_TRIES, PhoneCode

PHONE = "13900000042"


def _age(session, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Move the number's code ``seconds`` into the past (sent and expiring that much earlier)."""
    delta = dt.timedelta(seconds=seconds)
    for code in session.query(PhoneCode).all():
        code.created_at -= delta
        code.expires_at -= delta
    session.flush()


def test_a_code_is_six_digits_and_checks_once(session) -> None:
    code = phone_codes.issue(session, PHONE)
    assert len(code) == 6 and code.isdigit()
    assert phone_codes.check(session, PHONE, code) is None
    assert phone_codes.check(session, PHONE, code) == Problem("code_expired")


def test_a_second_code_within_a_minute_is_refused_and_after_it_replaces_the_first(session) -> None:
    first = phone_codes.issue(session, PHONE)
    with pytest.raises(TooManyAttempts) as refused:
        phone_codes.issue(session, PHONE)
    assert refused.value.code == "code_sent_recently" and 0 < int(refused.value.params["seconds"]) <= 60
    _age(session, 61)
    second = phone_codes.issue(session, PHONE)
    if second != first:
        assert phone_codes.check(session, PHONE, first) == Problem("wrong_code", tries_left=MAX_TRIES - 1)
    assert phone_codes.check(session, PHONE, second) is None


def test_wrong_tries_are_counted_and_the_fifth_kills_the_code(session) -> None:
    code = phone_codes.issue(session, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in range(MAX_TRIES - 1, -1, -1):
        assert phone_codes.check(session, PHONE, wrong) == Problem("wrong_code", tries_left=left)
    assert phone_codes.check(session, PHONE, code) == Problem("code_expired")


def test_a_code_expires_after_ten_minutes(session) -> None:
    code = phone_codes.issue(session, PHONE)
    _age(session, 10 * 60 + 1)
    assert phone_codes.check(session, PHONE, code) == Problem("code_expired")


def test_a_code_is_for_its_own_number_and_only_its_hash_is_kept(session) -> None:
    code = phone_codes.issue(session, PHONE)
    assert phone_codes.check(session, "13900000043", code) == Problem("code_expired")
    stored = session.query(PhoneCode).one()
    assert code not in stored.code_hash
