"""The API's endpoint decorator: authentication, role, resource scope, validation, serialisation.

Every JSON endpoint is declared with ``endpoint(...)``, which records an ``EndpointSpec``. The OpenAPI
document and the permission-matrix test are both generated from those specs, so a new endpoint joins both
automatically (and one declared without an access policy cannot exist).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.commands import Command, problems_of
from core.db import db
from core.errors import DomainError, Forbidden, InvalidInput, Problem
from core.identity import User
from core.scope import Viewer

from ..auth import ApiIdentity, current_api_identity
from ..inputs import MAX_PAGE

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class MalformedRequest(DomainError):
    status = 400
    code = "malformed_request"


@dataclasses.dataclass(frozen=True)
class Access:
    """Who may call an endpoint: ``roles`` None means public; ``resource`` names the scoped path object."""

    roles: frozenset[str] | None
    resource: str | None = None

    @property
    def public(self) -> bool:
        return self.roles is None


PUBLIC = Access(None)


def allow(*roles: str, resource: str | None = None) -> Access:
    return Access(frozenset(str(r) for r in roles), resource)


@dataclasses.dataclass
class EndpointSpec:
    rule: str
    methods: tuple[str, ...]
    access: Access
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    extra_responses: dict[int, str]
    content_type: str | tuple[str, ...] | None
    multipart: dict[str, str] | None


SPECS: list[EndpointSpec] = []

# kind -> function(session, user, path_params) returning the object or raising NotFound
ResourceResolver = Callable[[Session, User, dict[str, Any]], Any]
# the same, for a resolver that needs only what the scope rule reads of the caller (a ``Viewer``)
ViewerResolver = Callable[[Session, Viewer, dict[str, Any]], Any]
RESOURCES: dict[str, Callable[[Session, ApiIdentity, dict[str, Any]], Any]] = {}


def register_resource(kind: str, resolver: ResourceResolver) -> None:
    RESOURCES[kind] = lambda session, identity, path: resolver(session, identity.user(), path)


def register_viewer_resource(kind: str, resolver: ViewerResolver) -> None:
    """``register_resource`` for a resolver that reads the caller only through the scope rule: it gets the
    request's lightweight principal, so a read path that never calls ``caller()`` builds no ORM user."""
    RESOURCES[kind] = lambda session, identity, path: resolver(session, identity.viewer, path)


class ApiModel(BaseModel):
    """Base for request bodies: unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: int = Field(50, ge=1, le=200)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return value


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status=204, headers=headers)
    body = json.dumps(to_jsonable(data), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json", headers=headers)


def _validated(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """The model from ``data``; a domain command also checks its rules (``Command.parse``)."""
    if issubclass(model, Command):
        return model.parse(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.fields(problems_of(exc)) from exc


def _parse_body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw.strip():
        payload: Any = {}
    else:
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedRequest("malformed_json") from exc
    if not isinstance(payload, dict):
        raise InvalidInput.fields({"body": Problem("not_an_object")})
    return _validated(model, payload)


def _parse_query(model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    return _validated(model, data)


def caller() -> User:
    """The authenticated caller of the current API request (endpoints with roles only), as an ORM user."""
    identity: ApiIdentity | None = g.get("api_identity")
    if identity is None:
        raise Unauthorized()
    return identity.user()


def caller_or_none() -> User | None:
    """The caller of a public endpoint if one signed in, else None."""
    identity: ApiIdentity | None = g.get("api_identity")
    return None if identity is None else identity.user()


def viewer() -> Viewer:
    """What the scope rule reads of the caller (no ORM user is made for it; endpoints with roles only)."""
    identity: ApiIdentity | None = g.get("api_identity")
    if identity is None:
        raise Unauthorized()
    return identity.viewer


def resolved() -> Any:
    """The object the endpoint's ``resource`` resolver loaded for this request (already scope-checked)."""
    return g.resource


def endpoint(
    bp: Blueprint,
    rule: str,
    *,
    methods: Iterable[str] = ("GET",),
    access: Access,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    extra_responses: dict[int, str] | None = None,
    content_type: str | tuple[str, ...] | None = None,
    multipart: dict[str, str] | None = None,
    writes: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint. The view receives path values, then ``body``/``query`` models if declared.

    Order of checks: 401 (no valid token) -> 403 (role) -> 404 (resource outside the caller's scope) ->
    400/422 (input). A view returning normally on an unsafe method has its transaction committed. A safe method
    (GET, HEAD) reads on the reader engine, where the database refuses writes; ``writes=True`` gives a safe method
    that commits something of its own (a cache) the read-write session instead.
    """
    methods = tuple(m.upper() for m in methods)
    prefix = bp.url_prefix or ""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = EndpointSpec(
            rule=prefix + rule,
            methods=methods,
            access=access,
            summary=summary,
            tag=bp.name if bp.name != "api" else (fn.__module__.rsplit(".", 1)[-1]),
            body=body,
            query=query,
            response=response,
            status=status,
            extra_responses=extra_responses or {},
            content_type=content_type,
            multipart=multipart,
        )
        SPECS.append(spec)

        @wraps(fn)
        def view(**path: Any) -> Any:
            # A safe method never commits: it reads on the reader engine (no transaction, writes refused).
            reader = not writes and request.method not in UNSAFE and db.read_only_session()
            try:
                return answer(path)
            finally:
                if reader:
                    db.remove_session()

        def answer(path: dict[str, Any]) -> Any:
            identity = current_api_identity()
            g.api_identity = identity
            if not access.public:
                if identity is None:
                    raise Unauthorized()
                assert access.roles is not None
                if identity.viewer.role not in access.roles:
                    raise Forbidden()
                if access.resource:
                    g.resource = RESOURCES[access.resource](db.session, identity, path)
            kwargs: dict[str, Any] = dict(path)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            result = fn(**kwargs)
            if request.method in UNSAFE:
                db.session.commit()
            if isinstance(result, Response):
                return result
            if isinstance(result, tuple):
                data, code = result[0], result[1]
                headers = result[2] if len(result) > 2 else None
                return json_response(data, code, headers)
            return json_response(result, status)

        view.spec = spec  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=list(methods))
        return view

    return decorate


def paginate(session: Session, stmt: Select[Any], page: PageQuery, serialize: Callable[[Any], Any]) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(page.per_page).offset((page.page - 1) * page.per_page)).all()
    return {
        "items": [serialize(r) for r in rows],
        "page": page.page,
        "per_page": page.per_page,
        "total": total,
    }
