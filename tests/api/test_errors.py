"""Every bad input of api.md's error section: the status, a detail naming the problem, and
nothing stored changes (each test reads the athlete's data before and after)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from conftest import auth
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from support import (
    at,
    athlete_body,
    create_athlete,
    feed_path,
    next_monday,
    ride,
    snapshot,
    weekly_rides,
)

from api.db import AthleteRow, RideRow

MIB = 1024 * 1024


@pytest.fixture
async def athlete(client, coach_key) -> dict[str, Any]:
    """An athlete with a few rides and a plan, so every kind of stored data is there to compare."""
    created = await create_athlete(client, coach_key)
    base = f"/api/v1/athletes/{created['id']}"
    rides = await client.put(
        f"{base}/rides", json=weekly_rides(next_monday(), 1), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    plan = await client.post(
        f"{base}/plan",
        json={"weeks": 1, "start": next_monday().isoformat()},
        headers=auth(coach_key),
    )
    assert plan.status_code == 201, plan.text
    return {"id": created["id"], "base": base, "rides": rides.json()}


def assert_error(answer: Any, status: int, *words: str) -> dict[str, Any]:
    """api.md's error shape (Litestar's): status_code, a detail that names the problem, extra."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"status_code", "detail", "extra"}, body
    assert body["status_code"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


def assert_names_field(body: dict[str, Any], key: str) -> None:
    """A 422 lists each field with why in `extra`."""
    keys = [item["key"] for item in body["extra"]]
    assert any(k == key or k.endswith(f".{key}") for k in keys), (key, body["extra"])
    assert all(item["message"] for item in body["extra"])


def json_headers(key: str) -> dict[str, str]:
    return {**auth(key), "Content-Type": "application/json"}


def ics_headers(key: str) -> dict[str, str]:
    return {**auth(key), "Content-Type": "text/calendar"}


# --- 400 malformed ------------------------------------------------------------------------

MALFORMED = [b'{"name": ', b"{name: 'Lea'}", b"not json at all", b'{"name": "Lea",}']


@pytest.mark.parametrize("raw", MALFORMED, ids=["truncated", "unquoted", "text", "trailing comma"])
async def test_malformed_json_gets_400_and_stores_nothing(client, coach_key, athlete, raw):
    before = await snapshot(client, coach_key, athlete["id"])
    created = await client.post("/api/v1/athletes", content=raw, headers=json_headers(coach_key))
    patched = await client.patch(athlete["base"], content=raw, headers=json_headers(coach_key))
    replaced = await client.put(
        f"{athlete['base']}/rides", content=raw, headers=json_headers(coach_key)
    )
    for answer in (created, patched, replaced):
        assert_error(answer, 400, "malformed JSON body")
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    "text, why",
    [
        ("hello there", "BEGIN:VCALENDAR"),
        ('{"rides": []}', "JSON"),
        ("<html><body>calendar</body></html>", "HTML"),
        ("", "empty"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "VCALENDAR"),
        ("\xff\xfeB\x00E\x00G\x00", "UTF-8"),
    ],
    ids=["text", "json", "html", "empty", "unterminated", "not utf-8"],
)
async def test_an_ics_that_is_not_a_calendar_gets_400_naming_why_and_imports_nothing(
    client, coach_key, athlete, text, why
):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        f"{athlete['base']}/rides/import",
        content=text.encode("latin-1"),
        headers=ics_headers(coach_key),
    )
    assert_error(answer, 400, "iCalendar", why)
    assert await snapshot(client, coach_key, athlete["id"]) == before


