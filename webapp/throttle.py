"""Limits on failed attempts (sign-in, account binding) against password and detail guessing.

Only failures count: a customer who signs in correctly is never slowed down. The storage is configuration
(``RATELIMIT_STORAGE_URI``): in-process memory by default, Redis when several web processes serve.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.errors import TooManyAttempts


class AttemptGuard:
    def __init__(self, app: Flask):
        self.enabled = bool(app.config["RATELIMIT_ENABLED"])
        self.limiter = MovingWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))

    def _limits(self, setting: str) -> list[RateLimitItem]:
        return parse_many(current_app.config[setting])

    def check(self, setting: str, *key: str) -> None:
        """Raise TooManyAttempts if this key has used up its failures; costs nothing otherwise."""
        if not self.enabled:
            return
        for item in self._limits(setting):
            if not self.limiter.test(item, setting, *key):
                raise TooManyAttempts()

    def spend(self, setting: str, *key: str) -> None:
        """Count one use (whatever its outcome) and raise TooManyAttempts once they are used up."""
        if not self.enabled:
            return
        for item in self._limits(setting):
            if not self.limiter.hit(item, setting, *key):
                raise TooManyAttempts()

    def failed(self, setting: str, *key: str) -> None:
        if not self.enabled:
            return
        for item in self._limits(setting):
            self.limiter.hit(item, setting, *key)

    def reset(self) -> None:
        self.limiter.storage.reset()


def binding_keys(user_id: int) -> list[tuple[str, ...]]:
    """Failed account bindings count per customer and per client address: a fresh sign-up earns no fresh guesses."""
    return [("user", str(user_id)), ("address", request.remote_addr or "-")]


def guard() -> AttemptGuard:
    return current_app.extensions["griddesk_attempts"]  # type: ignore[no-any-return]
