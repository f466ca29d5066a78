"""Calendar sources and background jobs with the in-process runner (no REDIS_URL), on both
databases: a source is imported, a change re-plans keeping published sessions, a 304 does
nothing, a 500 is recorded and retried until the source pauses, private addresses are refused
without ALLOW_PRIVATE_SOURCES; roster re-plans; /metrics."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_server import CalendarServer, amateur_weeks, ics
from conftest import auth
from litestar.testing import AsyncTestClient
from support import at, create_athlete, next_monday
from test_web_pages import sign_in

from api.app import create_app
from api.settings import Settings
from api.sources import FetchFailed, SourceRefused, fetch, resolve


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allow_private_sources=True, source_retry_s=0.2)


@pytest.fixture
async def jobs_client(job_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(job_settings)) as test_client:
        yield test_client


async def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def job_done(
    client: AsyncTestClient, key: str, job_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        answer = await client.get(f"/api/v1/jobs/{job_id}", headers=auth(key))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return body if body["state"] in ("done", "failed") else None

    return await wait_for(check, timeout)


async def source_of(client: AsyncTestClient, key: str, athlete_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/athletes/{athlete_id}/calendar-sources", headers=auth(key))
    assert answer.status_code == 200, answer.text
    return answer.json()[0]


async def add_source(client: AsyncTestClient, key: str, athlete_id: str, url: str) -> Any:
    """POST a calendar source for the athlete; the answer as it came."""
    return await client.post(
        f"/api/v1/athletes/{athlete_id}/calendar-sources", json={"url": url}, headers=auth(key)
    )


async def refresh(client: AsyncTestClient, key: str, athlete_id: str, source_id: str) -> dict:
    answer = await client.post(
        f"/api/v1/athletes/{athlete_id}/calendar-sources/{source_id}/refresh", headers=auth(key)
    )
    assert answer.status_code == 202, answer.text
    return await job_done(client, key, answer.json()["job_id"])


async def test_a_source_is_imported_and_a_change_replans_keeping_published_sessions(
    jobs_client, coach_key, calendar
):
    client, key = jobs_client, coach_key
    monday = next_monday()
    events = amateur_weeks(monday, 4)
    calendar.serve(ics(events))
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources",
        json={"url": calendar.url, "kinds": {"club": "recovery"}},
        headers=auth(key),
    )
    assert added.status_code == 201, added.text
    assert added.json()["source"]["status"] == "pending"
    job = await job_done(client, key, added.json()["job_id"])
    assert job["state"] == "done" and job["kind"] == "refresh", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    assert source["last_result"]["created"] == 12
    assert source["last_result"]["replanned"] is False  # no plan yet: nothing to re-plan
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert len(rides) == 12
    assert {r["kind"] for r in rides if r["title"] == "Club ride"} == {"recovery"}  # mapped
    made = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": 4}, headers=auth(key)
    )
    assert made.status_code == 201, made.text
    before = {s["uid"]: s["start"] for s in made.json()["sessions"]}

    # the coach moves the second week's Thursday ride to Friday in TrainingPeaks
    uid, start, minutes, title = events[4]
    events[4] = (uid, start + timedelta(days=1), minutes, title)
    calendar.serve(ics(events))
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    assert source["last_result"]["updated"] == 1 and source["last_result"]["replanned"] is True
    plan = (await client.get(f"{base}/plan", headers=auth(key))).json()
    assert plan["version"] == made.json()["version"] + 1
    after = {s["uid"]: s["start"] for s in plan["sessions"]}
    kept = [uid for uid, at in before.items() if after.get(uid) == at]
    assert len(kept) >= 0.8 * len(before), (len(kept), len(before))  # S4: published stay

    # nothing changed at the source: it answers 304, and nothing is imported or planned
    job = await refresh(client, key, athlete["id"], source["id"])
    assert calendar.requests[-1].get("if-none-match"), calendar.requests[-1]
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "not_modified" and source["failures"] == 0, source
    again = (await client.get(f"{base}/plan", headers=auth(key))).json()
    assert again["version"] == plan["version"]

    # an event deleted at the source: its ride goes, the plan follows
    calendar.serve(ics([e for e in events if e[0] != "sat-3@test"]))
    await refresh(client, key, athlete["id"], source["id"])
    source = await source_of(client, key, athlete["id"])
    assert source["last_result"]["removed"] == 1, source
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert "sat-3@test" not in {r["external_id"] for r in rides}


async def test_a_calendar_that_comes_back_empty_removes_no_ride_and_says_so(
    jobs_client, coach_key, calendar
):
    """An empty VCALENDAR removed every ride of the source, the A race with them, and answered
    ok (a new user's trial). It is now a failure that keeps the rides and names what to do if
    the calendar was emptied on purpose; a last_result lists what an import skipped, and why."""
    client, key = jobs_client, coach_key
    events = amateur_weeks(next_monday(), 2)
    all_day = (
        "BEGIN:VEVENT\r\nUID:off@test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{next_monday():%Y%m%d}\r\nSUMMARY:Ski trip\r\nEND:VEVENT\r\n"
    ).encode()
    calendar.serve(ics(events).replace(b"END:VCALENDAR", all_day + b"END:VCALENDAR"))
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources", json={"url": calendar.url}, headers=auth(key)
    )
    assert (await job_done(client, key, added.json()["job_id"]))["state"] == "done"
    source = await source_of(client, key, athlete["id"])
    skipped = source["last_result"]["skipped_events"]
    assert [e["title"] for e in skipped] == ["Ski trip"], source
    assert "availability" in skipped[0]["reason"]
    count = len((await client.get(f"{base}/rides", headers=auth(key))).json())
    assert count == len(events)
    calendar.serve(ics([]))
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "failed", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "error" and "came back with no ride to import" in source["reason"], (
        source
    )
    assert len((await client.get(f"{base}/rides", headers=auth(key))).json()) == count
    # nor does a calendar whose only event is not a ride (the wrong calendar, a broken export
    # holding only a holiday removed every future ride and answered ok: a coach's trial)
    calendar.serve(ics([]).replace(b"END:VCALENDAR", all_day + b"END:VCALENDAR"))
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "failed", job
    source = await source_of(client, key, athlete["id"])
    assert "no ride to import (its events, if any, are all-day" in source["reason"], source
    assert len((await client.get(f"{base}/rides", headers=auth(key))).json()) == count


async def test_a_ride_the_coach_deleted_stays_deleted_through_the_sources_changes(
    jobs_client, coach_key, calendar
):
    """A ride from a source, deleted by the coach, came back with the source's next change
    (its event was still there). The source now lists the event as dismissed and leaves it
    out, says so in last_result, and DELETE .../dismissed brings it back."""
    client, key = jobs_client, coach_key
    events = amateur_weeks(next_monday(), 2)
    calendar.serve(ics(events))
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources", json={"url": calendar.url}, headers=auth(key)
    )
    assert (await job_done(client, key, added.json()["job_id"]))["state"] == "done"
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    [commute] = [r for r in rides if r["external_id"] == "thu-0@test"]
    gone = await client.delete(f"{base}/rides/{commute['id']}", headers=auth(key))
    assert gone.status_code == 204, gone.text
    source = await source_of(client, key, athlete["id"])
    assert source["dismissed"] == ["thu-0@test"]

    # the athlete moves another ride: the calendar changes, the deleted ride stays deleted
    uid, start, minutes, title = events[0]
    events[0] = (uid, start + timedelta(hours=1), minutes, title)
    calendar.serve(ics(events))
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["last_result"]["updated"] == 1 and source["last_result"]["created"] == 0
    [left_out] = [e for e in source["last_result"]["skipped_events"] if e["uid"] == "thu-0@test"]
    on = datetime.fromisoformat(commute["start"])
    assert (
        f"its ride on {on:%a} {on.day} {on:%b} {on.year} was deleted by the coach"
        in left_out["reason"]
    ), left_out
    assert ".../calendar-sources/{id}/dismissed" in left_out["reason"]
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert "thu-0@test" not in {r["external_id"] for r in rides}
    assert len(rides) == len(events) - 1

    # the coach changes their mind: the source is read again in full and the ride returns
    back = await client.delete(
        f"{base}/calendar-sources/{source['id']}/dismissed", headers=auth(key)
    )
    assert back.status_code == 202, back.text
    assert (await job_done(client, key, back.json()["job_id"]))["state"] == "done"
    source = await source_of(client, key, athlete["id"])
    assert source["dismissed"] == [] and source["last_result"]["created"] == 1, source
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert "thu-0@test" in {r["external_id"] for r in rides}

    # an event gone from the source is no longer remembered as dismissed
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    [again] = [r for r in rides if r["external_id"] == "thu-0@test"]
    assert (
        await client.delete(f"{base}/rides/{again['id']}", headers=auth(key))
    ).status_code == 204
    calendar.serve(ics([e for e in events if e[0] != "thu-0@test"]))
    await refresh(client, key, athlete["id"], source["id"])
    assert (await source_of(client, key, athlete["id"]))["dismissed"] == []


def _series_ics(
    first: datetime, minutes: int, title: str, weeks: int, *extra: str, uid: str = "series@test"
) -> bytes:
    """A weekly series (RRULE) as Google exports it, its times in the athlete's zone, and extra
    VEVENT lines."""
    end = first + timedelta(minutes=minutes)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//series//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=Europe/Berlin:{first:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}",
        f"RRULE:FREQ=WEEKLY;COUNT={weeks}",
        f"SUMMARY:{title}",
        "END:VEVENT",
        *extra,
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _event(
    uid: str, start: datetime, minutes: int, title: str, recurrence: datetime | None = None
) -> list[str]:
    """One VEVENT, its times in the athlete's zone; `recurrence`: it is that occurrence of the
    series `uid`, edited (RECURRENCE-ID)."""
    end = start + timedelta(minutes=minutes)
    edited = [f"RECURRENCE-ID;TZID=Europe/Berlin:{recurrence:%Y%m%dT%H%M%S}"] if recurrence else []
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        *edited,
        f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{title}",
        "END:VEVENT",
    ]


async def _by_hand(client, key: str, base: str, start: datetime) -> Any:
    """An hour's endurance ride the coach enters by hand (no calendar brought it)."""
    entered = await client.post(
        f"{base}/rides",
        json={"start": start.isoformat(), "duration_min": 60, "kind": "endurance"},
        headers=auth(key),
    )
    assert entered.status_code == 201, entered.text
    return entered


async def _follow(client, key: str, calendar, body: bytes) -> tuple[dict, str]:
    calendar.serve(body)
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources", json={"url": calendar.url}, headers=auth(key)
    )
    assert (await job_done(client, key, added.json()["job_id"]))["state"] == "done"
    return athlete, base


