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

from ..auth import ApiIdentity, Unauthorized, bearer_token, current_api_identity
from ..inputs import MAX_PAGE

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


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


# kind -> function(session, bearer token, path params) reading the token's user and the resource in one statement:
# the caller (None for a token that names no active user at its version) and a function giving the resource or
# raising NotFound, called only once the caller passed the role check (401, then 403, then 404 as ever).
TokenResolver = Callable[[Session, str, dict[str, Any]], tuple[ApiIdentity | None, Callable[[], Any]]]
TOKEN_RESOURCES: dict[tuple[str, str | None], TokenResolver] = {}  # by kind and database dialect


def register_token_resource(kind: str, resolver: TokenResolver, *, dialect: str) -> None:
    """A second resolver for a ``kind`` registered already, for requests with a bearer token on a database of
    ``dialect``: a hot read path reads its caller and its resource in one round trip. A request signed in by
    session, or on another database, uses the first."""
    assert kind in RESOURCES, kind
    TOKEN_RESOURCES[kind, dialect] = resolver


# A hot write path of one endpoint (``endpoint(..., fast_path=...)``), tried before the endpoint's checks with the
# path values: it answers only what the endpoint would answer too, and itself commits what it writes; None (having
# written nothing) sends the request the ordinary way, whose checks answer as ever (401, 403, 404, then 422). It
# reads the request itself (``bearer_token``, ``webapp.auth.token_claims``, ``parse_body``).
FastPath = Callable[[dict[str, Any]], Any]


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


def _json_default(value: Any) -> Any:
    """``to_jsonable`` for one value the JSON encoder cannot write itself (it calls this for no other)."""
    if isinstance(value, set | frozenset):
        return list(value)
    converted = to_jsonable(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON")
    return converted


def dumps(data: Any) -> str:
    """``data`` as compact JSON, values as ``to_jsonable`` gives them. The encoder walks dicts, lists and strings
    in C and asks ``_json_default`` only for the rest (money, days, enums, models): most of an answer is walked
    once, not copied first. Keys it does not take (a day as a key) go the long way."""
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except TypeError:
        return json.dumps(to_jsonable(data), ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status=204, headers=headers)
    return Response(dumps(data), status=status, mimetype="application/json", headers=headers)


def _validated(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """The model from ``data``; a domain command also checks its rules (``Command.parse``)."""
    if issubclass(model, Command):
        return model.parse(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.fields(problems_of(exc)) from exc


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as ``model``, as an endpoint declared with ``body=model`` gets it (400 or 422 else)."""
    return _parse_body(model)


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
    fast_path: FastPath | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint. The view receives path values, then ``body``/``query`` models if declared.

    Order of checks: 401 (no valid token) -> 403 (role) -> 404 (resource outside the caller's scope) ->
    400/422 (input). A view returning normally on an unsafe method has its transaction committed. A safe method
    (GET, HEAD) reads on the reader engine, where the database refuses writes; ``writes=True`` gives a safe method
    that commits something of its own (a cache) the read-write session instead.

    ``fast_path``: see ``FastPath``; tried first, and when it answers None the endpoint answers as above.
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
            by_token = TOKEN_RESOURCES.get((access.resource, db.dialect_name)) if access.resource else None
            token = bearer_token() if by_token is not None else None
            found: Callable[[], Any] | None = None
            if by_token is not None and token is not None:
                identity, found = by_token(db.session, token, path)
            else:
                identity = current_api_identity()
            g.api_identity = identity
            if not access.public:
                if identity is None:
                    raise Unauthorized()
                assert access.roles is not None
                if identity.viewer.role not in access.roles:
                    raise Forbidden()
                if found is not None:
                    g.resource = found()
                elif access.resource:
                    g.resource = RESOURCES[access.resource](db.session, identity, path)
            kwargs: dict[str, Any] = dict(path)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            result = fn(**kwargs)
            if request.method in UNSAFE:
                db.session.commit()
            return _response(result, status)

        def first_fast(**path: Any) -> Any:
            assert fast_path is not None
            result = fast_path(path)
            return view(**path) if result is None else _response(result, status)

        routed = view if fast_path is None else wraps(fn)(first_fast)

        routed.spec = spec  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=routed, methods=list(methods))
        return routed

    return decorate


def _response(result: Any, status: int) -> Response:
    """A view's result as the response: a response as it is, (data, status[, headers]) or data with ``status``."""
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        data, code = result[0], result[1]
        headers = result[2] if len(result) > 2 else None
        return json_response(data, code, headers)
    return json_response(result, status)


def paginate(session: Session, stmt: Select[Any], page: PageQuery, serialize: Callable[[Any], Any]) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(page.per_page).offset((page.page - 1) * page.per_page)).all()
    return {
        "items": [serialize(r) for r in rows],
        "page": page.page,
        "per_page": page.per_page,
        "total": total,
    }
