"""Domain errors. The web layer turns them into the API's error format; domains never build responses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    """One error carrying every field problem at once (``details['fields']``)."""

    status = 422
    code = "invalid_input"

    @classmethod
    def fields(cls, problems: dict[str, str], message: str = "Some fields are not valid.") -> InvalidInput:
        return cls(message, details={"fields": problems})


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"
