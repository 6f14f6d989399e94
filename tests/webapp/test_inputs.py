"""Every request's input is bounded before it reaches the database: integers within what a column holds, no NUL
character anywhere (PostgreSQL refused both with a 500)."""

from __future__ import annotations

import contextlib
import importlib
import typing
from typing import Any

import annotated_types
import pytest

from core.commands import Command
from webapp import DOMAINS

HUGE = "9223372036854775807"


def _unbounded_integers(schema: Any, where: str = "", components: dict[str, Any] | None = None) -> list[str]:
    """The places in a JSON schema (following ``$ref`` into ``components``) where an integer has no upper bound."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
            found.append(where)
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/") and components is not None:
            name = ref.rsplit("/", 1)[1]
            found += _unbounded_integers(components[name], f"{where}->{name}", components)
        for key, value in schema.items():
            found += _unbounded_integers(value, f"{where}/{key}", components)
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _unbounded_integers(value, f"{where}[{i}]", components)
    return found


def _all_commands() -> list[type[Command]]:
    for domain in DOMAINS:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(f"{domain}.commands")
    seen: list[type[Command]] = []
    todo = list(Command.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo += cls.__subclasses__()
    return seen


def test_every_integer_a_client_sends_has_an_upper_bound(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    inputs = {
        "parameters": [
            p for path in document["paths"].values() for op in path.values() for p in op.get("parameters", [])
        ],
        "bodies": [op.get("requestBody") for path in document["paths"].values() for op in path.values()],
    }
    # response schemas may count freely; the components referenced by request bodies are checked below
    assert _unbounded_integers(inputs, components=document["components"]["schemas"]) == []
    commands = _all_commands()
    assert len(commands) > 10
    unbounded = {cls.__name__: _int_fields_without_maximum(cls) for cls in commands}
    assert {name: fields for name, fields in unbounded.items() if fields} == {}


def _int_types(annotation: Any) -> list[Any]:
    """The ``int`` parts of a field's type, each with its own metadata (``list[RowId] | None`` -> [RowId])."""
    if annotation is int:
        return [annotation]
    if typing.get_origin(annotation) is typing.Annotated:
        base, *_ = typing.get_args(annotation)
        return [annotation] if base is int else _int_types(base)
    return [part for arg in typing.get_args(annotation) for part in _int_types(arg)]


def _bounded(metadata: Any) -> bool:
    return any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in metadata)


def _int_fields_without_maximum(model: type[Command]) -> list[str]:
    """The fields of a command (used by the pages too, some with files, so read from the model, not a schema)."""
    found = []
    for name, field in model.model_fields.items():
        for part in _int_types(field.annotation):
            own = typing.get_args(part)[1:] if typing.get_origin(part) is typing.Annotated else ()
            own = [m for item in own for m in getattr(item, "metadata", [item])]
            if not (_bounded(own) or (part is int and _bounded(field.metadata))):
                found.append(name)
    return found


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/notifications?page={HUGE}",
        f"/api/v1/accounts/1000000001/payments?page={HUGE}",
        f"/api/v1/audit/findings?page={HUGE}",
        f"/api/v1/archive/search?q=x&page={HUGE}",
    ],
)
def test_a_page_number_beyond_any_list_is_refused(client, world, path: str) -> None:
    reply = client.get(path, headers=world.headers("admin"))
    assert reply.status_code in (404, 422), reply.get_data(as_text=True)[:300]


def test_an_id_beyond_any_table_matches_no_route(client, world) -> None:
    assert client.get(f"/api/v1/archive/documents/{HUGE}", headers=world.headers("admin")).status_code == 404
    assert client.get(f"/staff/billing/payments/{HUGE}/receipt").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "post",
            "/api/v1/customers",
            {"json": {"phone": "13900000009", "password": "long-enough-1", "name": "a\x00b"}},
        ),
        ("post", "/api/v1/auth/token", {"json": {"username": "clerk-a\x00", "password": "x"}}),
        ("get", "/api/v1/accounts/33%0001", {}),
        ("get", "/api/v1/service-points/nearest?address=%00", {}),
        ("get", "/login?next=%00", {}),
    ],
)
def test_a_nul_character_anywhere_is_a_clear_422(client, world, method: str, path: str, kwargs: dict) -> None:
    reply = getattr(client, method)(path, headers=world.headers("customer"), **kwargs)
    assert reply.status_code == 422
    if path.startswith("/api/"):
        assert reply.get_json()["error"]["code"] == "nul_character"


def test_a_body_over_the_limit_is_a_413_the_document_announces(app, client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert "413" in document["paths"]["/api/v1/customers"]["post"]["responses"]
    assert "429" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        reply = client.post("/api/v1/customers", json={"name": "x" * 2000})
        assert reply.status_code == 413
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
