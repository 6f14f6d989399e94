"""Errors in the reader's language: the API's error format for every error, and pages for the HTML areas.

A domain error is a code with parameters (``core.errors``); its text comes from ``webapp.error_catalogue`` through
the message catalogue, in the language the request selected (``?lang=``, the session, ``Accept-Language``). API
replies keep ``{"error": {"code", "message", "details"}}``: ``details.fields`` maps each field to its rendered
problem and ``details.problems`` gives the same as codes with parameters (``{"code", "params"}``) for programs.
HTML views show problems with the page's own field labels (``form_errors``); no view reads an error's text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import DomainError, InvalidInput, Param, Problem

from .connection_labels import STATUS_LABELS, STEP_LABELS, TYPE_LABELS, label
from .error_catalogue import ERRORS, PROBLEMS
from .ticket_text import status_label

log = logging.getLogger(__name__)

# The code of an HTTP error raised by Flask or a view (``abort(404)``); others are ``http_error``.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_entity_too_large",
    422: "invalid_input",
    429: "too_many_attempts",
    500: "internal_error",
}
# The heading of an error page.
PAGE_TITLES = {
    400: _l("The request could not be handled"),
    401: _l("Please sign in"),
    403: _l("Access denied"),
    404: _l("Not found"),
    405: _l("Not allowed here"),
    409: _l("Conflict"),
    413: _l("Too large"),
    422: _l("Please check the input"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}


def _weekday(value: str) -> str:
    from .portal.map import DAY_LABELS

    return str(DAY_LABELS.get(value, value))


# how a held reading's review ended (billing.models.ReadingStatus)
REVIEW_OUTCOMES = {"accepted": _l("accepted as entered"), "corrected": _l("corrected on review")}


# Parameters whose values are codes of a controlled list, shown by their label.
LABELLED_PARAMS: dict[str, dict[str, Callable[[str], str]]] = {
    "invalid_transition": {"current": _, "to": _},
    "ticket_step_not_allowed": {"status": status_label, "to": status_label},
    "hours_format": {"days": _weekday},
    "reading_already_reviewed": {"status": lambda value: str(REVIEW_OUTCOMES.get(value, value))},
    "account_status_forbids": {"status": _, "type": lambda value: label(TYPE_LABELS, value)},
    "application_closed": {"status": lambda value: label(STATUS_LABELS, value)},
    "step_not_in_type": {"step": lambda value: label(STEP_LABELS, value)},
    "step_out_of_order": {
        "step": lambda value: label(STEP_LABELS, value),
        "expected": lambda value: label(STEP_LABELS, value),
    },
}


def _list_separator() -> str:
    locale = get_locale()
    return "、" if locale is not None and locale.language == "zh" else ", "


def _show(value: Param, label: Callable[[str], str] | None) -> str:
    if isinstance(value, list | tuple):
        return _list_separator().join(_show(v, label) for v in value)
    return label(str(value)) if label is not None else str(value)


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:  # a text never fails for want of a parameter
        return ""


def render(code: str, params: Mapping[str, Param] | None = None) -> str:
    """The text of an error or problem code in the current language (the code itself if it has no text)."""
    text = ERRORS.get(code) or PROBLEMS.get(code)
    if text is None:
        log.warning("error code without a text: %s", code)
        return code
    labels = LABELLED_PARAMS.get(code, {})
    shown = _Params({name: _show(value, labels.get(name)) for name, value in (params or {}).items()})
    return str(text) % shown if "%(" in str(text) else str(text)


def problem_text(problem: Problem) -> str:
    return render(problem.code, problem.params)


def error_message(exc: DomainError) -> str:
    return render(exc.code, exc.params)


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"code": problem.code, "params": dict(problem.params)}


def error_details(exc: DomainError) -> dict[str, Any]:
    """The API's ``details``: the parameters, every field's problem rendered and as codes, bad rows likewise."""
    details: dict[str, Any] = dict(exc.params)
    if exc.problems:
        details["fields"] = {name: problem_text(p) for name, p in exc.problems.items()}
        details["problems"] = {name: _problem_json(p) for name, p in exc.problems.items()}
    if exc.rows:
        details["rows"] = {row: {n: problem_text(p) for n, p in ps.items()} for row, ps in exc.rows.items()}
        details["row_problems"] = {row: {n: _problem_json(p) for n, p in ps.items()} for row, ps in exc.rows.items()}
    return details


@dataclass
class FormErrors:
    """A refused form for its page: each field's problem (shown beside the field), the summary lines
    (``label: problem`` with the page's labels; the error's own text first unless the fields say it all), and the
    problems of each bad row of an uploaded file (row -> one line)."""

    fields: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    rows: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.summary)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def add(self, name: str | None, text: str, labels: Mapping[str, Any] | None = None) -> None:
        """One problem already in words (a page's own check): beside ``name`` and in the summary."""
        if name is not None:
            self.fields[name] = text
        self.summary.append(_labelled(name, text, labels or {}))


def _labelled(name: str | None, text: str, labels: Mapping[str, Any]) -> str:
    label = labels.get(name) if name is not None else None
    # a field the page has no label for is not named: its name is an English code
    return _("%(field)s: %(problem)s", field=str(label), problem=text) if label else text


def form_errors(exc: DomainError, labels: Mapping[str, Any]) -> FormErrors:
    """``exc`` for an HTML form whose fields the page labels ``labels`` (field -> label)."""
    found = FormErrors()
    for name, problem in exc.problems.items():
        found.add(name, problem_text(problem), labels)
    message = error_message(exc)
    if exc.rows or not exc.problems or (exc.code != InvalidInput.code and message not in found.fields.values()):
        found.summary.insert(0, message)
    for row, problems in exc.rows.items():
        found.rows[row] = "; ".join(_labelled(n, problem_text(p), labels) for n, p in problems.items())
    return found


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def _page(status: int, message: str) -> tuple[str, int]:
    title = PAGE_TITLES.get(status) or PAGE_TITLES[400 if status < 500 else 500]
    return render_template("error.html", status=status, title=str(title), message=message), status


def _reply(status: int, code: str, text_code: str | None = None, params: Mapping[str, Param] | None = None) -> Any:
    message = render(text_code or code, params)
    if wants_json():
        return error_response(status, code, message)
    return _page(status, message)


def _http_code(exc: HTTPException) -> str:
    if exc.code == 429:
        return "too_many_attempts"
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        db.session.rollback()
        if wants_json():
            return error_response(exc.status, exc.code, error_message(exc), error_details(exc))
        shown = form_errors(exc, {})
        rows = [_("Row %(row)s: %(problems)s", row=row, problems=text) for row, text in shown.rows.items()]
        return _page(exc.status, " ".join(shown.summary + rows))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return _reply(400, "csrf_failed")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        db.session.rollback()
        status = exc.code or 500
        code = _http_code(exc)
        known = code if code in ERRORS else HTTP_CODES.get(status)
        return _reply(status, code, known or "http_error", {"status": status})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _reply(500, "internal_error")