async def test_an_a_race_put_on_a_series_ride_replaces_that_days_ride(
    jobs_client, coach_key, calendar
):
    """An A race added on a Sunday of the long-ride series (its occurrence left in the
    calendar) refused the whole refresh with a 409 against that Sunday's stored ride, and the
    source paused: the race never reached the plan (a coach's trial). The race now stays, the
    Sunday's long ride goes, and the skip says why."""
    client, key = jobs_client, coach_key
    sunday = next_monday() + timedelta(days=6)
    first = datetime.combine(sunday, datetime.min.time()).replace(hour=8)
    athlete, base = await _follow(client, key, calendar, _series_ics(first, 240, "Long ride", 4))
    assert len((await client.get(f"{base}/rides", headers=auth(key))).json()) == 4
    made = await client.post(
        f"{base}/plan", json={"start": next_monday().isoformat(), "weeks": 4}, headers=auth(key)
    )
    assert made.status_code == 201, made.text
    race_day = first + timedelta(weeks=2)
    calendar.serve(
        _series_ics(
            first, 240, "Long ride", 4, *_event("fondo@test", race_day, 360, "A race: Gran Fondo")
        )
    )
    source = await source_of(client, key, athlete["id"])
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    # the race takes the Sunday long ride's stored row over: nothing removed, nothing added
    counts = (source["last_result"][k] for k in ("created", "updated", "removed"))
    assert tuple(counts) == (0, 1, 0), source
    [why] = [e for e in source["last_result"]["skipped_events"] if e["uid"] == "series@test"]
    assert (
        "'A race: Gran Fondo'" in why["reason"] and "a race before a training ride" in why["reason"]
    )
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    on_the_day = [r for r in rides if r["start"].startswith(race_day.date().isoformat())]
    assert [(r["title"], r["kind"], r["priority"]) for r in on_the_day] == [
        ("A race: Gran Fondo", "race", "A")
    ]
    assert len(rides) == 4
    # the re-plan says what it changed: the phases around the new A race, in the coach's words
    changes = source["last_result"]["plan_changes"]
    assert any(line.startswith("week 3 (from ") and ": base, now " in line for line in changes), (
        changes
    )
    plan = (await client.get(f"{base}/plan", headers=auth(key))).json()
    assert plan["weeks_report"][2]["phase"] != "base", plan["weeks_report"][2]
    assert changes[0].startswith("week "), changes  # the phases first
    await signed_in(client, key)
    page = (await client.get(f"/app/athletes/{athlete['id']}")).text
    assert "The re-plan after it: week " in page, page


