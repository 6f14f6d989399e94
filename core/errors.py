"""Domain errors: a stable code and its parameters, never a sentence.

A domain raises ``Conflict("reading_exists", period="2026-03")``; bad input is one ``InvalidInput`` carrying
every field's problem, each a code with parameters::

    raise InvalidInput.fields({"title": Problem("required"), "amount": Problem("at_most", limit="100.00")})

The web layer renders codes from its message catalogue in the reader's language, on API replies and HTML pages
alike; a domain never builds a response or a text. ``str(error)`` is a plain code-and-parameters form for logs and
command-line output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar, Self

Param = str | int | Decimal | Sequence[str]
RESERVED_PARAMS = frozenset({"fields", "problems", "rows", "row_problems"})


class Problem:
    """What is wrong with one field: a code (``required``, ``too_long``) and its parameters (``max=255``)."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, /, **params: Param) -> None:
        self.code = code
        self.params: dict[str, Param] = params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.code, self.params) == (other.code, other.params)

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"Problem({describe(self.code, self.params)})"

    def __str__(self) -> str:
        return describe(self.code, self.params)


def describe(code: str, params: Mapping[str, Param]) -> str:
    """``code`` or ``code(name=value, ...)``: the language-neutral form of a code for logs and the CLI."""
    if not params:
        return code

    def show(value: Param) -> str:
        return ",".join(value) if isinstance(value, list | tuple) else str(value)

    return f"{code}({', '.join(f'{k}={show(v)}' for k, v in params.items())})"


class DomainError(Exception):
    """A refused operation: ``code`` (the class's own by default), ``params``, and for input, the problems of
    each field (``problems``) or of each row of a file (``rows``: row -> field -> problem)."""

    status: ClassVar[int] = 400
    code: str = "bad_request"

    def __init__(self, code: str | None = None, /, **params: Param) -> None:
        clash = RESERVED_PARAMS & set(params)
        if clash:
            raise TypeError(f"reserved parameter names: {sorted(clash)}")
        if code is not None:
            self.code = code
        self.params: dict[str, Param] = params
        self.problems: dict[str, Problem] = {}
        self.rows: dict[str, dict[str, Problem]] = {}
        super().__init__(self.code)

    @classmethod
    def fields(cls, problems: Mapping[str, Problem], code: str | None = None, /, **params: Param) -> Self:
        """The error with every field's problem (field -> ``Problem``); ``code`` if more specific than the class's."""
        error = cls(code, **params)
        error.problems = dict(problems)
        return error

    @classmethod
    def in_rows(cls, rows: Mapping[str, Mapping[str, Problem]], code: str, /, **params: Param) -> Self:
        """The error with every bad row of a file (row number -> field -> ``Problem``)."""
        error = cls(code, **params)
        error.rows = {row: dict(problems) for row, problems in rows.items()}
        return error

    def __str__(self) -> str:
        """``code(param=value): field=problem; ...`` and ``[row N] field=problem`` for each bad row."""
        parts = [describe(self.code, self.params)]
        if self.problems:
            parts.append("; ".join(f"{field}={problem}" for field, problem in self.problems.items()))
        for row, problems in self.rows.items():
            parts.append(f"[row {row}] " + "; ".join(f"{field}={problem}" for field, problem in problems.items()))
        return ": ".join(parts)


class InvalidInput(DomainError):
    """One error carrying every problem of the input at once."""

    status = 422
    code = "invalid_input"


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


class Unavailable(DomainError):
    """A service GridDesk depends on (an SMS gateway, a payment provider) did not answer: try again later."""

    status = 503
    code = "unavailable"
