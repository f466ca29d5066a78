"""Property-based API tests: schemathesis generates requests from the app's own OpenAPI schema.

Every operation is called with generated valid and invalid input (positive and negative modes),
authenticated as a test coach, and each response must be no server error (5xx), use a status
code the schema documents for that operation, carry the documented content type, and match the
documented response schema.

It runs on SQLite and on PostgreSQL (the suite's `database_url` fixture: a database of its own,
migrated to head; in CI a missing PostgreSQL fails). Schemathesis drives the app through its own
ASGI transport, on an event loop per call, so on PostgreSQL the app keeps no pooled connection
between calls (NullPool: an asyncpg connection belongs to the loop that opened it).
Generation is deterministic (fixed seed) and capped at MAX_EXAMPLES per operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.cli import create_coach
from api.settings import Settings

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="session")
def target(database_url: str) -> Iterator[dict[str, Any]]:
    """The database, a coach key, and an athlete with rides and a plan."""
    config = Settings(database_url=database_url, solver_time_limit_s=2.0, null_pool=True)
    key = asyncio.run(create_coach(config, "fuzz coach"))
    headers = {"Authorization": f"Bearer {key}"}
    zone = ZoneInfo("Europe/Berlin")
    today = datetime.now(zone).date()
    with TestClient(create_app(config)) as client:
        athlete = client.post(
            "/api/v1/athletes",
            json={
                "name": "Fuzz",
                "timezone": "Europe/Berlin",
                "availability": {"monday": [{"start": "06:00", "end": "20:00"}]},
            },
            headers=headers,
        )
        assert athlete.status_code == 201, athlete.text
        athlete_id = athlete.json()["id"]
        start = datetime.combine(today + timedelta(days=2), time(18), zone)
        rides = client.put(
            f"/api/v1/athletes/{athlete_id}/rides",
            json=[{"start": start.isoformat(), "duration_min": 60, "kind": "intervals"}],
            headers=headers,
        )
        assert rides.status_code == 200, rides.text
        planned = client.post(
            f"/api/v1/athletes/{athlete_id}/plan", json={"weeks": 2}, headers=headers
        )
        assert planned.status_code == 201, planned.text
    yield {"app": create_app(config), "headers": headers, "athlete_id": athlete_id}


# The schema depends on the routes only, not on the database: it is read from an app object at
# import (schemathesis parametrizes at collection); requests go to the fixture's app.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi_schema.to_schema()
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_get_no_5xx_and_only_documented_statuses_and_shapes(case, target):
    # the coach's real athlete, so handlers run past the 404; DELETE of the athlete itself
    # keeps its generated (unknown) id, since deleting the athlete would end that
    path = case.path_parameters or {}
    if "athlete_id" in path and not (case.method == "DELETE" and "ride_id" not in path):
        path["athlete_id"] = target["athlete_id"]
    case.call_and_validate(app=target["app"], headers=target["headers"], checks=CHECKS)


def test_the_schema_lists_every_api_operation():
    """The fuzzing above reaches every route: none is missing from the schema."""
    operations = {
        (op.method.upper(), op.path)
        for op in (result.ok() for result in schema.get_all_operations())
    }
    assert {
        ("POST", "/api/v1/athletes"),
        ("GET", "/api/v1/athletes"),
        ("GET", "/api/v1/athletes/{athlete_id}"),
        ("PATCH", "/api/v1/athletes/{athlete_id}"),
        ("DELETE", "/api/v1/athletes/{athlete_id}"),
        ("POST", "/api/v1/athletes/{athlete_id}/feed-token"),
        ("PUT", "/api/v1/athletes/{athlete_id}/rides"),
        ("POST", "/api/v1/athletes/{athlete_id}/rides"),
        ("GET", "/api/v1/athletes/{athlete_id}/rides"),
        ("DELETE", "/api/v1/athletes/{athlete_id}/rides/{ride_id}"),
        ("POST", "/api/v1/athletes/{athlete_id}/rides/import"),
        ("POST", "/api/v1/athletes/{athlete_id}/plan"),
        ("GET", "/api/v1/athletes/{athlete_id}/plan"),
        ("GET", "/api/v1/athletes/{athlete_id}/plan.ics"),
        ("POST", "/api/v1/athletes/{athlete_id}/sessions/{session_id}/feedback"),
        ("POST", "/api/v1/athletes/{athlete_id}/pain"),
        ("GET", "/api/v1/athletes/{athlete_id}/progression"),
        ("POST", "/api/v1/athletes/{athlete_id}/clearance"),
        ("GET", "/api/v1/athletes/{athlete_id}/sessions/{session_id}"),
        ("GET", "/feeds/{filename}"),
        ("HEAD", "/feeds/{filename}"),
        ("GET", "/health"),
    } <= operations
