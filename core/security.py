"""Password hashing (argon2) and keyed hashes for identifiers we must match but never store."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def use_fast_hashing() -> None:
    """Cheap argon2 parameters for test suites only; production keeps the library's defaults."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value: equal inputs match, the value itself is not recoverable."""
    normalised = value.strip().upper()
    return hmac.new(secret.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
