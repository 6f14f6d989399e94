"""What a new password must be: at least ``PASSWORD_MIN`` characters, and none of the passwords people pick most
(zxcvbn's list of 30,000 common passwords, and the commonest of Chinese users, which that list lacks)."""

from __future__ import annotations

import functools

PASSWORD_MIN = 10

# long enough to pass the length rule, yet among the first guesses against a Chinese site
COMMON_ZH = frozenset(
    {
        "1234567890",
        "0123456789",
        "9876543210",
        "0000000000",
        "1111111111",
        "1234512345",
        "1314520520",
        "5201314520",
        "5201314521",
        "woaini1314",
        "woaini5201314",
        "woainima123",
        "a1234567890",
        "a123456789",
        "123456789a",
        "123456789q",
        "qq123456789",
        "qq1234567890",
        "abc1234567",
        "abc123456789",
        "aa123456789",
        "1qaz2wsx3edc",
        "1q2w3e4r5t",
        "qwertyuiop",
        "qweasdzxc123",
        "zxcvbnm123",
        "asdfghjkl;",
        "1234qwerasdf",
        "147258369a",
        "1472583690",
        "123123123123",
        "110110110110",
        "zhang123456",
        "wang123456",
        "li123456789",
        "liu123456789",
        "chen123456",
        "aini1314520",
        "iloveyou1314",
        "password123",
        "p@ssw0rd123",
        "admin123456",
        "administrator",
    }
)


@functools.cache
def _zxcvbn_passwords() -> frozenset[str]:
    from zxcvbn.matching import RANKED_DICTIONARIES

    return frozenset(RANKED_DICTIONARIES["passwords"])


def is_common(password: str) -> bool:
    """Whether ``password`` (any letter case) is on a list of common passwords."""
    candidate = password.strip().lower()
    return candidate in COMMON_ZH or candidate in _zxcvbn_passwords()
