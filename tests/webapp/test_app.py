from __future__ import annotations

from flask import Blueprint

from tests.support import PASSWORD
from webapp.api.framework import SPECS


def test_healthz_reports_database_and_queue_to_staff(client, world) -> None:
    body = client.get("/healthz", headers=world.headers("clerk")).get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["queue"]["ok"]


def test_healthz_tells_anyone_else_only_whether_it_is_ok(client, world) -> None:
    for headers in ({}, world.headers("customer"), {"Authorization": "Bearer not-a-token"}):
        reply = client.get("/healthz", headers=headers)
        assert (reply.status_code, reply.get_json()) == (200, {"status": "ok"})


def test_healthz_tells_anyone_only_that_it_fails_when_a_part_is_down(app, client, world) -> None:
    def broken() -> dict[str, object]:
        raise ConnectionError("search server at 10.1.2.3:9200 refused")

    app.extensions["griddesk_health"]["broken_for_test"] = broken
    try:
        public, staff = client.get("/healthz"), client.get("/healthz", headers=world.headers("admin"))
    finally:
        del app.extensions["griddesk_health"]["broken_for_test"]
    assert (public.status_code, public.get_json()) == (503, {"status": "degraded"})
    assert staff.status_code == 503 and staff.get_json()["broken_for_test"]["error"] == "ConnectionError"


def test_healthz_details_for_staff_signed_in_with_a_session(client, world) -> None:
    from tests.support import staff_sign_in

    staff_sign_in(client, "archivist-a")
    assert client.get("/healthz").get_json()["database"]["ok"] is True


def test_security_headers_on_every_response(client) -> None:
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert all(len(headers.getlist(name)) == 1 for name, _value in headers.items())


def test_a_views_own_security_header_is_kept(app) -> None:
    from flask import Response

    from webapp import create_app

    fresh = create_app({"TESTING": True})
    bp = Blueprint("framed", __name__)

    @bp.get("/_framed")
    def framed():  # type: ignore[no-untyped-def]
        return Response("ok", headers={"X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'"})

    fresh.register_blueprint(bp)
    headers = fresh.test_client().get("/_framed").headers
    assert headers.getlist("X-Frame-Options") == ["DENY"]
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert headers["X-Content-Type-Options"] == "nosniff"


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
    for domain in ("archive", "audit", "billing", "notifications", "servicedesk", "connections"):
        module = importlib.import_module(f"{domain}.topics")
        declared |= {value for name, value in vars(module).items() if name.isupper() and value.startswith(domain)}
    assert declared and outbox.topics() == declared


def _address_app(**config):  # type: ignore[no-untyped-def]
    """A fresh app with a route that shows the client address the app sees."""
    from flask import request

    from webapp import create_app

    fresh = create_app({"TESTING": True, **config})
    bp = Blueprint("whoami", __name__)

    @bp.get("/_whoami")
    def whoami():  # type: ignore[no-untyped-def]
        return {"address": request.remote_addr, "scheme": request.scheme}

    fresh.register_blueprint(bp)
    return fresh


PROXIED = {"environ_base": {"REMOTE_ADDR": "10.0.0.5"}, "headers": {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}}


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted(app) -> None:
    seen = _address_app().test_client().get("/_whoami", **PROXIED).get_json()
    assert seen["address"] == "10.0.0.5"


def test_with_one_trusted_proxy_the_client_address_is_the_one_it_forwarded(app) -> None:
    client = _address_app(TRUSTED_PROXY_COUNT=1).test_client()
    headers = {**PROXIED["headers"], "X-Forwarded-Proto": "https"}
    seen = client.get("/_whoami", environ_base=PROXIED["environ_base"], headers=headers).get_json()
    assert seen == {"address": "203.0.113.9", "scheme": "https"}  # the one the proxy saw, not what the client claimed


def test_behind_a_trusted_proxy_one_address_locked_out_leaves_another_signing_in(app, world) -> None:
    fresh = _address_app(TRUSTED_PROXY_COUNT=1)
    client = fresh.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.5"}

    def sign_in(address: str, password: str) -> int:
        body = {"username": "clerk-a", "password": password}
        reply = client.post("/api/v1/auth/token", json=body, environ_base=proxy, headers={"X-Forwarded-For": address})
        return reply.status_code

    statuses = [sign_in("198.51.100.7", "wrong-password") for _ in range(12)]
    assert statuses[-1] == 429
    assert sign_in("203.0.113.9", PASSWORD) == 200


def test_hsts_is_sent_on_every_response_when_cookies_are_secure(app) -> None:
    from webapp import create_app

    client = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": True}).test_client()
    for path in ("/login", "/api/v1/push/vapid-public-key", "/no-such-page", "/static/css/app.css"):
        response = client.get(path, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path


def test_no_hsts_while_cookies_may_travel_over_http(client) -> None:
    assert "Strict-Transport-Security" not in client.get("/login").headers
