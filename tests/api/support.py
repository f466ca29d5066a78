"""Shared helpers of the API tests: athlete bodies, ride times, and snapshots of stored data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from conftest import auth
from litestar.testing import AsyncTestClient

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BERLIN = "Europe/Berlin"
ALL_DAY = [{"start": "06:00", "end": "21:00"}]
EQUIPMENT = ["bodyweight", "band", "ball", "box", "dumbbell", "barbell", "bench"]


def athlete_body(name: str = "Lea", timezone: str = BERLIN, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "timezone": timezone,
        "availability": {day: ALL_DAY for day in WEEKDAYS},
        "equipment": EQUIPMENT,
    }
    body.update(overrides)
    return body


async def create_athlete(client: AsyncTestClient, key: str, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/athletes", json=athlete_body(**overrides), headers=auth(key)
    )
    assert response.status_code == 201, response.text
    return response.json()


def next_monday(timezone: str = BERLIN) -> date:
    """The first Monday after today in the athlete's zone (never today)."""
    today = datetime.now(ZoneInfo(timezone)).date()
    return today + timedelta(days=7 - today.weekday())


def at(day: date, hour: int, minute: int = 0, timezone: str = BERLIN) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone))


def next_offset_change(after: date, timezone: str = BERLIN) -> date:
    """The first day after `after` on which the zone's UTC offset changes (a DST change)."""
    zone = ZoneInfo(timezone)

    def offset(day: date) -> timedelta | None:
        return datetime.combine(day, time(12), tzinfo=zone).utcoffset()

    day = after + timedelta(days=1)
    while offset(day) == offset(day - timedelta(days=1)):
        day += timedelta(days=1)
    return day


def ride(
    start: datetime, minutes: int = 90, kind: str = "endurance", **extra: Any
) -> dict[str, Any]:
    return {"start": start.isoformat(), "duration_min": minutes, "kind": kind, **extra}


def weekly_rides(monday: date, weeks: int, timezone: str = BERLIN) -> list[dict[str, Any]]:
    """An amateur's week: Tuesday intervals, Thursday club ride, Saturday long ride."""
    rides = []
    for week in range(weeks):
        day = monday + timedelta(weeks=week)
        rides += [
            ride(
                at(day + timedelta(days=1), 18, 0, timezone),
                75,
                "intervals",
                title="Turbo intervals",
            ),
            ride(at(day + timedelta(days=3), 18, 30, timezone), 90, "endurance", title="Club ride"),
            ride(
                at(day + timedelta(days=5), 8, 0, timezone), 240, "long", title="Saturday long ride"
            ),
        ]
    return rides


def feed_path(feed_url: str) -> str:
    """The path part of an athlete's feed_url (/feeds/<token>.ics)."""
    return "/feeds/" + feed_url.rsplit("/feeds/", 1)[1]


async def snapshot(
    client: AsyncTestClient, key: str, athlete_id: str, feed: str | None = None
) -> dict[str, Any]:
    """Everything stored for an athlete, read through the API by its owner."""
    headers = auth(key)
    base = f"/api/v1/athletes/{athlete_id}"
    athlete = await client.get(base, headers=headers)
    rides = await client.get(f"{base}/rides", headers=headers)
    plan = await client.get(f"{base}/plan", headers=headers)
    ics = await client.get(f"{base}/plan.ics", headers=headers)
    listed = await client.get("/api/v1/athletes", headers=headers)
    progression = await client.get(f"{base}/progression", headers=headers)
    state: dict[str, Any] = {
        "athlete": (athlete.status_code, athlete.json(), athlete.headers.get("etag")),
        "rides": (rides.status_code, rides.json()),
        "plan": (plan.status_code, plan.json()),
        "plan.ics": (ics.status_code, ics.content),
        "listed": [a["id"] for a in listed.json()],
        "progression": (progression.status_code, progression.json()),
    }
    if feed is not None:
        answer = await client.get(feed)
        state["feed"] = (answer.status_code, answer.content)
    return state


async def planned(client: Any, key: str, weeks: int, **athlete: Any) -> dict[str, Any]:
    """An athlete (with `athlete` fields), `weeks` of weekly rides from next Monday and a plan
    over them: the athlete's answer, its API path and the plan."""
    created = await create_athlete(client, key, **athlete)
    base = f"/api/v1/athletes/{created['id']}"
    monday = next_monday()
    rides = await client.put(f"{base}/rides", json=weekly_rides(monday, weeks), headers=auth(key))
    assert rides.status_code == 200, rides.text
    plan = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": weeks}, headers=auth(key)
    )
    assert plan.status_code == 201, plan.text
    return {"athlete": created, "base": base, "plan": plan.json()}


def after_end(session: dict[str, Any]) -> datetime:
    """A moment just after the session: feedback is taken once a session has happened."""
    return datetime.fromisoformat(session["end"]) + timedelta(minutes=5)


async def feedback_after(
    client: Any,
    base: str,
    headers: dict[str, str],
    session: dict[str, Any],
    body: dict[str, Any],
    move_clock: Any,
) -> Any:
    """Post feedback on a session with the service's clock moved just after its end."""
    move_clock(after_end(session))
    return await client.post(
        f"{base}/sessions/{session['id']}/feedback", json=body, headers=headers
    )


def first_strength(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's first strength session."""
    return next(s for s in plan["sessions"] if s["kind"] == "strength")