# --- 401, 404 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, why",
    [({}, "missing bearer key"), ({"Authorization": "Bearer nope"}, "unknown coach key")],
    ids=["no key", "wrong key"],
)
async def test_no_key_or_an_unknown_key_gets_401_and_changes_nothing(
    client, coach_key, athlete, headers, why
):
    before = await snapshot(client, coach_key, athlete["id"])
    listed = await client.get("/api/v1/athletes", headers=headers)
    created = await client.post("/api/v1/athletes", json=athlete_body(), headers=headers)
    patched = await client.patch(athlete["base"], json={"name": "X"}, headers=headers)
    for answer in (listed, created, patched):
        assert_error(answer, 401, why)
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_an_unknown_athlete_gets_404_on_read_change_rides_and_plan(
    client, coach_key, athlete
):
    before = await snapshot(client, coach_key, athlete["id"])
    base = f"/api/v1/athletes/{uuid.uuid4()}"
    answers = [
        await client.get(base, headers=auth(coach_key)),
        await client.patch(base, json={"name": "X"}, headers=auth(coach_key)),
        await client.put(f"{base}/rides", json=[], headers=auth(coach_key)),
        await client.post(f"{base}/plan", json={"weeks": 1}, headers=auth(coach_key)),
    ]
    for answer in answers:
        assert_error(answer, 404, "athlete not found")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_an_unknown_ride_gets_404_and_the_calendar_is_unchanged(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.delete(f"{athlete['base']}/rides/{uuid.uuid4()}", headers=auth(coach_key))
    assert_error(answer, 404, "ride not found")
    assert await snapshot(client, coach_key, athlete["id"]) == before


# --- 409, 412 -------------------------------------------------------------------------------


async def test_posting_a_ride_that_overlaps_one_stored_gets_409_naming_it(
    client, coach_key, athlete
):
    before = await snapshot(client, coach_key, athlete["id"])
    stored = athlete["rides"][0]
    clash = {"start": stored["start"], "duration_min": 30, "kind": "recovery"}
    answer = await client.post(f"{athlete['base']}/rides", json=clash, headers=auth(coach_key))
    assert_error(answer, 409, "overlaps", stored["title"], stored["id"])
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_replan_with_a_stale_if_match_gets_412_and_keeps_the_published_plan(
    client, coach_key, athlete
):
    plan_url = f"{athlete['base']}/plan"
    etag = (await client.get(plan_url, headers=auth(coach_key))).headers["etag"]
    before = await snapshot(client, coach_key, athlete["id"])
    stale = await client.post(
        plan_url,
        json={"weeks": 1, "start": next_monday().isoformat()},
        headers={**auth(coach_key), "If-Match": '"plan-stale"'},
    )
    assert_error(stale, 412, "stale If-Match", etag)
    assert await snapshot(client, coach_key, athlete["id"]) == before
    fresh = await client.post(
        plan_url,
        json={"weeks": 1, "start": next_monday().isoformat()},
        headers={**auth(coach_key), "If-Match": etag},
    )
    assert fresh.status_code == 201, fresh.text
    assert fresh.headers["etag"] != etag


async def test_patch_with_a_stale_if_match_gets_412_and_the_current_etag_works(
    client, coach_key, athlete
):
    read = await client.get(athlete["base"], headers=auth(coach_key))
    etag = read.headers["etag"]
    before = await snapshot(client, coach_key, athlete["id"])
    wrong = await client.patch(
        athlete["base"],
        json={"name": "Stale"},
        headers={**auth(coach_key), "If-Match": '"athlete-v0"'},
    )
    assert_error(wrong, 412, "stale If-Match", etag)
    assert await snapshot(client, coach_key, athlete["id"]) == before

    fresh = await client.patch(
        athlete["base"], json={"name": "Fresh"}, headers={**auth(coach_key), "If-Match": etag}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["name"] == "Fresh" and fresh.headers["etag"] != etag
    after_change = await snapshot(client, coach_key, athlete["id"])
    replayed = await client.patch(
        athlete["base"], json={"name": "Lost update"}, headers={**auth(coach_key), "If-Match": etag}
    )
    assert_error(replayed, 412, "stale If-Match")
    assert await snapshot(client, coach_key, athlete["id"]) == after_change


# --- 413, 415 -------------------------------------------------------------------------------


async def test_a_json_body_over_1_mib_gets_413_and_stores_nothing(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    huge = athlete_body(name="x" * (MIB + 16))
    created = await client.post("/api/v1/athletes", json=huge, headers=auth(coach_key))
    assert_error(created, 413, f"limit of {MIB:,} bytes")
    many = [
        ride(at(next_monday() + timedelta(days=i), 8), 60, title="t" * 400) for i in range(3000)
    ]
    assert len(json.dumps(many)) > MIB
    replaced = await client.put(f"{athlete['base']}/rides", json=many, headers=auth(coach_key))
    assert_error(replaced, 413, f"limit of {MIB:,} bytes")
    assert await snapshot(client, coach_key, athlete["id"]) == before


def padded_calendar(size: int) -> bytes:
    """A valid calendar with no events, padded with an X- property line by line to `size` bytes."""
    line = b"X-PADDING:" + b"a" * 62 + b"\r\n"
    head, tail = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n", b"END:VCALENDAR\r\n"
    return head + line * ((size - len(head) - len(tail)) // len(line) + 1) + tail


async def test_an_ics_over_5_mib_gets_413_and_imports_nothing(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    body = padded_calendar(5 * MIB + 1024)
    answer = await client.post(
        f"{athlete['base']}/rides/import", content=body, headers=ics_headers(coach_key)
    )
    assert_error(answer, 413, f"limit of {5 * MIB:,} bytes")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_an_ics_between_1_and_5_mib_is_read_not_refused(client, coach_key, athlete):
    body = padded_calendar(2 * MIB)
    answer = await client.post(
        f"{athlete['base']}/rides/import", content=body, headers=ics_headers(coach_key)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_json_endpoint_given_another_content_type_gets_415_and_stores_nothing(
    client, coach_key, athlete, content_type
):
    before = await snapshot(client, coach_key, athlete["id"])
    headers = auth(coach_key) | ({"Content-Type": content_type} if content_type else {})
    body = json.dumps(athlete_body()).encode()
    rides = json.dumps(weekly_rides(next_monday(), 2)).encode()
    created = await client.post("/api/v1/athletes", content=body, headers=headers)
    replaced = await client.put(f"{athlete['base']}/rides", content=rides, headers=headers)
    for answer in (created, replaced):
        assert_error(answer, 415, "unsupported content type", "application/json")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_patch_sent_as_a_json_merge_patch_is_read(client, coach_key, athlete):
    """The README calls the PATCH a JSON merge patch (RFC 7386), whose own media type the
    service refused with a 415 (a new user's trial). A POST in that type still is."""
    headers = auth(coach_key) | {"Content-Type": "application/merge-patch+json"}
    patched = await client.patch(
        athlete["base"], content=json.dumps({"name": "Merged"}).encode(), headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Merged"
    posted = await client.post(
        "/api/v1/athletes", content=json.dumps(athlete_body()).encode(), headers=headers
    )
    assert_error(posted, 415, "unsupported content type", "application/json")


async def test_the_import_given_json_gets_415_and_imports_nothing(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        f"{athlete['base']}/rides/import",
        json=weekly_rides(next_monday(), 1),
        headers=auth(coach_key),
    )
    assert_error(answer, 415, "application/json", "text/calendar")
    assert await snapshot(client, coach_key, athlete["id"]) == before


# --- 422 ------------------------------------------------------------------------------------


async def test_an_unknown_time_zone_gets_422_naming_timezone_on_create_and_patch(
    client, coach_key, athlete
):
    before = await snapshot(client, coach_key, athlete["id"])
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(timezone="Mars/Olympus_Mons"), headers=auth(coach_key)
    )
    body = assert_error(created, 422, "timezone", "Mars/Olympus_Mons")
    assert_names_field(body, "timezone")
    patched = await client.patch(
        athlete["base"], json={"timezone": "Europe/Atlantis"}, headers=auth(coach_key)
    )
    body = assert_error(patched, 422, "timezone", "Europe/Atlantis")
    assert_names_field(body, "timezone")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_window_ending_before_it_starts_gets_422_naming_the_day(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    backwards = {"monday": [{"start": "18:00", "end": "07:00"}]}
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(availability=backwards), headers=auth(coach_key)
    )
    body = assert_error(created, 422, "availability.monday", "ends", "before it starts")
    assert_names_field(body, "availability.monday.0")
    patched = await client.patch(
        athlete["base"], json={"availability": backwards}, headers=auth(coach_key)
    )
    assert_error(patched, 422, "availability.monday", "before it starts")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_more_windows_a_day_than_the_planner_takes_get_422_naming_the_day(
    client, coach_key, athlete
):
    """Every minute of a day as a window made a 52-week plan take 17-33 s (a hostile-input
    trial): a day takes at most 8 windows, the dated exceptions 400."""
    before = await snapshot(client, coach_key, athlete["id"])
    minutes = [{"start": f"{m // 60:02d}:{m % 60:02d}", "end": "23:59"} for m in range(0, 600, 60)]
    crowded = {"tuesday": minutes}
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(availability=crowded), headers=auth(coach_key)
    )
    assert_error(created, 422, "availability", "tuesday: 10 windows, at most 8 a day")
    patched = await client.patch(
        athlete["base"], json={"availability": crowded}, headers=auth(coach_key)
    )
    assert_error(patched, 422, "tuesday: 10 windows")
    day = datetime(2027, 1, 1)
    many = [
        {"date": (day + timedelta(days=n)).date().isoformat(), "windows": []} for n in range(401)
    ]
    created = await client.post(
        "/api/v1/athletes",
        json=athlete_body(availability={"exceptions": many}),
        headers=auth(coach_key),
    )
    assert_error(created, 422, "401 dated exceptions, at most 400")
    assert await snapshot(client, coach_key, athlete["id"]) == before
    eight = {"tuesday": minutes[:8]}
    assert (
        await client.post(
            "/api/v1/athletes", json=athlete_body(availability=eight), headers=auth(coach_key)
        )
    ).status_code == 201


@pytest.mark.parametrize("minutes", [0, -30])
async def test_a_ride_with_no_positive_duration_gets_422_naming_duration_min(
    client, coach_key, athlete, minutes
):
    before = await snapshot(client, coach_key, athlete["id"])
    bad = ride(at(next_monday(), 6), minutes)
    posted = await client.post(f"{athlete['base']}/rides", json=bad, headers=auth(coach_key))
    body = assert_error(posted, 422, "duration_min")
    assert_names_field(body, "duration_min")
    replaced = await client.put(
        f"{athlete['base']}/rides", json=[ride(at(next_monday(), 12)), bad], headers=auth(coach_key)
    )
    assert_error(replaced, 422, "duration_min")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_overlapping_rides_in_a_put_get_422_naming_both_and_the_old_calendar_stays(
    client, coach_key, athlete
):
    before = await snapshot(client, coach_key, athlete["id"])
    monday = next_monday()
    rides = [
        ride(at(monday, 8), 90, title="Club run-out"),
        ride(at(monday, 9), 60, title="Coffee spin"),
    ]
    answer = await client.put(f"{athlete['base']}/rides", json=rides, headers=auth(coach_key))
    body = assert_error(answer, 422, "overlap", "Club run-out", "Coffee spin")
    assert_names_field(body, "rides")
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize("weeks", [53, 0, -1])
async def test_weeks_outside_1_to_52_get_422_naming_weeks_and_the_plan_stays(
    client, coach_key, athlete, weeks
):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        f"{athlete['base']}/plan", json={"weeks": weeks}, headers=auth(coach_key)
    )
    body = assert_error(answer, 422, "weeks")
    assert_names_field(body, "weeks")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_an_unknown_patch_field_gets_422_naming_it_and_the_athlete_stays(
    client, coach_key, athlete
):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.patch(
        athlete["base"], json={"name": "Ok", "nickname": "Lee"}, headers=auth(coach_key)
    )
    body = assert_error(answer, 422, "unknown field", "nickname")
    assert_names_field(body, "nickname")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_ride_start_without_an_offset_gets_422_naming_start(client, coach_key, athlete):
    before = await snapshot(client, coach_key, athlete["id"])
    naive = {"start": f"{next_monday()}T08:00:00", "duration_min": 60}
    answer = await client.post(f"{athlete['base']}/rides", json=naive, headers=auth(coach_key))
    body = assert_error(answer, 422, "start", "offset")
    assert_names_field(body, "start")
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    "query, key",
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2027-13-01"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "2027-03-10", "to": "2027-03-01"}, "to"),
        # ISO forms Python reads but the contract's YYYY-MM-DD is not (a hostile trial)
        ({"from": "2027-W10"}, "from"),
        ({"to": "20270310"}, "to"),
    ],
    ids=[
        "from not a date",
        "to not a date",
        "to year 9999",
        "from year 1",
        "to before from",
        "from as an ISO week",
        "to without dashes",
    ],
)
@pytest.mark.parametrize("resource", ["rides", "plan"])
async def test_ride_and_plan_filters_that_are_not_usable_dates_get_422_naming_the_parameter(
    client, coach_key, athlete, query, key, resource
):
    if resource == "plan":
        made = await client.post(f"{athlete['base']}/plan", json={}, headers=auth(coach_key))
        assert made.status_code == 201, made.text
    answer = await client.get(
        f"{athlete['base']}/{resource}", params=query, headers=auth(coach_key)
    )
    body = assert_error(answer, 422, key)
    assert_names_field(body, key)


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:00:00+00:00"])
async def test_a_ride_at_the_edge_of_the_calendar_gets_422_not_500(
    client, coach_key, athlete, start
):
    before = await snapshot(client, coach_key, athlete["id"])
    posted = await client.post(
        f"{athlete['base']}/rides",
        json={"start": start, "duration_min": 120},
        headers=auth(coach_key),
    )
    assert_names_field(assert_error(posted, 422, "start"), "start")
    replaced = await client.put(
        f"{athlete['base']}/rides",
        json=[{"start": start, "duration_min": 120}],
        headers=auth(coach_key),
    )
    assert_error(replaced, 422, "start")
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    "start, weeks",
    [("0001-01-01", 1), ("9999-12-31", 1), ("2199-12-30", 4), ("2199-12-25", 1)],
)
async def test_a_plan_start_at_the_edge_of_the_calendar_gets_422_not_500(
    client, coach_key, athlete, start, weeks
):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        f"{athlete['base']}/plan", json={"start": start, "weeks": weeks}, headers=auth(coach_key)
    )
    assert_names_field(assert_error(answer, 422, "start"), "start")
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    "start, weeks", [("1900-01-01", 1), (-14, 1), (-21, 2), ("2020-01-06", 52)]
)
async def test_a_plan_wholly_before_today_gets_422_naming_start_and_keeps_the_calendar(
    client, coach_key, athlete, start, weeks
):
    """Nothing in it could still happen: made, it would replace the published calendar with
    an empty plan. (`start` as a number: days from next Monday.)"""
    if isinstance(start, int):
        start = (next_monday() + timedelta(days=start)).isoformat()
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        f"{athlete['base']}/plan", json={"start": start, "weeks": weeks}, headers=auth(coach_key)
    )
    body = assert_error(answer, 422, "start")
    assert_names_field(body, "start")
    assert "before today" in body["detail"], body
    # 52 weeks is the most a plan takes: "plan more weeks" would send the coach nowhere
    assert ("plan more weeks" in body["detail"]) == (weeks < 52), body["detail"]
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_plan_from_this_weeks_monday_is_still_made(client, coach_key, athlete):
    """The counterpart: a plan that reaches today is a re-plan of what is left of it."""
    this_monday = next_monday() - timedelta(days=7)
    answer = await client.post(
        f"{athlete['base']}/plan",
        json={"start": this_monday.isoformat(), "weeks": 1},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text


async def test_a_plan_ending_on_the_last_day_the_service_takes_is_made(client, coach_key, athlete):
    answer = await client.post(
        f"{athlete['base']}/plan",
        json={"start": "2199-12-03", "weeks": 4},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "path, body, unknown",
    [
        ("plan", {"start": "2027-03-01", "week": 2}, "week"),
        ("approvals", {"exercise_id": "deadlift", "note": "ok", "by": "me"}, "by"),
        ("clearance", {"region": "knee", "note": "ok", "doctor": "x"}, "doctor"),
    ],
)
async def test_a_coach_command_with_an_unknown_key_gets_422_naming_it_and_changes_nothing(
    client, coach_key, athlete, path, body, unknown
):
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(f"{athlete['base']}/{path}", json=body, headers=auth(coach_key))
    assert_names_field(assert_error(answer, 422), unknown)
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_pain_report_with_an_unknown_key_is_still_taken(client, coach_key, athlete):
    answer = await client.post(
        f"{athlete['base']}/pain",
        json={"region": "knee", "score": 2, "timing": "next_morning", "mood": "fine"},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text


# --- hostile input: always a 4xx in the error shape, never a 500 ---------------------------


async def first_session_id(client: Any, key: str, athlete: dict[str, Any]) -> str:
    plan = await client.get(f"{athlete['base']}/plan", headers=auth(key))
    assert plan.status_code == 200, plan.text
    return plan.json()["sessions"][0]["id"]


DEEP = {
    "5000 lists": b"[" * 5000 + b"]" * 5000,
    "5000 objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "1000 lists in a field": b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "one past the cap": b"[" * 33 + b"]" * 33,
}


@pytest.mark.parametrize("raw", list(DEEP.values()), ids=list(DEEP))
async def test_json_nested_too_deep_gets_400_naming_the_nesting_with_or_without_a_key(
    client, coach_key, athlete, raw
):
    before = await snapshot(client, coach_key, athlete["id"])
    keyless = {"Content-Type": "application/json"}
    answers = [
        await client.post("/api/v1/athletes", content=raw, headers=keyless),
        await client.post("/api/v1/athletes", content=raw, headers=json_headers(coach_key)),
        await client.patch(athlete["base"], content=raw, headers=json_headers(coach_key)),
        await client.put(f"{athlete['base']}/rides", content=raw, headers=json_headers(coach_key)),
        await client.post(f"{athlete['base']}/plan", content=raw, headers=json_headers(coach_key)),
        await client.post(f"{athlete['base']}/pain", content=raw, headers=json_headers(coach_key)),
    ]
    for answer in answers:
        assert_error(answer, 400, "malformed JSON body", "nested deeper than 32 levels")
    assert await snapshot(client, coach_key, athlete["id"]) == before


NOT_ZONES = {
    "5000 characters": "A" * 5000,
    "a directory": "Europe",
    "a data file": "zone1970.tab",
    "a path out": "../../../etc/passwd",
    "a NUL": "Europe/Berlin\u0000",
    "an empty part": "Europe//Berlin",
    "the machine's own zone": "localtime",
    "the tz database's placeholder": "Factory",
    "a POSIX rule": "posixrules",
}


@pytest.mark.parametrize("zone", list(NOT_ZONES.values()), ids=list(NOT_ZONES))
async def test_a_time_zone_that_is_no_iana_name_gets_422_naming_timezone(
    client, coach_key, athlete, zone
):
    before = await snapshot(client, coach_key, athlete["id"])
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(timezone=zone), headers=auth(coach_key)
    )
    patched = await client.patch(athlete["base"], json={"timezone": zone}, headers=auth(coach_key))
    for answer in (created, patched):
        body = assert_error(answer, 422, "timezone")
        assert_names_field(body, "timezone")
        assert len(answer.text) < 1000, "the answer does not echo a 5000-character name"
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_time_at_the_edge_of_the_calendar_gets_422_naming_the_field_wherever_it_is_sent(
    client, coach_key, athlete, moment
):
    before = await snapshot(client, coach_key, athlete["id"])
    base = athlete["base"]
    session_id = await first_session_id(client, coach_key, athlete)
    pain = {"region": "knee", "score": 2, "timing": "next_morning", "at": moment}
    sends = {
        "at": [
            await client.post(f"{base}/pain", json=pain, headers=auth(coach_key)),
            await client.post(
                f"{base}/sessions/{session_id}/feedback",
                json={"completed": True, "at": moment},
                headers=auth(coach_key),
            ),
        ],
        "start": [
            await client.post(
                f"{base}/rides",
                json={"start": moment, "duration_min": 60},
                headers=auth(coach_key),
            )
        ],
    }
    for key, answers in sends.items():
        for answer in answers:
            assert_names_field(assert_error(answer, 422, key, "must lie between"), key)
    exception = {"exceptions": [{"date": moment[:10], "windows": []}]}
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(availability=exception), headers=auth(coach_key)
    )
    body = assert_error(created, 422, "availability.exceptions.0.date")
    assert_names_field(body, "availability.exceptions.0.date")
    assert await snapshot(client, coach_key, athlete["id"]) == before


