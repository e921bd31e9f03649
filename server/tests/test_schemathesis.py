"""Property-based fuzzing of every route in ``/openapi.json`` (schemathesis): never a 5xx.

Requests go to a live server of its own (they may reset its store), with an admin key; each
operation gets a bounded number of generated requests. The schema is the app's own, built at
collection (schemathesis's lazy fixture loader does not run on pytest 9), and a test checks
it is exactly what the live server serves at ``/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mnemoweave_server import ServerSettings, create_app
from mnemoweave_server.testing import LiveServer


@pytest.fixture(scope="module")
def fuzzed(sandbox: Path, server_env: dict[str, str]) -> Iterator[LiveServer]:
    with LiveServer(sandbox / "fuzzed", env=server_env) as server:
        yield server


SPEC = create_app(ServerSettings()).openapi()  # builds routes only; opens nothing
schema = schemathesis.openapi.from_dict(SPEC)


def test_the_fuzzed_schema_is_the_served_one(fuzzed: LiveServer) -> None:
    assert httpx.get(f"{fuzzed.url}/openapi.json").json() == SPEC


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_route_answers_5xx(case: Any, fuzzed: LiveServer) -> None:
    case.call_and_validate(
        base_url=fuzzed.url,
        headers={"Authorization": f"Bearer {fuzzed.admin_key}"},
        checks=[not_a_server_error],
    )
