"""A coach sees only their own athletes: another coach's athlete answers exactly like a missing one.

Every endpoint under /api/v1/athletes/{id} is tried with another coach's key (404, the same body
as an athlete id that does not exist), with no key and with a wrong key (401); afterwards the
owner reads back everything stored for the athlete and finds it unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from conftest import auth
from support import at, create_athlete, feed_path, next_monday, ride, snapshot, weekly_rides

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:intruder-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20270105T170000Z\r\nDTEND:20270105T183000Z\r\nSUMMARY:Intruder ride\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {id} is the athlete, {ride_id} one of its rides, {session_id} a planned session
    json: Any = None
    content: str | None = None
    content_type: str | None = None

    def request(
        self, athlete_id: str, owned: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        path = self.path.format(
            id=athlete_id, ride_id=owned["ride_id"], session_id=owned["session_id"]
        )
        url = "/api/v1/athletes/" + path
        headers = dict(headers)
        kwargs: dict[str, Any] = {"method": self.method, "url": url, "headers": headers}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.content is not None:
            kwargs["content"] = self.content
            headers["Content-Type"] = self.content_type or "text/plain"
        return kwargs


def _intruder_ride() -> dict[str, Any]:
    return ride(at(next_monday() + timedelta(days=2), 12), 60, title="Intruder ride")


CALLS = [
    Call("GET", "{id}"),
    Call("PATCH", "{id}", json={"name": "Hijacked"}),
    Call("DELETE", "{id}"),
    Call("POST", "{id}/feed-token"),
    Call("PUT", "{id}/rides", json=[]),
    Call("POST", "{id}/rides", json=_intruder_ride()),
    Call("GET", "{id}/rides"),
    Call("DELETE", "{id}/rides/{ride_id}"),
    Call("POST", "{id}/rides/import", content=ICS, content_type="text/calendar"),
    Call("POST", "{id}/plan", json={"weeks": 1}),
    Call("GET", "{id}/plan"),
    Call("GET", "{id}/plan.ics"),
    Call("POST", "{id}/sessions/{session_id}/feedback", json={"completed": True, "rpe": 6}),
    Call("POST", "{id}/pain", json={"region": "knee", "score": 2, "timing": "next_morning"}),
    Call("GET", "{id}/progression"),
    Call("POST", "{id}/clearance", json={"region": "knee", "note": "seen by a physio"}),
]
IDS = [f"{c.method} {c.path}" for c in CALLS]


@pytest.fixture
async def owned(client, coach_key) -> dict[str, Any]:
    """The first coach's athlete with rides, a plan and a feed."""
    athlete = await create_athlete(client, coach_key, name="Owned")
    base = f"/api/v1/athletes/{athlete['id']}"
    rides = await client.put(
        f"{base}/rides", json=weekly_rides(next_monday(), 2), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    plan = await client.post(
        f"{base}/plan",
        json={"weeks": 2, "start": next_monday().isoformat()},
        headers=auth(coach_key),
    )
    assert plan.status_code == 201, plan.text
    feed = feed_path(athlete["feed_url"])
    state = await snapshot(client, coach_key, athlete["id"], feed)
    assert state["feed"][0] == 200 and state["plan"][0] == 200
    return {
        "id": athlete["id"],
        "ride_id": rides.json()[0]["id"],
        "session_id": plan.json()["sessions"][0]["id"],
        "feed": feed,
        "state": state,
    }


@pytest.mark.parametrize("call", CALLS, ids=IDS)
async def test_other_coach_gets_404_like_a_missing_athlete_and_owner_data_is_unchanged(
    client, coach_key, other_key, owned, call
):
    intruder = await client.request(**call.request(owned["id"], owned, auth(other_key)))
    missing_id = str(uuid.uuid4())
    missing = await client.request(**call.request(missing_id, owned, auth(other_key)))
    owner_missing = await client.request(**call.request(missing_id, owned, auth(coach_key)))
    assert intruder.status_code == 404, intruder.text
    assert intruder.json() == missing.json() == owner_missing.json()
    assert intruder.json()["detail"] == "athlete not found"
    assert intruder.json()["status_code"] == 404
    assert await snapshot(client, coach_key, owned["id"], owned["feed"]) == owned["state"]


BAD_KEYS = {
    "no key": {},
    "wrong key": {"Authorization": "Bearer coach_not-a-real-key"},
    "not bearer": {"Authorization": "Basic Y29hY2g6eA=="},
}


@pytest.mark.parametrize("call", CALLS, ids=IDS)
async def test_no_key_a_wrong_key_or_no_bearer_gets_401_and_owner_data_is_unchanged(
    client, coach_key, owned, call
):
    for name, headers in BAD_KEYS.items():
        answer = await client.request(**call.request(owned["id"], owned, headers))
        assert answer.status_code == 401, (name, answer.text)
        body = answer.json()
        assert body["status_code"] == 401
        assert "key" in body["detail"], name
    assert await snapshot(client, coach_key, owned["id"], owned["feed"]) == owned["state"]


async def test_listing_with_another_coach_key_shows_none_of_the_first_coach_athletes(
    client, coach_key, other_key
):
    first = {(await create_athlete(client, coach_key, name=n))["id"] for n in ("Ana", "Ben")}
    mine = (await create_athlete(client, other_key, name="Cleo"))["id"]
    seen_by_other = await client.get("/api/v1/athletes", headers=auth(other_key))
    assert seen_by_other.status_code == 200
    assert [a["id"] for a in seen_by_other.json()] == [mine]
    seen_by_owner = await client.get("/api/v1/athletes", headers=auth(coach_key))
    assert {a["id"] for a in seen_by_owner.json()} == first


async def test_the_feed_of_another_coach_athlete_is_not_reachable_by_its_id_with_a_key(
    client, coach_key, other_key, owned
):
    """The only keyless way in is the secret token; the athlete id alone opens nothing."""
    answer = await client.get(f"/feeds/{owned['id']}.ics", headers=auth(other_key))
    assert answer.status_code == 404
    assert answer.json()["status_code"] == 404