NUL = "\u0000"
# (what, method, path under the athlete ('' is the athlete itself, None the collection), body,
# the field the answer must name)
NUL_IN_TEXT = [
    ("athlete name", "post", None, athlete_body(name=f"Le{NUL}a"), "name"),
    ("athlete name change", "patch", "", {"name": f"Le{NUL}a"}, "name"),
    (
        "ride title",
        "post",
        "/rides",
        ride(at(next_monday(), 6), 30, title=f"Club{NUL}ride"),
        "title",
    ),
    (
        "ride external id",
        "put",
        "/rides",
        [ride(at(next_monday(), 6), 30, external_id=f"uid{NUL}1")],
        "external_id",
    ),
    ("clearance note", "post", "/clearance", {"region": "knee", "note": f"seen{NUL}"}, "note"),
]


@pytest.mark.parametrize(
    "method, path, body, key", [c[1:] for c in NUL_IN_TEXT], ids=[c[0] for c in NUL_IN_TEXT]
)
async def test_a_nul_in_any_text_gets_422_naming_the_field_and_stores_nothing(
    client, coach_key, athlete, method, path, body, key
):
    before = await snapshot(client, coach_key, athlete["id"])
    session_id = await first_session_id(client, coach_key, athlete)
    url = "/api/v1/athletes" if path is None else athlete["base"] + path.format(session=session_id)
    answer = await client.request(method.upper(), url, json=body, headers=auth(coach_key))
    assert_names_field(assert_error(answer, 422, key, "NUL"), key)
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n", "\t", "\x0b"])
@pytest.mark.parametrize("method", ["post", "patch"])
async def test_a_line_break_in_an_athlete_name_gets_422_and_stores_nothing(
    client, coach_key, athlete, method, breaker
):
    """A trailing newline pasted from a spreadsheet was taken (200), and from then on the
    athlete's feed answered 500: the name heads the calendar (a hostile-input trial)."""
    before = await snapshot(client, coach_key, athlete["id"])
    name = f"Ana Lopez{breaker}"
    if method == "post":
        answer = await client.post(
            "/api/v1/athletes", json=athlete_body(name=name), headers=auth(coach_key)
        )
    else:
        answer = await client.patch(athlete["base"], json={"name": name}, headers=auth(coach_key))
    assert_names_field(assert_error(answer, 422, "name", "line break"), "name")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_stored_name_with_a_line_break_still_gives_a_feed(client, coach_key, settings):
    """A name stored before names were held to one line: the feed writes it on one line."""
    monday = next_monday()
    created = await client.post(
        "/api/v1/athletes", json=athlete_body(name="Ana"), headers=auth(coach_key)
    )
    base = f"/api/v1/athletes/{created.json()['id']}"
    await client.put(f"{base}/rides", json=[ride(at(monday, 18), 60)], headers=auth(coach_key))
    made = await client.post(f"{base}/plan", json={"weeks": 2}, headers=auth(coach_key))
    assert made.status_code == 201, made.text
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as db:
        row = await db.get(AthleteRow, uuid.UUID(created.json()["id"]))
        row.name = "Ana\nLopez\r"
        await db.commit()
    await engine.dispose()
    feed = await client.get(feed_path(created.json()["feed_url"]))
    assert feed.status_code == 200, feed.text
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALNAME"]) == "Ana Lopez : strength and mobility"


