"""The OpenAPI 3 document, generated from the endpoint specs (``framework.SPECS``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from ..inputs import MAX_ID
from . import api
from .framework import PUBLIC, SPECS, EndpointSpec, endpoint

_PATH_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
_STANDARD_ERRORS = {
    400: "malformed request",
    401: "no valid bearer token",
    403: "role may not act",
    404: "not found or not visible to the caller",
    422: "input not valid",
}


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components[name] = sub
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}
    if isinstance(model, dict):
        return model
    return {"type": "object"}


GEOJSON_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array", "items": {"type": "object"}}},
}


def _content_schema(media: str, response: Any, components: dict[str, Any]) -> dict[str, Any]:
    """A success answer's schema in one media type: JSON ones by the response model (GeoJSON a feature
    collection unless the endpoint says more), anything else as bytes."""
    if media == "application/geo+json" and response is None:
        return GEOJSON_COLLECTION
    if media == "application/json" or media.endswith("+json"):
        return _schema(response, components)
    return {"type": "string", "format": "binary"}


def _operation(
    spec: EndpointSpec, method: str, params: list[dict[str, Any]], components: dict[str, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', spec.rule.lower())}",
    }
    parameters = list(params)
    if spec.query is not None:
        qschema = spec.query.model_json_schema()
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(spec.body, components)}},
        }
    elif spec.multipart:
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            k: (
                                {"type": "string", "format": "binary"}
                                if v == "binary"
                                else {"type": "string", "description": v}
                            )
                            for k, v in spec.multipart.items()
                        },
                    }
                }
            },
        }
    media_types = spec.content_type or "application/json"
    ok: dict[str, Any] = {"description": "success"}
    if spec.status != 204:
        ok["content"] = {
            media: {"schema": _content_schema(media, spec.response, components)}
            for media in ((media_types,) if isinstance(media_types, str) else media_types)
        }
    responses: dict[str, Any] = {str(spec.status): ok}
    errors = dict(_STANDARD_ERRORS)
    if spec.body is not None or spec.multipart:
        errors[413] = "request larger than MAX_UPLOAD_BYTES"
    if spec.access.public:
        errors.pop(401), errors.pop(403)
    errors.update(spec.extra_responses)
    for status, text in errors.items():
        responses[str(status)] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op["responses"] = responses
    if spec.access.public:
        op["security"] = []
    else:
        op["x-roles"] = sorted(spec.access.roles or [])
    return op


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for spec in SPECS:
        params = [
            {
                "name": m.group("name"),
                "in": "path",
                "required": True,
                "schema": (
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                    if m.group("conv") == "int"
                    else {"type": "string"}
                ),
            }
            for m in _PATH_PARAM.finditer(spec.rule)
        ]
        path = _PATH_PARAM.sub(lambda m: "{" + m.group("name") + "}", spec.rule)
        for method in spec.methods:
            paths.setdefault(path, {})[method.lower()] = _operation(spec, method, params, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GridDesk API",
            "version": "1.0.0",
            "description": "Customer self-service, billing records, archive and audit.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


@endpoint(api, "/openapi.json", access=PUBLIC, summary="This OpenAPI 3 document")
def openapi_document() -> Any:
    return build_document()