async def test_a_series_moved_to_another_time_keeps_its_history_and_its_dismissals(
    jobs_client, coach_key, calendar
):
    """A Tuesday series begun two weeks ago, moved from 18:00 to 18:30 ("all events"), gave
    its past occurrences new ids: the refresh was refused as overlapping their stored selves
    (409), and a ride the coach had deleted came back once the series moved (a coach's trial).
    Past occurrences are now rewritten in place, and the deleted one stays deleted."""
    client, key = jobs_client, coach_key
    tuesday = next_monday() - timedelta(days=13)
    first = datetime.combine(tuesday, datetime.min.time()).replace(hour=18)
    athlete, base = await _follow(client, key, calendar, _series_ics(first, 90, "Turbo", 6))
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert len(rides) == 6
    ahead = sorted(rides, key=lambda r: r["start"])[3]
    gone = await client.delete(f"{base}/rides/{ahead['id']}", headers=auth(key))
    assert gone.status_code == 204, gone.text
    calendar.serve(_series_ics(first + timedelta(minutes=30), 90, "Turbo", 6))
    source = await source_of(client, key, athlete["id"])
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert len(rides) == 5  # the deleted one is still out
    assert {datetime.fromisoformat(r["start"]).strftime("%H:%M") for r in rides} == {"18:30"}
    assert ahead["start"][:10] not in {r["start"][:10] for r in rides}
    [left_out] = source["dismissed"]
    assert left_out.startswith("series@test#") and left_out != ahead["external_id"], source


async def test_an_event_overlapping_a_hand_entered_ride_is_skipped_and_the_rest_comes_in(
    jobs_client, coach_key, calendar
):
    """A ride the coach entered by hand, then an event of the followed calendar at that time:
    the whole refresh was refused (409), so a cancelled long ride stayed in the plan and a race
    added the same day never came (a coach's trial). Only the clashing event is left out now,
    named with the stored ride."""
    client, key = jobs_client, coach_key
    monday = next_monday()
    saturday = datetime.combine(monday + timedelta(days=5), datetime.min.time()).replace(hour=8)
    athlete, base = await _follow(client, key, calendar, _series_ics(saturday, 240, "Long ride", 3))
    thursday = monday + timedelta(days=3)
    entered = await _by_hand(client, key, base, at(thursday, 17))
    race = saturday + timedelta(days=15)  # the Sunday after the third Saturday
    cancelled = saturday + timedelta(weeks=1)
    calendar.serve(
        _series_ics(
            saturday,
            240,
            "Long ride",
            3,
            *_event(
                "crit@test",
                datetime.combine(thursday, datetime.min.time()).replace(hour=17, minute=30),
                90,
                "Crit practice",
            ),
            *_event("race@test", race, 180, "B race: Kermesse"),
        ).replace(
            b"RRULE:FREQ=WEEKLY;COUNT=3",
            f"RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE;TZID=Europe/Berlin:{cancelled:%Y%m%dT%H%M%S}".encode(),
        )
    )
    source = await source_of(client, key, athlete["id"])
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    [clash] = [e for e in source["last_result"]["skipped_events"] if e["uid"] == "crit@test"]
    assert f"(id {entered.json()['id']})" in clash["reason"] and "stays" in clash["reason"], clash
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    titles = sorted(r["title"] or r["kind"] for r in rides)
    assert titles == ["B race: Kermesse", "Long ride", "Long ride", "endurance"], titles
    assert cancelled.date().isoformat() not in {r["start"][:10] for r in rides}
    # the athlete page says what was left out and why, beside the source's last change
    await signed_in(client, key)
    page = (await client.get(f"/app/athletes/{athlete['id']}")).text
    assert "Followed calendar at 127.0.0.1: ok" in page, page
    assert "Left out Crit practice: overlaps the stored ride" in page, page


async def test_deleting_a_source_keeps_its_rides_unless_asked_to_remove_them(
    jobs_client, coach_key, calendar
):
    """A coach who stopped following a calendar kept its fifty future rides a series in the
    plan, removable one by one (a coach's trial). `?rides=remove` takes its rides from now on
    with it (the past stays, and so does a ride another followed calendar also brings); the
    default still keeps them; anything else is a 422 naming `rides`."""
    client, key = jobs_client, coach_key
    tuesday = next_monday() - timedelta(days=13)
    first = datetime.combine(tuesday, datetime.min.time()).replace(hour=18)
    athlete, base = await _follow(client, key, calendar, _series_ics(first, 90, "Turbo", 6))
    source = await source_of(client, key, athlete["id"])
    path = f"{base}/calendar-sources/{source['id']}"
    wrong = await client.delete(f"{path}?rides=all", headers=auth(key))
    assert wrong.status_code == 422 and wrong.json()["extra"][0]["key"] == "rides", wrong.text
    assert len((await client.get(f"{base}/rides", headers=auth(key))).json()) == 6
    gone = await client.delete(f"{path}?rides=remove", headers=auth(key))
    assert gone.status_code == 204, gone.text
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert len(rides) == 2  # the two Tuesdays gone by stay
    assert all(datetime.fromisoformat(r["start"]) < datetime.now(UTC) for r in rides), rides
    listed = await client.get(f"{base}/calendar-sources", headers=auth(key))
    assert listed.json() == []
    # without the parameter the rides stay, as before
    other, other_base = await _follow(client, key, calendar, _series_ics(first, 90, "Turbo", 6))
    kept = await source_of(client, key, other["id"])
    # the same calendar followed twice (another address): removing one leaves the rides the
    # other still brings
    twice = await client.post(
        f"{other_base}/calendar-sources", json={"url": calendar.url + "?copy=1"}, headers=auth(key)
    )
    assert (await job_done(client, key, twice.json()["job_id"]))["state"] == "done"
    copy = twice.json()["source"]["id"]
    answer = await client.delete(
        f"{other_base}/calendar-sources/{copy}?rides=remove", headers=auth(key)
    )
    assert answer.status_code == 204
    assert len((await client.get(f"{other_base}/rides", headers=auth(key))).json()) == 6
    answer = await client.delete(f"{other_base}/calendar-sources/{kept['id']}", headers=auth(key))
    assert answer.status_code == 204
    assert len((await client.get(f"{other_base}/rides", headers=auth(key))).json()) == 6


BERLIN_ZONE = ZoneInfo("Europe/Berlin")


def _cal(*events: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//review//EN"]
    for event in events:
        lines += event
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)


async def _rides(client, key: str, base: str) -> list[dict]:
    return (await client.get(f"{base}/rides", headers=auth(key))).json()