def calendar_of(*events: tuple[str, str, datetime]) -> bytes:
    """An .ics with one hour-long event per (uid, summary, start)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for uid, summary, start in events:
        begins = start.astimezone(UTC)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{begins:%Y%m%dT%H%M%SZ}",
            f"DTSTART:{begins:%Y%m%dT%H%M%SZ}",
            f"DTEND:{begins + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


async def test_an_ics_event_with_a_nul_in_its_uid_or_summary_is_skipped_naming_why(
    client, coach_key, athlete
):
    monday = next_monday() + timedelta(weeks=2)
    body = calendar_of(
        ("nul\x00uid", "Endurance ride", at(monday, 7)),
        ("clean-summary-nul", "Club\x00ride", at(monday + timedelta(days=2), 7)),
        ("clean", "Endurance ride", at(monday + timedelta(days=4), 7)),
    )
    answer = await client.post(
        f"{athlete['base']}/rides/import", content=body, headers=ics_headers(coach_key)
    )
    assert answer.status_code == 200, answer.text
    counts = answer.json()
    assert counts["created"] == 1
    assert counts["skipped"] == 2
    for skipped in counts["skipped_events"]:
        assert "NUL" in skipped["reason"], skipped
    rides = (await client.get(f"{athlete['base']}/rides", headers=auth(coach_key))).json()
    stored = [(r["external_id"], r["title"]) for r in rides]
    assert ("clean", "Endurance ride") in stored
    assert not any("\x00" in (text or "") for pair in stored for text in pair)


# (what, method, path under the athlete (None: the collection), body, the field named)
WRONG_JSON_TYPES = [
    ("weeks true", "post", "/plan", {"weeks": True}, "weeks"),
    ("weeks as text", "post", "/plan", {"weeks": "12"}, "weeks"),
    ("duration as text", "post", "/rides", ride(at(next_monday(), 6), "60"), "duration_min"),
    ("duration true", "post", "/rides", ride(at(next_monday(), 6), True), "duration_min"),
    (
        "a rule setting as text",
        "post",
        None,
        athlete_body(settings={"long_ride_min": "150"}),
        "settings.long_ride_min",
    ),
    (
        "a starting level true",
        "patch",
        "",
        {"starting_levels": {"hinge": True}},
        "starting_levels.hinge",
    ),
    (
        "pain score as text",
        "post",
        "/pain",
        {"region": "knee", "score": "3", "timing": "after"},
        "score",
    ),
    (
        "completed as text",
        "post",
        "/sessions/{session}/feedback",
        {"completed": "yes"},
        "completed",
    ),
    ("completed as 1", "post", "/sessions/{session}/feedback", {"completed": 1}, "completed"),
    (
        "rpe true",
        "post",
        "/sessions/{session}/feedback",
        {"completed": True, "rpe": True},
        "rpe",
    ),
]


@pytest.mark.parametrize(
    "method, path, body, key",
    [c[1:] for c in WRONG_JSON_TYPES],
    ids=[c[0] for c in WRONG_JSON_TYPES],
)
async def test_a_number_or_boolean_sent_as_another_json_type_gets_422_naming_the_field(
    client, coach_key, athlete, method, path, body, key
):
    before = await snapshot(client, coach_key, athlete["id"])
    session_id = await first_session_id(client, coach_key, athlete)
    url = "/api/v1/athletes" if path is None else athlete["base"] + path.format(session=session_id)
    answer = await client.request(method.upper(), url, json=body, headers=auth(coach_key))
    assert_names_field(assert_error(answer, 422, key), key)
    assert await snapshot(client, coach_key, athlete["id"]) == before


def test_json_bodies_still_take_whole_numbers_for_kg_and_text_for_dates_times_and_choices():
    from api.bodies import validate_json
    from api.feedback import FeedbackIn

    feedback = validate_json(
        FeedbackIn,
        {
            "completed": True,
            "rpe": 7,
            "pain": [{"region": "knee", "score": 2, "timing": "after", "flags": ["sharp"]}],
            "exercises": [{"exercise_id": "goblet_squat", "sets": 3, "reps": 8, "load_kg": 20}],
            "at": "2026-03-14T08:00:00+01:00",
        },
    )
    assert feedback.exercises[0].load_kg == 20.0
    assert feedback.at is not None and feedback.at.utcoffset() == timedelta(hours=1)
    assert feedback.pain[0].region == "knee"


# --- the schema documents the errors --------------------------------------------------------

OWNED_ERRORS = {"401", "404"}
DOCUMENTED = {
    ("post", "/api/v1/athletes"): {"400", "401", "413", "415", "422"},
    ("get", "/api/v1/athletes"): {"401"},
    ("get", "/api/v1/athletes/{athlete_id}"): OWNED_ERRORS,
    ("patch", "/api/v1/athletes/{athlete_id}"): OWNED_ERRORS | {"400", "412", "413", "415", "422"},
    ("delete", "/api/v1/athletes/{athlete_id}"): OWNED_ERRORS,
    ("post", "/api/v1/athletes/{athlete_id}/feed-token"): OWNED_ERRORS,
    ("put", "/api/v1/athletes/{athlete_id}/rides"): OWNED_ERRORS | {"400", "413", "415", "422"},
    ("post", "/api/v1/athletes/{athlete_id}/rides"): OWNED_ERRORS
    | {"400", "409", "413", "415", "422"},
    ("get", "/api/v1/athletes/{athlete_id}/rides"): OWNED_ERRORS | {"422"},
    ("delete", "/api/v1/athletes/{athlete_id}/rides/{ride_id}"): OWNED_ERRORS,
    ("post", "/api/v1/athletes/{athlete_id}/rides/import"): OWNED_ERRORS | {"400", "413", "415"},
    ("post", "/api/v1/athletes/{athlete_id}/plan"): OWNED_ERRORS
    | {"400", "409", "412", "413", "415", "422"},
    ("get", "/api/v1/athletes/{athlete_id}/plan"): OWNED_ERRORS,
    ("get", "/api/v1/athletes/{athlete_id}/plan.ics"): OWNED_ERRORS | {"304"},
    ("get", "/feeds/{filename}"): {"404", "304"},
    ("post", "/api/v1/athletes/{athlete_id}/sessions/{session_id}/feedback"): OWNED_ERRORS
    | {"400", "413", "415", "422"},
    ("post", "/api/v1/athletes/{athlete_id}/pain"): OWNED_ERRORS | {"400", "413", "415", "422"},
    ("get", "/api/v1/athletes/{athlete_id}/progression"): OWNED_ERRORS,
    ("post", "/api/v1/athletes/{athlete_id}/clearance"): OWNED_ERRORS
    | {"400", "409", "413", "415", "422"},
}


@pytest.mark.parametrize(
    "operation", list(DOCUMENTED), ids=[f"{m.upper()} {p}" for m, p in DOCUMENTED]
)
async def test_openapi_schema_documents_each_error_an_operation_can_answer(client, operation):
    schema = (await client.get("/schema/openapi.json")).json()
    method, path = operation
    responses = schema["paths"][path][method]["responses"]
    assert DOCUMENTED[operation] <= set(responses), sorted(responses)
    for status, response in responses.items():
        if status.startswith("4"):
            error = response["content"]["application/json"]["schema"]
            shapes = error.get("oneOf", [error])
            for shape in shapes:
                assert {"status_code", "detail", "extra"} <= set(shape["properties"])
                assert {"status_code", "detail"} <= set(shape["required"])
            assert response["description"]


async def test_openapi_schema_says_api_calls_need_a_bearer_key(client):
    schema = (await client.get("/schema/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    bearer = [
        name for name, s in schemes.items() if s["type"] == "http" and s["scheme"] == "bearer"
    ]
    assert bearer
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/athletes"):
            for operation in operations.values():
                assert {bearer[0]: []} in operation.get("security", schema.get("security", [])), (
                    path
                )


async def test_openapi_schema_describes_the_import_body_as_text_calendar(client):
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/api/v1/athletes/{athlete_id}/rides/import"]["post"]["requestBody"]
    assert list(body["content"]) == ["text/calendar"]


async def test_a_nul_or_an_over_long_session_id_in_the_path_is_a_404_not_a_500(
    client, coach_key, athlete
):
    """PostgreSQL refuses a NUL in a compared string: these were 500s there (a hostile-input
    trial); SQLite answered 404, as both do now."""
    before = await snapshot(client, coach_key, athlete["id"])
    for session_id in ("%00", "a%00b", "x" * 500):
        read = await client.get(f"{athlete['base']}/sessions/{session_id}", headers=auth(coach_key))
        assert read.status_code == 404, (session_id, read.text)
        logged = await client.post(
            f"{athlete['base']}/sessions/{session_id}/feedback",
            json={"completed": True},
            headers=auth(coach_key),
        )
        assert logged.status_code == 404, (session_id, logged.text)
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    ("given", "key"),
    [
        (5, "settings"),
        ("strict", "settings"),
        ([], "settings"),
        ({"mobility_days_min": 4, "mobility_days_max": 3}, "settings.mobility_days_max"),
        ({"mobility_days_min": 6}, "settings.mobility_days_max"),  # above the default 5
    ],
)
async def test_settings_that_do_not_validate_get_422_naming_them(
    client, coach_key, athlete, given, key
):
    """`settings` is also the name of the app's own dependency: an error on the object as a
    whole was taken for the server's and answered 500 (a hostile-input trial)."""
    before = await snapshot(client, coach_key, athlete["id"])
    answer = await client.post(
        "/api/v1/athletes", json=athlete_body(settings=given), headers=auth(coach_key)
    )
    assert_names_field(assert_error(answer, 422, key), key)
    patched = await client.patch(athlete["base"], json={"settings": given}, headers=auth(coach_key))
    assert_names_field(assert_error(patched, 422, key), key)
    assert await snapshot(client, coach_key, athlete["id"]) == before


