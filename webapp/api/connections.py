"""Business handling (业扩报装, 变更用电): applications, their steps, papers, withdrawal, assignment and rating."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, current_app, request

from archive.uploads import inspect_upload
from connections import queries, services, settings
from connections.commands import AddUpload, Apply, Assign, DoStep, Rate, Step, Type
from connections.models import Application, ApplicationStatus, ApplicationUpload
from core.db import db
from core.errors import InvalidInput, NotFound, Problem
from core.identity import ALL_ROLES, Role

from ..exports import kept_file_response
from . import api
from .framework import PageQuery, allow, caller, endpoint, paginate, register_resource, resolved

APPLICANTS = allow(Role.CUSTOMER, Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
APPLICATION = allow(*ALL_ROLES, resource="application")
HANDLERS = allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN, resource="application")
APPLICANT = allow(Role.CUSTOMER, resource="application")
PAPER_SENDERS = allow(Role.CUSTOMER, Role.CLERK, Role.SUPERVISOR, Role.ADMIN, resource="application")

register_resource(
    "application", lambda session, user, path: queries.visible_application(session, user, str(path["application_no"]))
)


def _summary(application: Application) -> dict[str, Any]:
    numbers = queries.account_numbers(db.session, [application])
    return queries.summary(application, numbers.get(application.account_id or 0))


def _view(application: Application) -> dict[str, Any]:
    return queries.application_view(db.session, application)


@endpoint(
    api,
    "/applications",
    methods=["POST"],
    access=APPLICANTS,
    body=Apply,
    status=201,
    summary="Apply for a new connection or a change of an account (customers for themselves, staff on a "
    "customer's behalf); the steps come with their due dates",
    extra_responses={409: "the account has an open application, or its status forbids the change"},
)
def create_application(body: Apply) -> Any:
    application = services.apply(db.session, caller(), body, id_hash_key=current_app.config["ID_HASH_KEY"])
    return _summary(application), 201


class ApplicationQuery(PageQuery):
    status: Literal[tuple(s.value for s in ApplicationStatus)] | None = None  # type: ignore[valid-type]
    type: Type | None = None
    overdue: bool | None = None
    account_no: str | None = None


@endpoint(
    api,
    "/applications",
    access=allow(*ALL_ROLES),
    query=ApplicationQuery,
    summary="Applications: customers their own, staff their units' (open ones soonest due first)",
)
def list_applications(query: ApplicationQuery) -> Any:
    stmt = queries.listing(
        caller(), status=query.status, type_=query.type, overdue=query.overdue, account_no=query.account_no
    )
    page = paginate(db.session, stmt, query, lambda application: application)
    numbers = queries.account_numbers(db.session, page["items"])
    page["items"] = [queries.summary(a, numbers.get(a.account_id or 0)) for a in page["items"]]
    return page


@endpoint(api, "/applications/<application_no>", access=APPLICATION, summary="An application and its timeline")
def get_application(application_no: str) -> Any:
    return _view(resolved())


@endpoint(
    api,
    "/applications/<application_no>/steps/<step>",
    methods=["POST"],
    access=HANDLERS,
    body=DoStep,
    summary="Do the application's current step with its fields, or return the application to the customer "
    "(the clock stops until the customer answers)",
    extra_responses={409: "not the current step (step_out_of_order), or the application is closed or waiting"},
)
def do_application_step(application_no: str, step: str, body: DoStep) -> Any:
    if step not in Step.__args__:  # type: ignore[attr-defined]
        raise NotFound("step_not_in_type", step=step)
    return _view(services.complete_step(db.session, caller(), resolved(), step, body))


@endpoint(
    api,
    "/applications/<application_no>/documents",
    methods=["POST"],
    access=PAPER_SENDERS,
    status=201,
    summary="Send a paper for the application (an ID card, a business licence, a property proof: an image or a "
    "PDF); a refused file leaves nothing behind",
    multipart={"file": "binary", "doc_type": "string", "title": "string"},
    extra_responses={422: "not an image or PDF, too large, or a wrong doc_type", 409: "closed, or too many papers"},
)
def add_application_paper(application_no: str) -> Any:
    command = AddUpload.parse({key: request.form.get(key) for key in request.form})
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput.fields({"file": Problem("required")})
    info = inspect_upload(upload.stream, upload.filename, max_bytes=int(settings.get("CONNECTIONS_UPLOAD_MAX_BYTES")))
    if info.content_type not in ("application/pdf", "image/jpeg", "image/png"):
        raise InvalidInput.fields({"file": Problem("unsupported_type")}, "unsupported_type")
    content = upload.stream.read()
    paper = services.add_upload(db.session, caller(), resolved(), command, content, info.content_type)
    return {"id": paper.id, "doc_type": paper.kind, "title": paper.title}, 201


@endpoint(
    api,
    "/applications/<application_no>/documents/<int:upload_id>",
    access=APPLICATION,
    summary="A paper sent with the application, as it was checked on arrival",
    content_type="application/octet-stream",
)
def get_application_paper(application_no: str, upload_id: int) -> Any:
    return paper_response(queries.upload(db.session, resolved(), upload_id))


def paper_response(paper: ApplicationUpload) -> Response:
    """A paper as it was checked on arrival."""
    return kept_file_response(paper.content, paper.content_type)


@endpoint(
    api,
    "/applications/<application_no>/withdraw",
    methods=["POST"],
    access=APPLICANT,
    summary="The applicant withdraws an open application",
    extra_responses={409: "the application is closed"},
)
def withdraw_application(application_no: str) -> Any:
    return _view(services.withdraw(db.session, caller(), resolved()))


@endpoint(
    api,
    "/applications/<application_no>/resume",
    methods=["POST"],
    access=PAPER_SENDERS,
    summary="The customer answered what was asked: the clock runs again",
    extra_responses={409: "the application is not waiting for the customer"},
)
def resume_application(application_no: str) -> Any:
    return _view(services.resume(db.session, caller(), resolved()))


@endpoint(
    api,
    "/applications/<application_no>/assignment",
    methods=["POST"],
    access=HANDLERS,
    body=Assign,
    summary="Give the application to a member of staff who may see it",
    extra_responses={409: "the application is closed"},
)
def assign_application(application_no: str, body: Assign) -> Any:
    return _view(services.assign(db.session, caller(), resolved(), body))


@endpoint(
    api,
    "/applications/<application_no>/rating",
    methods=["POST"],
    access=APPLICANT,
    body=Rate,
    summary="The applicant rates a completed application (1 to 5), once",
    extra_responses={409: "not completed, or already rated"},
)
def rate_application(application_no: str, body: Rate) -> Any:
    return _view(services.rate(db.session, caller(), resolved(), body))
