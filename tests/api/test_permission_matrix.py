"""Every API endpoint, every role, an own and a foreign resource.

Expectations come from each endpoint's declared access policy, and the test also checks that policy against
the roles the product intends (``INTENDED``), so an endpoint that opens to the wrong role fails here. A new
endpoint joins automatically; one missing from ``INTENDED`` fails ``test_every_endpoint_has_an_intended_policy``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import tests.api
from tests.api.resources import DEFAULT_PARAMS, PER_ROLE, PROVIDERS, load_providers
from tests.support import ROLES
from webapp import create_app  # noqa: F401  (import keeps the app modules loaded for collection)
from webapp.api import load_modules
from webapp.api.framework import SPECS

load_modules()
load_providers()

ALL = {"customer", "archivist", "clerk", "supervisor", "admin"}
STAFF = ALL - {"customer"}
PUBLIC = None

# (method, rule) -> roles allowed (None: public). The product's intent, written down independently.
INTENDED: dict[tuple[str, str], set[str] | None] = {
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/customers"): PUBLIC,
    ("POST", "/api/v1/customers/verification-codes"): PUBLIC,
    ("GET", "/api/v1/me"): ALL,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    # a payment provider's notice: no caller identity, trusted only by the provider's signature
    ("POST", "/api/v1/payment-providers/<provider>/notify"): PUBLIC,
    ("POST", "/api/v1/admin/units"): {"admin"},
    ("POST", "/api/v1/admin/users"): {"admin"},
    ("POST", "/api/v1/admin/accounts"): {"admin"},
    ("POST", "/api/v1/me/accounts"): {"customer"},
    ("GET", "/api/v1/me/accounts"): {"customer"},
    ("DELETE", "/api/v1/me/accounts/<account_no>"): {"customer"},
    ("GET", "/api/v1/accounts/<account_no>"): ALL,
}
# each domain adds its endpoints' intended roles in tests/api/intended_<domain>.py
for _info in pkgutil.iter_modules(tests.api.__path__):
    if _info.name.startswith("intended_"):
        INTENDED.update(importlib.import_module(f"tests.api.{_info.name}").INTENDED)

CASES = [(method, spec) for spec in SPECS for method in spec.methods]


def _case_id(case: tuple[str, object]) -> str:
    method, spec = case
    return f"{method} {spec.rule}"  # type: ignore[attr-defined]


def test_every_api_route_is_declared_with_a_policy(app) -> None:
    routes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    assert {rule.rule for rule in routes} == {spec.rule for spec in SPECS}
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "spec"), f"{rule.rule} was not declared with framework.endpoint"


def test_every_endpoint_has_an_intended_policy() -> None:
    missing = [_case_id(c) for c in CASES if (c[0], c[1].rule) not in INTENDED]
    assert not missing, f"add these to INTENDED (tests/api/intended_<domain>.py): {missing}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_declared_policy_matches_intent(case) -> None:
    method, spec = case
    intended = INTENDED[(method, spec.rule)]
    declared = None if spec.access.public else set(spec.access.roles)
    assert declared == intended


def _url(rule: str, params: dict[str, object]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        return str(params.get(name, DEFAULT_PARAMS.get(name, "1")))

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def _call(client, method: str, url: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method in {"POST", "PUT", "PATCH"}:
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_role_and_scope_matrix(case, client, world, session) -> None:
    method, spec = case
    access = spec.access
    own, foreign = ({}, {})
    if access.resource:
        assert access.resource in PROVIDERS, f"no test provider for resource kind {access.resource!r}"
        own, foreign = PROVIDERS[access.resource](world, session)
    anonymous = _call(client, method, _url(spec.rule, own), None)
    if access.public:
        assert anonymous.status_code not in {401, 403}, anonymous.get_data(as_text=True)
        return
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] in {"unauthorized"}
    for role in ROLES:
        token = world.token(role)
        if role not in access.roles:
            response = _call(client, method, _url(spec.rule, own), token)
            assert response.status_code == 403, (role, response.get_data(as_text=True))
            continue
        if access.resource in PER_ROLE:  # a resource of one user (a saved search): each role its own
            own, foreign = PROVIDERS[access.resource](world, session, role)
        if access.resource:
            response = _call(client, method, _url(spec.rule, foreign), token)
            assert response.status_code == 404, (role, "foreign", response.get_data(as_text=True))
            assert "error" in response.get_json()
        response = _call(client, method, _url(spec.rule, own), token)
        assert response.status_code not in {401, 403, 404, 500}, (
            role,
            "own",
            response.get_data(as_text=True),
        )
