"""The service answers: health, and an athlete round trip, on both databases."""

from conftest import auth


async def test_health_reports_ok_and_database_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_created_athlete_is_listed_with_a_feed_url(client, coach_key):
    body = {"name": "Ana", "timezone": "Europe/Madrid"}
    created = await client.post("/api/v1/athletes", json=body, headers=auth(coach_key))
    assert created.status_code == 201, created.text
    assert created.json()["feed_url"].endswith(".ics")
    listed = await client.get("/api/v1/athletes", headers=auth(coach_key))
    assert [a["name"] for a in listed.json()] == ["Ana"]


async def test_exercise_library_needs_a_key_and_lists_every_ladder_rung(client, coach_key):
    assert (await client.get("/api/v1/exercises")).status_code == 401
    response = await client.get("/api/v1/exercises", headers=auth(coach_key))
    assert response.status_code == 200
    ids = {e["id"] for e in response.json()}
    assert {"glute_bridge", "romanian_deadlift", "deadlift", "nordic_curl", "dead_bug"} <= ids
