from __future__ import annotations

from flask import Blueprint

from webapp.api.framework import SPECS


def test_healthz_reports_database_and_queue(client) -> None:
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["queue"]["ok"]


def test_security_headers_on_every_response(client) -> None:
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def test_unexpected_errors_do_not_leak_a_stack_trace(app) -> None:
    from webapp import create_app

    fresh = create_app({"TESTING": True})
    bp = Blueprint("boom", __name__)

    @bp.get("/api/v1/_boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    fresh.register_blueprint(bp)
    response = fresh.test_client().get("/api/v1/_boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error", "message": "Something went wrong on our side."}}
    assert "secret internals" not in response.get_data(as_text=True)


def test_openapi_describes_every_endpoint(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert SPECS
    for spec in SPECS:
        path = spec.rule.replace("<", "{").replace(">", "}")
        path = __import__("re").sub(r"\{\w+:", "{", path)
        for method in spec.methods:
            assert method.lower() in document["paths"][path], (method, path)
    token_op = document["paths"]["/api/v1/auth/token"]["post"]
    assert token_op["security"] == []
    assert "TokenRequest" in document["components"]["schemas"]


def test_openapi_document_is_valid_openapi_3(client) -> None:
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())


def test_every_topic_a_domain_announces_has_a_subscriber_and_none_other_is_subscribed(app) -> None:
    import importlib

    from core import outbox

    declared = set()
    for domain in ("archive", "audit", "billing", "notifications"):
        module = importlib.import_module(f"{domain}.topics")
        declared |= {value for name, value in vars(module).items() if name.isupper() and value.startswith(domain)}
    assert declared and outbox.topics() == declared