async def test_an_event_left_out_keeps_its_ride_and_no_other_event_is_written_over_it(
    jobs_client, coach_key, calendar
):
    """A refresh left out an event that moved onto a hand-entered ride, so its stored ride
    stayed; another event moved onto that ride's time was written all the same: two rides at
    one time, and every plan after refused them (a review's finding). The second event is left
    out too, and the plan can be made."""
    client, key = jobs_client, coach_key
    monday = next_monday()
    saturday, sunday, next_mon = (monday + timedelta(days=d) for d in (5, 6, 7))
    endurance = "Endurance ride"
    athlete, base = await _follow(
        client,
        key,
        calendar,
        _cal(
            _event("e1@t", _at(saturday, 8), 120, endurance),
            _event("e2@t", _at(sunday, 8), 120, endurance),
        ),
    )
    await _by_hand(client, key, base, at(next_mon, 18))
    # e1 moves onto e2's Sunday, e2 onto the hand-entered Monday evening ride
    calendar.serve(
        _cal(
            _event("e1@t", _at(sunday, 8), 120, endurance),
            _event("e2@t", _at(next_mon, 18), 120, endurance),
        )
    )
    source = await source_of(client, key, athlete["id"])
    assert (await refresh(client, key, athlete["id"], source["id"]))["state"] == "done"
    source = await source_of(client, key, athlete["id"])
    left_out = {e["uid"]: e["reason"] for e in source["last_result"]["skipped_events"]}
    assert set(left_out) == {"e1@t", "e2@t"}, left_out
    rides = await _rides(client, key, base)
    starts = sorted((r["start"][:16], r["external_id"]) for r in rides)
    assert starts == sorted(
        [
            (_at(saturday, 8).isoformat()[:16], "e1@t"),
            (_at(sunday, 8).isoformat()[:16], "e2@t"),
            (_at(next_mon, 18).isoformat()[:16], None),
        ]
    ), starts
    made = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": 2}, headers=auth(key)
    )
    assert made.status_code == 201, made.text


async def test_a_chain_of_moved_events_ending_on_a_hand_entered_ride_is_left_out_whole(
    jobs_client, coach_key, calendar, monkeypatch
):
    """Each of forty events moved onto the next one's time, the last onto a hand-entered ride:
    leaving out the last keeps its ride, which the one before now meets, and so on down the
    chain; every event is left out and no stored ride moves. Each stored ride is read once
    for it, not once per event left out (a chain as long as the calendar's 3,000 events would
    have read them all 3,000 times, in the API's own process)."""
    import api.rides as rides_module

    read = []
    real = rides_module.ride_from_row
    monkeypatch.setattr(
        rides_module, "ride_from_row", lambda row, zone: read.append(row.id) or real(row, zone)
    )
    client, key = jobs_client, coach_key
    first = next_monday()
    slots = [_at(first + timedelta(days=i // 2), 7 if i % 2 == 0 else 19) for i in range(41)]
    events = [_event(f"c{i}@t", slots[i], 60, "Spin") for i in range(40)]
    athlete, base = await _follow(client, key, calendar, _cal(*events))
    await _by_hand(client, key, base, slots[40].replace(tzinfo=BERLIN_ZONE))
    before = sorted((r["external_id"] or "", r["start"]) for r in await _rides(client, key, base))
    calendar.serve(_cal(*[_event(f"c{i}@t", slots[i + 1], 60, "Spin") for i in range(40)]))
    source = await source_of(client, key, athlete["id"])
    read.clear()
    assert (await refresh(client, key, athlete["id"], source["id"]))["state"] == "done"
    source = await source_of(client, key, athlete["id"])
    assert source["last_result"]["skipped"] == 40, source["last_result"]
    after = sorted((r["external_id"] or "", r["start"]) for r in await _rides(client, key, base))
    assert after == before
    assert len(read) <= 2 * len(before), len(read)


async def test_a_race_left_out_for_a_clash_leaves_the_long_ride_it_displaced(
    jobs_client, coach_key, calendar
):
    """An A race over the Sunday long ride removed the long ride's stored ride, then was left
    out itself for a clash with a hand-entered ride: both gone (a review's finding). The long
    ride now stays as it was, and its skip says why."""
    client, key = jobs_client, coach_key
    sunday = next_monday() + timedelta(days=6)
    athlete, base = await _follow(
        client, key, calendar, _cal(_event("long@t", _at(sunday, 8), 240, "Long ride"))
    )
    await _by_hand(client, key, base, at(sunday, 13))
    calendar.serve(
        _cal(
            _event("long@t", _at(sunday, 8), 240, "Long ride"),
            _event("race@t", _at(sunday, 11), 180, "A race: Fondo"),
        )
    )
    source = await source_of(client, key, athlete["id"])
    await refresh(client, key, athlete["id"], source["id"])
    source = await source_of(client, key, athlete["id"])
    assert source["last_result"]["removed"] == 0, source
    reasons = {e["uid"]: e["reason"] for e in source["last_result"]["skipped_events"]}
    assert "stored ride stays as it was" in reasons["long@t"], reasons
    assert "overlaps the stored ride" in reasons["race@t"], reasons
    assert {r["external_id"] for r in await _rides(client, key, base)} == {"long@t", None}


async def test_a_dismissal_does_not_hide_another_occurrence_moved_onto_its_day(
    jobs_client, coach_key, calendar
):
    """The coach deleted a Tuesday occurrence; the athlete then moved that week's Monday
    occurrence to Tuesday evening, and it was left out as 'deleted by the coach' (a review's
    finding). A dismissal follows its own occurrence, not a day."""
    client, key = jobs_client, coach_key
    monday = next_monday() + timedelta(weeks=1)
    tuesday = monday + timedelta(days=1)
    rule = "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;COUNT=6"
    master = _series_ics(_at(next_monday(), 7), 60, "Turbo", 3, uid="s@t")
    master = master.replace(b"RRULE:FREQ=WEEKLY;COUNT=3", rule.encode())
    athlete, base = await _follow(client, key, calendar, master)
    rides = await _rides(client, key, base)
    [tue_ride] = [r for r in rides if r["start"].startswith(tuesday.isoformat())]
    [mon_ride] = [r for r in rides if r["start"].startswith(monday.isoformat())]
    gone = await client.delete(f"{base}/rides/{tue_ride['id']}", headers=auth(key))
    assert gone.status_code == 204
    moved = b"\r\n".join(
        line.encode()
        for line in _event("s@t", _at(tuesday, 18), 60, "Turbo", recurrence=_at(monday, 7))
    )
    calendar.serve(master.replace(b"END:VCALENDAR", moved + b"\r\nEND:VCALENDAR"))
    source = await source_of(client, key, athlete["id"])
    await refresh(client, key, athlete["id"], source["id"])
    source = await source_of(client, key, athlete["id"])
    assert source["dismissed"] == [tue_ride["external_id"]], source
    [row] = [
        r for r in await _rides(client, key, base) if r["external_id"] == mon_ride["external_id"]
    ]
    assert row["start"].startswith(f"{tuesday.isoformat()}T18:00"), row


async def test_a_followed_calendar_with_only_past_rides_left_is_no_failure(
    jobs_client, coach_key, calendar
):
    """A season over, the calendar holding only rides older than the import reads: each
    refresh failed as 'no rides', and the source paused (a review's finding). With no ride
    ahead to remove, nothing is at stake: the refresh is ok."""
    client, key = jobs_client, coach_key
    monday = next_monday()
    athlete, base = await _follow(
        client, key, calendar, _cal(_event("e1@t", _at(monday - timedelta(days=9), 8), 60, "Spin"))
    )
    calendar.serve(_cal(_event("e0@t", _at(monday - timedelta(days=60), 8), 120, "Spin")))
    source = await source_of(client, key, athlete["id"])
    job = await refresh(client, key, athlete["id"], source["id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok" and source["failures"] == 0, source


async def test_a_roster_replan_that_could_not_be_queued_is_failed_not_answered_again(
    jobs_client, coach_key, monkeypatch
):
    """The queue refused a roster re-plan: its rows stayed queued for good, and every later
    re-plan of the same athletes answered that job, queuing nothing (a review's finding). It
    is now a 503 to try again, its rows failed, and the next re-plan is a job of its own."""
    from api import runner as runner_module

    client, key = jobs_client, coach_key
    athlete = await create_athlete(client, key)
    real = runner_module.LocalRunner.enqueue_replans
    calls = []

    async def flaky(self, ids, job_id):
        calls.append(job_id)
        if len(calls) == 1:
            raise ConnectionError("queue down")
        return await real(self, ids, job_id)

    monkeypatch.setattr(runner_module.LocalRunner, "enqueue_replans", flaky)
    body = {"athlete_ids": [athlete["id"]]}
    first = await client.post("/api/v1/replan", json=body, headers=auth(key))
    assert first.status_code == 503 and first.headers["retry-after"] == "60", first.text
    again = await client.post("/api/v1/replan", json=body, headers=auth(key))
    assert again.status_code == 202, again.text
    assert len(calls) == 2 and calls[0] != calls[1]
    assert (await job_done(client, key, again.json()["job_id"]))["state"] == "done"
    failed = await client.get(f"/api/v1/jobs/{calls[0]}", headers=auth(key))
    assert failed.json()["state"] == "failed", failed.text


async def test_a_source_refresh_the_queue_cannot_take_is_a_503_with_its_job_failed(
    jobs_client, coach_key, calendar, monkeypatch
):
    """A hostile trial with Redis out of reach: adding a source, refreshing it and clearing its
    dismissed list answered 500 after their change was saved, the job left queued for good.
    They answer 503 with Retry-After, saying the change is saved; the job reads failed; and
    once the queue is back the refresh works."""
    from api import runner as runner_module

    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 2)))
    athlete = await create_athlete(client, key)
    real = runner_module.LocalRunner.enqueue_refresh
    down = True

    async def flaky(self, *args, **kwargs):
        if down:
            raise ConnectionError("queue down")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(runner_module.LocalRunner, "enqueue_refresh", flaky)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    added = await client.post(path, json={"url": calendar.url}, headers=auth(key))
    assert added.status_code == 503 and added.headers["retry-after"] == "60", added.text
    assert "saved" in added.json()["detail"]
    source = await source_of(client, key, athlete["id"])
    for action in ("post refresh", "delete dismissed"):
        method, tail = action.split()
        answer = await client.request(
            method.upper(), f"{path}/{source['id']}/{tail}", headers=auth(key)
        )
        assert answer.status_code == 503, (action, answer.text)
    down = False
    done = await refresh(client, key, athlete["id"], source["id"])
    assert done["state"] == "done", done
    assert (await source_of(client, key, athlete["id"]))["status"] == "ok"


async def test_refreshes_are_merged_per_source_and_bounded_per_coach(
    jobs_client, coach_key, other_key, calendar
):
    """A hostile trial: six refreshes of a source that hung, each a job of its own, held another
    coach's one-athlete re-plan for a minute. A refresh of a source whose refresh still waits
    answers that job; a coach with COACH_REFRESHES waiting or running gets 429; other coaches
    are not held to it."""
    from api.sources import COACH_REFRESHES

    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 2)))
    calendar.delay_s = 1.0  # each fetch takes a while: the jobs queue up behind each other
    added = []
    for _ in range(COACH_REFRESHES):
        athlete = await create_athlete(client, key)
        answer = await add_source(client, key, athlete["id"], calendar.url)
        assert answer.status_code == 201, answer.text
        added.append((athlete["id"], answer.json()["source"]["id"], answer.json()["job_id"]))
    # a new source's first read is a refresh too: at the bound the source is not added (a
    # review: adds went round it), and nothing is stored
    extra = await create_athlete(client, key)
    path = f"/api/v1/athletes/{extra['id']}/calendar-sources"
    refused = await client.post(path, json={"url": calendar.url}, headers=auth(key))
    assert refused.status_code == 429, refused.text
    assert (await client.get(path, headers=auth(key))).json() == []
    athlete_id, source_id, job_id = added[-1]  # its first read still waits behind the others
    again = await client.post(
        f"/api/v1/athletes/{athlete_id}/calendar-sources/{source_id}/refresh", headers=auth(key)
    )
    assert again.status_code == 202 and again.json()["job_id"] == job_id, again.text
    first_athlete, first_source, _ = added[0]
    refused = await client.post(
        f"/api/v1/athletes/{first_athlete}/calendar-sources/{first_source}/refresh",
        headers=auth(key),
    )
    assert refused.status_code == 429 and "retry-after" in refused.headers, refused.text
    # another coach's refresh is not held to this coach's count
    theirs = await create_athlete(client, other_key)
    answer = await add_source(client, other_key, theirs["id"], calendar.url)
    source = answer.json()["source"]["id"]
    own = await client.post(
        f"/api/v1/athletes/{theirs['id']}/calendar-sources/{source}/refresh",
        headers=auth(other_key),
    )
    assert own.status_code == 202, own.text
    for _, _, job in added:
        assert (await job_done(client, key, job))["state"] == "done"
    calendar.delay_s = 0.0


