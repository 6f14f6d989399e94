"""Property-based tests over the served OpenAPI document (schemathesis): for every operation and every role,
generated requests never get a server error, and every answer has a documented status code and matches its
documented schema. ``FUZZ_EXAMPLES`` sets the examples per operation (a few in ``make test``, many in
``make fuzz``)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _failures_of(operation: Any, headers: dict[str, str]) -> list[str]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Exception as exc:  # schemathesis reports every failed check of the minimal example at once
        return [f"{operation.label}: {exc}"]
    return []


@pytest.mark.parametrize("role", ["admin", "clerk", "archivist", "supervisor", "customer", "anonymous"])
def test_no_request_breaks_the_contract(app, world, role: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {} if role == "anonymous" else world.headers(role)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        failures += _failures_of(operation, headers)
    assert not failures, "\n\n".join(failures)