@pytest.mark.parametrize(
    ("method", "start"),
    [
        ("post", "2199-12-31T23:00:00-05:00"),  # 2200 in UTC and in the athlete's zone
        ("put", "1900-01-01T05:00:00+08:00"),  # 1899 in UTC
        ("post", "2199-12-31T20:00:00+00:00"),  # 2200 in Pacific/Kiritimati (UTC+14)
    ],
)
async def test_a_ride_at_the_calendar_edge_gets_422_naming_start(
    client, coach_key, athlete, method, start
):
    """The date was checked as written, the answer built in the athlete's zone, where it lay
    outside the calendar: 500 (a hostile-input trial). Now the instant must stay in range in
    every zone, so a later change of zone cannot push a stored ride out of it."""
    before = await snapshot(client, coach_key, athlete["id"])
    body = {"start": start, "duration_min": 60, "kind": "endurance"}
    url = athlete["base"] + "/rides"
    answer = await (
        client.post(url, json=body, headers=auth(coach_key))
        if method == "post"
        else client.put(url, json=[body], headers=auth(coach_key))
    )
    assert_names_field(assert_error(answer, 422, "start", "every time zone"), "start")
    assert await snapshot(client, coach_key, athlete["id"]) == before


async def test_a_ride_stored_at_the_calendar_edge_still_reads(client, coach_key, athlete, settings):
    """A ride stored before the instant was checked stays readable in any zone."""
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as db:
        db.add(
            RideRow(
                athlete_id=uuid.UUID(athlete["id"]),
                start=datetime(2199, 12, 31, 20, tzinfo=UTC),
                duration_min=60,
                kind="endurance",
                title="far out",
            )
        )
        await db.commit()
    await engine.dispose()
    zoned = await client.patch(
        athlete["base"], json={"timezone": "Pacific/Kiritimati"}, headers=auth(coach_key)
    )
    assert zoned.status_code == 200, zoned.text
    rides = await client.get(athlete["base"] + "/rides", headers=auth(coach_key))
    assert rides.status_code == 200, rides.text
    assert any(r["title"] == "far out" for r in rides.json())


async def test_a_body_field_error_keeps_the_apis_shape(client, coach_key):
    """The 422 for a body field: status, 'invalid input: ...' naming it, and each field as
    {message, key} (api.md's Errors), as Litestar's own answer had it."""
    answer = await client.post(
        "/api/v1/athletes", json=athlete_body(name=5), headers=auth(coach_key)
    )
    body = answer.json()
    assert answer.status_code == 422 and body["status_code"] == 422
    assert body["detail"] == "invalid input: name: Input should be a valid string"
    assert body["extra"] == [{"message": "Input should be a valid string", "key": "name"}]