async def test_an_event_gone_from_one_calendar_keeps_its_ride_while_another_brings_it(
    jobs_client, coach_key, calendar
):
    """Two followed calendars holding the same event (a club calendar and the athlete's own):
    the event gone from one took its ride away, though the other still brings it (a review's
    finding). The ride stays while another source lists the event."""
    client, key = jobs_client, coach_key
    saturday = next_monday() + timedelta(days=5)
    both = _cal(_event("club@t", _at(saturday, 8), 180, "Club ride"))
    athlete, base = await _follow(client, key, calendar, both)
    with CalendarServer() as other:
        other.serve(both)
        added = await client.post(
            f"{base}/calendar-sources", json={"url": other.url}, headers=auth(key)
        )
        assert (await job_done(client, key, added.json()["job_id"]))["state"] == "done"
        calendar.serve(_cal(_event("solo@t", _at(saturday + timedelta(days=1), 9), 60, "Spin")))
        first = await source_of(client, key, athlete["id"])
        assert (await refresh(client, key, athlete["id"], first["id"]))["state"] == "done"
        kept = {r["external_id"] for r in await _rides(client, key, base)}
        assert kept == {"club@t", "solo@t"}, kept
        # gone from both: the ride goes
        other.serve(_cal(_event("solo2@t", _at(saturday + timedelta(days=2), 9), 60, "Spin")))
        second = added.json()["source"]["id"]
        assert (await refresh(client, key, athlete["id"], second))["state"] == "done"
        assert "club@t" not in {r["external_id"] for r in await _rides(client, key, base)}


async def signed_in(client, key: str) -> None:
    """The dashboard's session cookie for `key` (the sign-in form, redirects not followed)."""
    client.follow_redirects = False
    try:
        await sign_in(client, key)
    finally:
        client.follow_redirects = True


