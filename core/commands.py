"""Typed use-case inputs: one model per command, checked once, every problem reported at once.

Each domain keeps its commands in ``<domain>/commands.py`` (``billing.commands.RecordPayment``, ...). A command is
a pydantic model whose fields carry the input's types and limits; ``rules`` adds the checks that read more than
one field. ``Command.parse(data)`` is the one door: the API builds a command from the JSON body (the endpoint
declares the command as its body, so the OpenAPI document describes it), an HTML view from its form, an import
from a file's row; all get the same checks, and every failure comes back in one ``InvalidInput`` whose problems
are codes (``required``, ``too_long(max)``, or a command's own ``refuse("code")``).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from .errors import InvalidInput, Param, Problem

# pydantic's error types that map to one field-problem code without parameters
PLAIN_PROBLEMS = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "int_parsing": "not_a_whole_number",
    "int_type": "not_a_whole_number",
    "int_from_float": "not_a_whole_number",
    "decimal_parsing": "not_a_number",
    "decimal_type": "not_a_number",
    "finite_number": "not_a_number",
    "float_parsing": "not_a_number",
    "float_type": "not_a_number",
    "bool_parsing": "not_a_boolean",
    "bool_type": "not_a_boolean",
    "string_type": "not_a_string",
    "list_type": "not_a_list",
    "dict_type": "not_an_object",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "date_parsing": "not_a_date",
    "date_type": "not_a_date",
    "date_from_datetime_parsing": "not_a_date",
    "date_from_datetime_inexact": "not_a_date",
    "datetime_parsing": "not_a_datetime",
    "datetime_type": "not_a_datetime",
    "datetime_from_date_parsing": "not_a_datetime",
    "timezone_aware": "not_a_datetime",
    "string_pattern_mismatch": "wrong_format",
}
# pydantic's error types with a limit: (problem code, the limit's key in the error context, its parameter)
LIMIT_PROBLEMS = {
    "string_too_long": ("too_long", "max_length", "max"),
    "string_too_short": ("too_short", "min_length", "min"),
    "too_long": ("too_many", "max_length", "max"),
    "too_short": ("too_few", "min_length", "min"),
    "greater_than_equal": ("at_least", "ge", "min"),
    "greater_than": ("above", "gt", "min"),
    "less_than_equal": ("at_most", "le", "max"),
    "less_than": ("below", "lt", "max"),
    "decimal_max_places": ("too_many_decimals", "decimal_places", "max"),
    "decimal_max_digits": ("too_many_digits", "max_digits", "max"),
}
_PYDANTIC_TYPES = frozenset(typing.get_args(ErrorType))
# text taken exactly as typed, spaces and all (a password)
Verbatim = Annotated[str, StringConstraints(strip_whitespace=False)]
# the largest id an integer key holds (PostgreSQL ``integer``); every integer a client sends has an upper bound
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def refuse(code: str, **params: Param) -> PydanticCustomError:
    """A command's own field problem, raised from a validator: it reaches the caller as ``Problem(code, **params)``."""
    return PydanticCustomError(code, code, dict(params))


def _limit(value: Any) -> Param:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    return int(value) if value == int(value) else str(value)


def field_problem(error: ErrorDetails) -> Problem:
    """pydantic's complaint about one field as a field-problem code (``missing`` -> ``required``)."""
    kind, context = error["type"], dict(error.get("ctx") or {})
    if kind in PLAIN_PROBLEMS:
        return Problem(PLAIN_PROBLEMS[kind])
    if kind in LIMIT_PROBLEMS:
        code, key, name = LIMIT_PROBLEMS[kind]
        if code == "too_short" and context.get(key) == 1:
            return Problem("required")
        return Problem(code, **{name: _limit(context.get(key))})
    if kind in ("literal_error", "enum"):
        return Problem("not_a_choice", allowed=re.findall(r"'([^']*)'", str(context.get("expected", ""))))
    if kind not in _PYDANTIC_TYPES:  # raised with ``refuse``
        return Problem(kind, **{name: value for name, value in context.items() if name != "error"})
    return Problem("invalid_value")


def problems_of(exc: ValidationError) -> dict[str, Problem]:
    """Every field's first problem, keyed by its dotted path (``tiers.0.price``; ``body`` for the whole)."""
    problems: dict[str, Problem] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        problems.setdefault(loc, field_problem(err))
    return problems


class Command(BaseModel):
    """A use case's input. Unknown fields are refused; text is stripped; an optional field left blank (a form's
    empty input) takes its default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        optional = {name for name, info in cls.model_fields.items() if not info.is_required()}
        return {k: v for k, v in data.items() if not (k in optional and isinstance(v, str) and not v.strip())}

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        """Problems that depend on more than one field, read from the raw input so that they are reported with
        the fields' own problems."""
        return {}

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """The command, or one ``InvalidInput`` carrying every problem of ``data``."""
        problems: dict[str, Problem] = {}
        command = None
        try:
            command = cls.model_validate(dict(data))
        except ValidationError as exc:
            problems.update(problems_of(exc))
        for name, problem in cls.rules(data).items():
            problems.setdefault(name, problem)
        if problems or command is None:
            raise InvalidInput.fields(problems)
        return command
