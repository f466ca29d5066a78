"""The OpenAPI contract of api.md Revision 2: typed, described models and an offline docs page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import auth
from support import athlete_body

TYPED = (
    "PlanOut",
    "SessionOut",
    "PrescriptionOut",
    "WeekReportOut",
    "TargetOut",
    "SolverOut",
    "HealthOut",
)


@pytest.fixture
async def schema(client) -> dict[str, Any]:
    answer = await client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def free_form(prop: dict[str, Any]) -> bool:
    """An object the schema says nothing about: no properties, no $ref, no typed values."""
    if "$ref" in prop or "allOf" in prop or "anyOf" in prop or "oneOf" in prop:
        return False
    if prop.get("type") == "array":
        return free_form(prop.get("items", {}))
    if prop.get("type") == "object":
        extra = prop.get("additionalProperties")
        return "properties" not in prop and not (isinstance(extra, dict) and extra.get("type"))
    return not prop  # {} is anything


@pytest.mark.parametrize("name", TYPED)
async def test_plan_models_are_typed_and_every_field_is_described(schema, name):
    model = schema["components"]["schemas"][name]
    for field, prop in model["properties"].items():
        assert prop.get("description"), f"{name}.{field} has no description"
        assert not free_form(prop), f"{name}.{field} is a free-form object"


async def test_plan_read_and_session_read_declare_their_models(schema):
    paths = schema["paths"]
    plan = paths["/api/v1/athletes/{athlete_id}/plan"]
    for method in ("get", "post"):
        answer = plan[method]["responses"]["200" if method == "get" else "201"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PlanOut"
        }
    session = paths["/api/v1/athletes/{athlete_id}/sessions/{session_id}"]["get"]
    assert session["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SessionReadOut"
    }
    read = schema["components"]["schemas"]["SessionReadOut"]["properties"]
    assert read["feedback"]["items"] == {"$ref": "#/components/schemas/LoggedOut"}
    names = {p["name"] for p in plan["get"]["parameters"]}
    assert {"from", "to"} <= names


async def test_health_declares_its_model(schema):
    health = schema["paths"]["/health"]["get"]["responses"]["200"]
    assert health["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthOut"
    }


async def test_availability_times_are_declared_as_hh_mm_strings(schema):
    window = schema["components"]["schemas"]["Window"]["properties"]
    for end in ("start", "end"):
        assert window[end]["type"] == "string"
        assert "format" not in window[end]  # not "duration", not RFC 3339 "time"
        assert re.fullmatch(window[end]["pattern"], "07:00")
        assert not re.fullmatch(window[end]["pattern"], "PT7H")


@pytest.mark.parametrize("value", ["07:00+01:00", "7am", "24:00", "PT7H"])
async def test_a_window_time_not_written_hh_mm_answers_422_naming_it(client, coach_key, value):
    body = athlete_body(availability={"monday": [{"start": value, "end": "21:00"}]})
    answer = await client.post("/api/v1/athletes", json=body, headers=auth(coach_key))
    assert answer.status_code == 422, answer.text
    assert any("monday" in e["key"] and "start" in e["key"] for e in answer.json()["extra"])


async def test_athlete_answer_writes_window_times_as_hh_mm(client, coach_key):
    body = athlete_body(availability={"monday": [{"start": "07:00", "end": "08:30"}]})
    answer = await client.post("/api/v1/athletes", json=body, headers=auth(coach_key))
    assert answer.status_code == 201
    athlete = await client.get(f"/api/v1/athletes/{answer.json()['id']}", headers=auth(coach_key))
    assert athlete.json()["availability"]["monday"] == [{"start": "07:00", "end": "08:30"}]


async def test_docs_page_loads_every_asset_from_the_service_itself(client):
    page = await client.get("/schema")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page.text)
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by the service"
        asset = await client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "http://" not in page.text.split("spec:")[0]
    assert "https://" not in page.text.split("spec:")[0]