async def test_a_failing_followed_calendar_is_flagged_on_the_roster_and_the_athlete_page(
    jobs_client, coach_key, calendar
):
    """Ten paused sources, and the roster listed the athlete as needing nothing; the athlete
    page gave each as one line without saying which calendar (a coach's trial). The roster now
    flags the athlete, and the page names each calendar's host, never its secret path."""
    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 1)))
    calendar.status = 500
    athlete = await create_athlete(client, key)
    quiet = await create_athlete(client, key, name="Quiet Rider")
    added = await client.post(
        f"/api/v1/athletes/{athlete['id']}/calendar-sources",
        json={"url": calendar.url + "?token=s3cret-path"},
        headers=auth(key),
    )
    assert (await job_done(client, key, added.json()["job_id"]))["state"] == "failed"
    await signed_in(client, key)
    roster = (await client.get("/app/")).text
    start = roster.index(athlete["id"])
    line = roster[start : roster.find("</li>", start)]
    assert (
        "followed calendar 127.0.0.1 error" in line or "followed calendar 127.0.0.1 paused" in line
    ), line
    quiet_at = roster.index(quiet["id"])
    assert "followed calendar" not in roster[quiet_at : roster.find("</li>", quiet_at)]
    assert start < quiet_at  # flagged athletes come first
    page = (await client.get(f"/app/athletes/{athlete['id']}")).text
    assert "Followed calendar at 127.0.0.1: " in page and "HTTP 500" in page, page
    assert "s3cret-path" not in page and "s3cret-path" not in roster


async def test_refreshing_one_source_leaves_the_athletes_others_alone(
    jobs_client, coach_key, calendar
):
    """The refresh of one source fetched every source of the athlete, paused ones too, so a
    failing one crept toward its pause and the job's detail mixed their errors (a new user's
    trial). A coach's refresh fetches that source only."""
    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 1)))
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    with CalendarServer() as broken:
        broken.serve(b"")
        broken.status = 500
        good = await client.post(base, json={"url": calendar.url}, headers=auth(key))
        assert (await job_done(client, key, good.json()["job_id"]))["state"] == "done"
        bad = await client.post(base, json={"url": broken.url}, headers=auth(key))
        failed = await job_done(client, key, bad.json()["job_id"])
        assert failed["state"] == "failed", failed
        assert f"source {bad.json()['source']['id']}: error" in failed["athletes"][0]["detail"]

        async def paused() -> bool:
            listed = (await client.get(base, headers=auth(key))).json()
            return any(row["status"] == "paused" for row in listed)

        await wait_for(paused)  # the failing source retries by itself, then pauses
        tries = len(broken.requests)
        job = await refresh(client, key, athlete["id"], good.json()["source"]["id"])
        assert job["state"] == "done", job
        assert len(broken.requests) == tries, "the other source was fetched too"


async def test_a_failing_source_is_recorded_retried_and_paused_after_five(
    jobs_client, coach_key, calendar
):
    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 2)))
    calendar.status = 500
    athlete = await create_athlete(client, key)
    added = await add_source(client, key, athlete["id"], calendar.url)
    job = await job_done(client, key, added.json()["job_id"])
    assert job["state"] == "failed" and "HTTP 500" in job["athletes"][0]["detail"], job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] in ("error", "paused") and "HTTP 500" in source["reason"], source

    async def paused() -> dict[str, Any] | None:
        found = await source_of(client, key, athlete["id"])
        return found if found["status"] == "paused" else None

    # retried by itself (0.2 s, 0.4 s, ...) until five failures in a row pause it
    source = await wait_for(paused)
    assert source["failures"] == 5 and "HTTP 500" in source["reason"], source
    assert len(calendar.requests) == 5
    await asyncio.sleep(1.0)
    assert len(calendar.requests) == 5  # paused: no more tries
    # the coach refreshes by hand once the source is mended: it resumes
    calendar.status = None
    await refresh(client, key, athlete["id"], source["id"])
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok" and source["failures"] == 0, source


async def test_validators_too_long_to_store_are_dropped_not_a_stuck_refresh(
    jobs_client, coach_key, calendar
):
    """A hostile trial on PostgreSQL: a 3000-character ETag and a 500-character Last-Modified
    did not fit their columns; the refresh failed three times with tracebacks, its job stayed
    running and the source pending for good. Such validators are not kept (the next fetch is
    a whole one), and the calendar comes in."""
    client, key = jobs_client, coach_key
    calendar.serve(ics(amateur_weeks(next_monday(), 2)))
    calendar.headers = {"ETag": '"' + "e" * 3000 + '"', "Last-Modified": "m" * 500}
    athlete = await create_athlete(client, key)
    added = await add_source(client, key, athlete["id"], calendar.url)
    assert added.status_code == 201, added.text
    job = await job_done(client, key, added.json()["job_id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "ok", source
    # refreshed again, it asks without the validators it could not keep
    await refresh(client, key, athlete["id"], source["id"])
    assert "if-none-match" not in calendar.requests[-1], calendar.requests[-1]


def test_a_failure_reason_is_cut_to_fit_its_column():
    """The reason column holds 1000 characters: a longer one (an import refusal quoting a long
    UID) failed the refresh on PostgreSQL and left its job running."""
    from api.db import CalendarSourceRow
    from api.sources import fits_reason

    limit = CalendarSourceRow.__table__.c.reason.type.length
    cut = fits_reason("the import was refused (413): " + "\u200b" * 5000)
    assert len(cut) <= limit and cut.startswith("the import was refused (413)")
    assert fits_reason("short") == "short"


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254 (cloud metadata)
        "[64:ff9b:1::a00:5]",  # local-use NAT64 of 10.0.0.5
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:10.0.0.1]",  # IPv4-mapped (refused before too)
        "[::ffff:0:7f00:1]",  # IPv4-translated 127.0.0.1
        "[::ffff:0:a9fe:a9fe]",  # IPv4-translated 169.254.169.254
    ],
)
async def test_ipv6_forms_that_carry_a_private_ipv4_address_are_refused(settings, coach_key, host):
    """A hostile trial: NAT64, 6to4 and IPv4-compatible addresses passed the address check
    (Python calls them global); on a host with NAT64 they reach loopback or metadata."""
    async with AsyncTestClient(create_app(settings)) as client:  # ALLOW_PRIVATE_SOURCES unset
        athlete = await create_athlete(client, coach_key)
        answer = await client.post(
            f"/api/v1/athletes/{athlete['id']}/calendar-sources",
            json={"url": f"http://{host}/x.ics"},
            headers=auth(coach_key),
        )
        assert answer.status_code == 422, answer.text
        assert "private, loopback or link-local" in answer.json()["detail"]


async def test_private_and_loopback_addresses_are_refused_without_the_flag(
    settings, coach_key, calendar
):
    async with AsyncTestClient(create_app(settings)) as client:  # ALLOW_PRIVATE_SOURCES unset
        athlete = await create_athlete(client, coach_key)
        path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
        for url in (calendar.url, "http://localhost:9/x.ics", "http://10.1.2.3/x.ics"):
            answer = await client.post(path, json={"url": url}, headers=auth(coach_key))
            assert answer.status_code == 422, answer.text
            assert answer.json()["extra"][0]["key"] == "url"
            assert "private, loopback or link-local" in answer.json()["detail"]
        answer = await client.post(
            path, json={"url": "ftp://example.org/x.ics"}, headers=auth(coach_key)
        )
        assert answer.status_code == 422 and "http and https" in answer.text
        answer = await client.post(
            path, json={"url": calendar.url, "kinds": {"x": "swim"}}, headers=auth(coach_key)
        )
        assert answer.status_code == 422
        assert calendar.requests == []  # nothing was fetched


@pytest.mark.parametrize(
    "url, words",
    [
        (f"http://{'a' * 64}.com/a.ics", "over-long label"),
        ("http://a..b.com/x.ics", "empty or over-long label"),
        ("http://.com/x.ics", "not a host name"),
        ("http://a\u0000b.com/x.ics", "control character"),
        ("http://example.org/x\u0000.ics", "control character"),
        ("http://exa mple.com/x.ics", "a space"),
        ("not a url", "not a URL: give the calendar's address"),
    ],
    ids=[
        "64-char label",
        "empty label",
        "leading dot",
        "NUL in host",
        "NUL in path",
        "space",
        "no scheme",
    ],
)
async def test_a_url_no_host_could_answer_gets_422_naming_url_not_a_500(
    client, coach_key, url, words
):
    """Each of these was a 500 (an uncaught IDNA error, or NUL refused by PostgreSQL), or a
    space stored as it was (a hostile-input trial)."""
    athlete = await create_athlete(client, coach_key)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    answer = await client.post(path, json={"url": url}, headers=auth(coach_key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["extra"][0]["key"] == "url" and words in answer.json()["detail"]
    listed = await client.get(path, headers=auth(coach_key))
    assert listed.json() == []


async def test_a_webcal_link_is_followed_over_https(jobs_client, coach_key, calendar):
    """Calendar apps hand out webcal:// links (a new user's trial had one refused): the source
    is stored as the same address over https."""
    athlete = await create_athlete(jobs_client, coach_key)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    link = "webcal://calendar.example.org/ical/rider.ics"
    added = await jobs_client.post(path, json={"url": link}, headers=auth(coach_key))
    assert added.status_code == 201, added.text
    assert added.json()["source"]["url"] == "https://calendar.example.org/ical/rider.ics"


async def test_a_nul_in_a_kinds_word_gets_422_naming_kinds(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    body = {"url": "http://example.org/x.ics", "kinds": {"tempo\u0000": "intervals"}}
    answer = await client.post(path, json=body, headers=auth(coach_key))
    assert answer.status_code == 422 and "kinds" in answer.text and "NUL" in answer.text


async def test_every_resolved_address_is_checked_and_the_fetch_goes_to_a_checked_one(
    monkeypatch, calendar
):
    loop = asyncio.get_running_loop()

    async def rebinding(host: str, port: int, **kwargs: Any) -> list[Any]:
        # a public address first, then loopback: the name must be refused as a whole
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    with pytest.raises(SourceRefused, match="127.0.0.1"):
        await resolve("calendar.example", 80, allow_private=False)
    for address in ("169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1", "100.64.0.1"):
        with pytest.raises(SourceRefused):
            await resolve(address, 80, allow_private=False)
    assert await resolve("93.184.215.14", 80, allow_private=False) == ["93.184.215.14"]

    # with private sources allowed, a name resolving to loopback is fetched at that address,
    # the Host header naming the name
    async def loopback(host: str, port: int, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", loopback)
    calendar.serve(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    port = calendar.url.split(":")[2].split("/")[0]
    got = await fetch(f"http://calendar.example:{port}/a.ics", allow_private=True)
    assert got.body.startswith(b"BEGIN:VCALENDAR")
    assert calendar.requests[-1]["host"] == f"calendar.example:{port}"


async def test_a_fetch_stops_at_the_size_cap_and_the_time_cap(calendar):
    calendar.serve(b"X" * 50_000)
    with pytest.raises(FetchFailed, match="over"):
        await fetch(calendar.url, allow_private=True, limit_bytes=10_000)
    calendar.delay_s = 1.0
    with pytest.raises(FetchFailed, match="within 0.3 s"):
        await fetch(calendar.url, allow_private=True, time_s=0.3)


async def test_sources_and_jobs_are_the_coachs_own(jobs_client, coach_key, other_key, calendar):
    client = jobs_client
    calendar.serve(ics(amateur_weeks(next_monday(), 1)))
    athlete = await create_athlete(client, coach_key)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    added = await client.post(path, json={"url": calendar.url}, headers=auth(coach_key))
    job_id = added.json()["job_id"]
    source_id = added.json()["source"]["id"]
    await job_done(client, coach_key, job_id)
    assert (await client.get(path, headers=auth(other_key))).status_code == 404
    assert (await client.get(f"{path}/{source_id}", headers=auth(other_key))).status_code == 404
    assert (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(other_key))).status_code == 404
    answer = await client.post(
        "/api/v1/replan", json={"athlete_ids": [athlete["id"]]}, headers=auth(other_key)
    )
    assert answer.status_code == 404
    dup = await client.post(path, json={"url": calendar.url}, headers=auth(coach_key))
    assert dup.status_code == 409
    assert source_id in dup.json()["detail"]
    gone = await client.delete(f"{path}/{source_id}", headers=auth(coach_key))
    assert gone.status_code == 204
    assert (await client.get(path, headers=auth(coach_key))).json() == []


async def test_a_roster_replan_is_a_job_and_metrics_count_it(jobs_client, coach_key):
    client, key = jobs_client, coach_key
    monday = next_monday()
    ids, versions = [], {}
    for name in ("Ana", "Ben"):
        athlete = await create_athlete(client, key, name=name)
        ids.append(athlete["id"])
        if name == "Ben":
            race = {"start": f"{monday + timedelta(days=5)}T09:00:00+01:00", "duration_min": 120}
            put = await client.put(
                f"/api/v1/athletes/{athlete['id']}/rides",
                json=[{**race, "kind": "race", "title": "Club race"}],
                headers=auth(key),
            )
            assert put.status_code == 200, put.text
        made = await client.post(
            f"/api/v1/athletes/{athlete['id']}/plan",
            json={"start": monday.isoformat(), "weeks": 2},
            headers=auth(key),
        )
        versions[athlete["id"]] = made.json()["version"]
    answer = await client.post("/api/v1/replan", json={"athlete_ids": None}, headers=auth(key))
    assert answer.status_code == 202, answer.text
    job = await job_done(client, key, answer.json()["job_id"])
    assert job["state"] == "done" and job["total"] == 2 and job["failed"] == 0, job
    for athlete_id in ids:
        plan = (await client.get(f"/api/v1/athletes/{athlete_id}/plan", headers=auth(key))).json()
        assert plan["version"] == versions[athlete_id] + 1
        assert plan["weeks"] == 2
    # each athlete's line: the plan's version, and its warnings where it has any (Ben's race
    # has no priority)
    details = {a["athlete_id"]: a["detail"] for a in job["athletes"]}
    assert details[ids[0]] == f"plan version {versions[ids[0]] + 1}"
    assert details[ids[1]].startswith(f"plan version {versions[ids[1]] + 1}; warning: race")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'planner_http_requests_total{method="POST",route="/api/v1/replan",status="202"}' in text
    assert 'planner_jobs_total{function="replan_athlete",outcome="ok"}' in text
    assert "planner_job_seconds_bucket" in text and "planner_solver_seconds_count" in text
    assert 'planner_queue_depth{state="queued"}' in text


@pytest.mark.parametrize(
    "variant",
    [
        "{url}#week",  # a fragment never reaches the server
        "HTTP://127.0.0.1:{port}/athlete.ics",
        "http://127.0.0.1.:{port}/athlete.ics",  # the host's root dot
    ],
)
async def test_one_calendar_under_another_spelling_is_refused(
    jobs_client, coach_key, calendar, variant
):
    """The same feed pasted again (a coach's trial: once from the webcal:// link, once as
    https, the scheme's case or a fragment aside) was imported twice, every ride doubled."""
    client = jobs_client
    calendar.serve(ics(amateur_weeks(next_monday(), 1)))
    athlete = await create_athlete(client, coach_key)
    path = f"/api/v1/athletes/{athlete['id']}/calendar-sources"
    added = await client.post(path, json={"url": calendar.url}, headers=auth(coach_key))
    assert added.status_code == 201, added.text
    port = calendar.url.split(":")[2].split("/")[0]
    again = variant.format(url=calendar.url, port=port)
    assert again != calendar.url
    dup = await client.post(path, json={"url": again}, headers=auth(coach_key))
    assert dup.status_code == 409, dup.text
    assert added.json()["source"]["id"] in dup.json()["detail"]
    await job_done(client, coach_key, added.json()["job_id"])
    assert len((await client.get(path, headers=auth(coach_key))).json()) == 1


def test_calendar_key_tells_calendars_apart():
    from api.sources import calendar_key

    same = calendar_key("https://cal.example.org/a.ics")
    assert calendar_key("http://CAL.example.org:443/a.ics") == same
    assert calendar_key("https://cal.example.org:443/a.ics#x") == same
    assert calendar_key("https://cal.example.org/b.ics") != same
    assert calendar_key("https://cal.example.org/a.ics?u=2") != same
    assert calendar_key("https://cal.example.org:8443/a.ics") != same


async def test_a_followed_event_read_broken_keeps_its_ride_until_it_is_gone(
    jobs_client, coach_key, calendar
):
    """An event re-published without its end keeps its ride, and stays among the source's
    events: once it is gone from the calendar, its ride goes (a review: it was dropped from the
    source's events, and nothing removed its ride any more)."""
    client, key = jobs_client, coach_key
    monday = next_monday()
    saturday, sunday = monday + timedelta(days=5), monday + timedelta(days=6)
    long_ride = _event("long@t", _at(saturday, 8), 240, "Long ride")
    sunday_ride = _event("sun@t", _at(sunday, 9), 90, "Endurance ride")
    athlete, base = await _follow(client, key, calendar, _cal(long_ride, sunday_ride))
    source = await source_of(client, key, athlete["id"])
    broken = [line for line in long_ride if not line.startswith("DTEND")]
    calendar.serve(_cal(broken, sunday_ride))
    assert (await refresh(client, key, athlete["id"], source["id"]))["state"] == "done"
    assert {r["external_id"] for r in await _rides(client, key, base)} == {"long@t", "sun@t"}
    calendar.serve(_cal(sunday_ride))  # the long ride deleted from the calendar
    assert (await refresh(client, key, athlete["id"], source["id"]))["state"] == "done"
    assert {r["external_id"] for r in await _rides(client, key, base)} == {"sun@t"}


async def test_job_rows_the_queue_lost_are_failed_by_the_schedule_and_the_rest_left_alone(
    jobs_client, coach_key, settings, monkeypatch
):
    """An operator's trial: with Redis restarted empty (or a worker killed on a job's last
    attempt) job rows stayed queued or running for good, and GET /jobs/{id} never ended.
    The scheduled refresh fails rows older than STALE_JOB_AFTER, naming why."""
    from sqlalchemy import select, update
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from api import clock
    from api.db import JobRunRow
    from api.jobs import FUNCTIONS
    from api.runner import STALE_JOB_AFTER

    client, key = jobs_client, coach_key
    athlete = await create_athlete(client, key)
    body = {"athlete_ids": [athlete["id"]]}
    lost = (await client.post("/api/v1/replan", json=body, headers=auth(key))).json()["job_id"]
    assert (await job_done(client, key, lost))["state"] == "done"
    fresh = (await client.post("/api/v1/replan", json=body, headers=auth(key))).json()["job_id"]
    assert (await job_done(client, key, fresh))["state"] == "done"
    engine = create_async_engine(settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with sessions() as db, db.begin():  # as the queue had forgotten them
            old = clock.now() - STALE_JOB_AFTER - timedelta(minutes=1)
            for job_id, queued_at, state in (
                (lost, old, "running"),
                (fresh, clock.now(), "queued"),
            ):
                await db.execute(
                    update(JobRunRow)
                    .where(JobRunRow.job_id == uuid.UUID(job_id))
                    .values(state=state, queued_at=queued_at, finished_at=None)
                )
        # late, not lost: a job the queue still holds is left to run (a review)
        from api.runner import queue_key

        late = queue_key("replan", uuid.UUID(athlete["id"]), uuid.UUID(lost))
        kept = await FUNCTIONS["refresh_all"]({"sessions": sessions, "runner": _NoQueue([late])})
        assert kept["lost"] == 0
        result = await FUNCTIONS["refresh_all"]({"sessions": sessions, "runner": _NoQueue()})
        assert result["lost"] == 1
        async with sessions() as db:
            rows = {str(r.job_id): r for r in (await db.scalars(select(JobRunRow))).all()}
    finally:
        await engine.dispose()
    assert rows[lost].state == "failed" and "send the request again" in rows[lost].detail
    assert rows[fresh].state == "queued"
    read = (await client.get(f"/api/v1/jobs/{lost}", headers=auth(key))).json()
    assert read["state"] == "failed", read


class _NoQueue:
    """A queue that forgot every job but `kept`."""

    def __init__(self, kept=()):
        self.kept = set(kept)

    async def enqueue_refresh(self, athlete_id):
        pass  # other tests' sources share the database: their refreshes are not this test's

    async def holds(self, keys):
        return [key in self.kept for key in keys]
