"""The ride calendar: replace, add, list with date filters, delete, and import an .ics export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import auth
from support import at, create_athlete, next_monday, ride

BERLIN = ZoneInfo("Europe/Berlin")


def rides_url(athlete_id: str) -> str:
    return f"/api/v1/athletes/{athlete_id}/rides"


async def list_rides(client, key: str, athlete_id: str, **query: str) -> list[dict[str, Any]]:
    answer = await client.get(rides_url(athlete_id), params=query, headers=auth(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def starts(rides: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(r["start"]) for r in rides]


# --- JSON calendar ------------------------------------------------------------------------


async def test_put_replaces_the_whole_calendar_and_answers_the_rides_sorted_by_start(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    first = [ride(at(monday, 18), 60, title="Monday spin"), ride(at(monday, 7), 45, "recovery")]
    answer = await client.put(rides_url(athlete["id"]), json=first, headers=auth(coach_key))
    assert answer.status_code == 200, answer.text
    assert starts(answer.json()) == [at(monday, 7), at(monday, 18)]
    assert [r["kind"] for r in answer.json()] == ["recovery", "endurance"]

    second = [ride(at(monday + timedelta(days=5), 8), 240, "long", title="Long one")]
    answer = await client.put(rides_url(athlete["id"]), json=second, headers=auth(coach_key))
    assert answer.status_code == 200, answer.text
    stored = await list_rides(client, coach_key, athlete["id"])
    assert [(r["title"], r["kind"], r["duration_min"]) for r in stored] == [
        ("Long one", "long", 240)
    ]
    assert starts(stored) == [at(monday + timedelta(days=5), 8)]
    assert datetime.fromisoformat(stored[0]["end"]) == at(monday + timedelta(days=5), 12)


async def test_put_of_an_empty_list_clears_the_calendar(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    await client.put(
        rides_url(athlete["id"]), json=[ride(at(next_monday(), 9))], headers=auth(coach_key)
    )
    answer = await client.put(rides_url(athlete["id"]), json=[], headers=auth(coach_key))
    assert answer.status_code == 200 and answer.json() == []
    assert await list_rides(client, coach_key, athlete["id"]) == []


async def test_post_adds_one_ride_with_its_id_end_and_times_in_the_athlete_zone(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    start = at(next_monday(), 18, 30)
    body = ride(
        start.astimezone(UTC), 90, "intervals", priority=None, title="VO2 max", external_id="x-1"
    )
    answer = await client.post(rides_url(athlete["id"]), json=body, headers=auth(coach_key))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert datetime.fromisoformat(created["start"]) == start
    assert datetime.fromisoformat(created["start"]).utcoffset() == start.utcoffset()
    assert datetime.fromisoformat(created["end"]) == start + timedelta(minutes=90)
    assert (created["kind"], created["title"], created["external_id"]) == (
        "intervals",
        "VO2 max",
        "x-1",
    )
    assert await list_rides(client, coach_key, athlete["id"]) == [created]


async def test_post_overlapping_an_existing_ride_gets_409_naming_it_and_stores_nothing(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    existing = await client.post(
        rides_url(athlete["id"]),
        json=ride(at(monday, 22), 180, title="Night ride"),  # runs past midnight
        headers=auth(coach_key),
    )
    assert existing.status_code == 201
    before = await list_rides(client, coach_key, athlete["id"])
    clash = ride(at(monday + timedelta(days=1), 0, 30), 60, title="Early spin")
    answer = await client.post(rides_url(athlete["id"]), json=clash, headers=auth(coach_key))
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["status_code"] == 409
    assert "overlaps" in body["detail"] and "Night ride" in body["detail"]
    assert existing.json()["id"] in body["detail"]
    assert await list_rides(client, coach_key, athlete["id"]) == before


async def test_post_of_a_ride_starting_when_another_ends_is_not_an_overlap(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    first = await client.post(
        rides_url(athlete["id"]), json=ride(at(monday, 8), 60), headers=auth(coach_key)
    )
    second = await client.post(
        rides_url(athlete["id"]), json=ride(at(monday, 9), 60), headers=auth(coach_key)
    )
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert len(await list_rides(client, coach_key, athlete["id"])) == 2


async def test_get_filters_from_and_to_by_dates_in_the_athlete_zone_both_inclusive(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    tuesday, wednesday, friday = (monday + timedelta(days=n) for n in (1, 2, 4))
    # Wednesday 00:30 in Berlin is still Tuesday in UTC: the filter must use Berlin dates
    times = [at(monday, 7), at(tuesday, 23, 30), at(wednesday, 0, 30), at(friday, 10)]
    answer = await client.put(
        rides_url(athlete["id"]), json=[ride(t, 20) for t in times], headers=auth(coach_key)
    )
    assert answer.status_code == 200, answer.text
    one_day = await list_rides(
        client, coach_key, athlete["id"], **{"from": str(tuesday), "to": str(tuesday)}
    )
    assert starts(one_day) == [at(tuesday, 23, 30)]
    since = await list_rides(client, coach_key, athlete["id"], **{"from": str(wednesday)})
    assert starts(since) == [at(wednesday, 0, 30), at(friday, 10)]
    until = await list_rides(client, coach_key, athlete["id"], to=str(tuesday))
    assert starts(until) == [at(monday, 7), at(tuesday, 23, 30)]
    assert starts(await list_rides(client, coach_key, athlete["id"])) == times


async def test_delete_removes_the_ride_and_a_second_delete_gets_404(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    answer = await client.put(
        rides_url(athlete["id"]),
        json=[ride(at(monday, 8), title="keep"), ride(at(monday, 18), title="drop")],
        headers=auth(coach_key),
    )
    drop = next(r for r in answer.json() if r["title"] == "drop")
    url = f"{rides_url(athlete['id'])}/{drop['id']}"
    gone = await client.delete(url, headers=auth(coach_key))
    assert gone.status_code == 204
    assert [r["title"] for r in await list_rides(client, coach_key, athlete["id"])] == ["keep"]
    again = await client.delete(url, headers=auth(coach_key))
    assert again.status_code == 404
    assert again.json()["detail"] == "ride not found"
    assert [r["title"] for r in await list_rides(client, coach_key, athlete["id"])] == ["keep"]


# --- .ics import --------------------------------------------------------------------------

IMPORT_WINDOW = timedelta(weeks=53)  # api/rides.py reads now - 30 days .. now + 53 weeks
SERIES_UID = "7kq3l0lr1v2g9n7bq0s6p9f1ac@google.com"


def last_sunday(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def dst_sunday(today: date) -> date:
    """The next late-March DST change whose series (3 weeks either side) fits the import window.

    Only in the three weeks after a March change does next year's fall outside the window;
    then the late-October change (also a change of UTC offset at 08:00 wall time) is used.
    """
    latest = today + IMPORT_WINDOW - timedelta(days=22)
    for year in (today.year, today.year + 1):
        sunday = last_sunday(year, 3)
        if today < sunday <= latest:
            return sunday
    return next(
        s
        for s in sorted(last_sunday(y, m) for y in (today.year, today.year + 1) for m in (3, 10))
        if today < s <= latest
    )


@dataclass(frozen=True)
class GoogleCalendar:
    """A Google Calendar export of a Berlin calendar: a weekly Saturday long ride at 08:00 from
    three weeks before a DST change to three weeks after, one date excluded (EXDATE), one
    instance moved to Sunday 09:00 (RECURRENCE-ID), a Wednesday interval session, and a run.

    style "utc" writes times in UTC as Google's feeds do, "floating" writes local times with no
    zone; both rely on X-WR-TIMEZONE:Europe/Berlin, since the athlete lives in London.
    """

    style: str
    dst: date
    moved_hour: int = 9

    @property
    def saturdays(self) -> list[date]:
        last_before = self.dst - timedelta(days=1)
        return [last_before + timedelta(weeks=n) for n in range(-3, 4)]

    @property
    def excluded(self) -> date:
        return self.saturdays[1]

    @property
    def edited(self) -> date:
        return self.saturdays[5]

    @property
    def moved_to(self) -> datetime:
        return datetime.combine(
            self.edited + timedelta(days=1), datetime.min.time(), BERLIN
        ).replace(hour=self.moved_hour)

    def stamp(self, moment: datetime) -> str:
        if self.style == "utc":
            return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return moment.astimezone(BERLIN).strftime("%Y%m%dT%H%M%S")

    def berlin(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, datetime.min.time(), BERLIN).replace(hour=hour, minute=minute)

    def text(self) -> str:
        first = self.berlin(self.saturdays[0], 8)
        wednesday = self.berlin(self.dst + timedelta(days=3), 18)
        run = self.berlin(self.dst + timedelta(days=4), 7)
        lines = [
            "BEGIN:VCALENDAR",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Training",
            "X-WR-TIMEZONE:Europe/Berlin",
            "BEGIN:VEVENT",
            f"DTSTART:{self.stamp(first)}",
            f"DTEND:{self.stamp(first + timedelta(hours=4))}",
            "RRULE:FREQ=WEEKLY;COUNT=7;BYDAY=SA",
            f"EXDATE:{self.stamp(self.berlin(self.excluded, 8))}",
            "DTSTAMP:20261101T120000Z",
            f"UID:{SERIES_UID}",
            "CREATED:20261101T120000Z",
            "LAST-MODIFIED:20261101T120000Z",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "SUMMARY:Saturday long ride",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"DTSTART:{self.stamp(self.moved_to)}",
            f"DTEND:{self.stamp(self.moved_to + timedelta(hours=4))}",
            "DTSTAMP:20261101T120000Z",
            f"UID:{SERIES_UID}",
            f"RECURRENCE-ID:{self.stamp(self.berlin(self.edited, 8))}",
            "SEQUENCE:1",
            "STATUS:CONFIRMED",
            "SUMMARY:Long ride (moved to Sunday)",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"DTSTART:{self.stamp(wednesday)}",
            f"DTEND:{self.stamp(wednesday + timedelta(minutes=75))}",
            "DTSTAMP:20261101T120000Z",
            "UID:0a1b2c3d4e5f@google.com",
            "SUMMARY:Threshold intervals",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"DTSTART:{self.stamp(run)}",
            f"DTEND:{self.stamp(run + timedelta(minutes=45))}",
            "DTSTAMP:20261101T120000Z",
            "UID:9f8e7d6c5b4a@google.com",
            "SUMMARY:Easy run",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
        return "\r\n".join(lines) + "\r\n"


async def import_ics(client, key: str, athlete_id: str, text: str) -> dict[str, Any]:
    answer = await client.post(
        f"{rides_url(athlete_id)}/import",
        content=text.encode(),
        headers={**auth(key), "Content-Type": "text/calendar; charset=utf-8"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(params=["utc", "floating"])
def google(request) -> GoogleCalendar:
    return GoogleCalendar(request.param, dst_sunday(datetime.now(BERLIN).date()))


@pytest.fixture
async def londoner(client, coach_key) -> dict[str, Any]:
    """An athlete in London: the import must read the Berlin calendar by its X-WR-TIMEZONE."""
    return await create_athlete(client, coach_key, name="Tom", timezone="Europe/London")


async def test_google_export_weekly_long_ride_is_at_0800_berlin_on_both_sides_of_dst(
    client, coach_key, londoner, google
):
    counts = await import_ics(client, coach_key, londoner["id"], google.text())
    assert counts["created"] == 7, counts
    stored = await list_rides(client, coach_key, londoner["id"])
    series = [r for r in stored if r["title"] == "Saturday long ride"]
    local = [datetime.fromisoformat(r["start"]).astimezone(BERLIN) for r in series]
    expected_days = [d for d in google.saturdays if d not in (google.excluded, google.edited)]
    assert [t.date() for t in local] == expected_days
    assert {(t.hour, t.minute) for t in local} == {(8, 0)}
    # the series really crosses the change: two different UTC offsets, same wall time
    assert len({t.utcoffset() for t in local}) == 2
    assert {r["kind"] for r in series} == {"long"} and {r["duration_min"] for r in series} == {240}
    # answered in the athlete's own zone (London), 07:00 there
    assert {datetime.fromisoformat(r["start"]).strftime("%H:%M") for r in series} == {"07:00"}


async def test_google_export_exdate_is_missing_and_the_edited_instance_moved_to_sunday(
    client, coach_key, londoner, google
):
    await import_ics(client, coach_key, londoner["id"], google.text())
    stored = await list_rides(client, coach_key, londoner["id"])
    local_days = {datetime.fromisoformat(r["start"]).astimezone(BERLIN).date() for r in stored}
    assert google.excluded not in local_days
    assert google.edited not in local_days
    moved = [r for r in stored if r["title"] == "Long ride (moved to Sunday)"]
    assert len(moved) == 1
    assert datetime.fromisoformat(moved[0]["start"]) == google.moved_to
    assert moved[0]["external_id"].startswith(SERIES_UID + "#")
    intervals = [r for r in stored if r["title"] == "Threshold intervals"]
    assert [r["kind"] for r in intervals] == ["intervals"]
    assert datetime.fromisoformat(intervals[0]["start"]) == google.berlin(
        google.dst + timedelta(days=3), 18
    )
    assert not [r for r in stored if r["title"] == "Easy run"]


async def test_google_export_skips_the_run_and_says_why(client, coach_key, londoner, google):
    counts = await import_ics(client, coach_key, londoner["id"], google.text())
    assert counts["skipped"] == 1
    assert [(s["title"], s["reason"]) for s in counts["skipped_events"]] == [
        ("Easy run", "not a ride: looks like a run")
    ]


async def test_importing_the_same_calendar_twice_reports_nothing_created_or_updated(
    client, coach_key, londoner, google
):
    first = await import_ics(client, coach_key, londoner["id"], google.text())
    before = await list_rides(client, coach_key, londoner["id"])
    second = await import_ics(client, coach_key, londoner["id"], google.text())
    assert (first["created"], first["updated"], first["unchanged"]) == (7, 0, 0)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 7)
    assert await list_rides(client, coach_key, londoner["id"]) == before


async def test_moving_the_edited_instance_again_updates_that_ride_in_place(
    client, coach_key, londoner, google
):
    await import_ics(client, coach_key, londoner["id"], google.text())
    before = {r["external_id"]: r for r in await list_rides(client, coach_key, londoner["id"])}
    later = GoogleCalendar(google.style, google.dst, moved_hour=11)
    counts = await import_ics(client, coach_key, londoner["id"], later.text())
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 6)
    after = {r["external_id"]: r for r in await list_rides(client, coach_key, londoner["id"])}
    assert after.keys() == before.keys()
    changed = [key for key in after if after[key] != before[key]]
    assert len(changed) == 1
    moved = after[changed[0]]
    assert moved["id"] == before[changed[0]]["id"]
    assert datetime.fromisoformat(moved["start"]) == later.moved_to


# --- re-imports that meet stored rides ----------------------------------------------------


def calendar_of(*events: tuple[str, datetime, int, str]) -> str:
    """An .ics of single events, each (UID, start, minutes, SUMMARY)."""
    stamp = "%Y%m%dT%H%M%SZ"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//rides//EN"]
    for uid, start, minutes, title in events:
        end = start + timedelta(minutes=minutes)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTART:{start.astimezone(UTC).strftime(stamp)}",
            f"DTEND:{end.astimezone(UTC).strftime(stamp)}",
            f"SUMMARY:{title}",
            "END:VEVENT",
        ]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


async def post_ics(client, key: str, athlete_id: str, text: str) -> Any:
    return await client.post(
        f"{rides_url(athlete_id)}/import",
        content=text.encode(),
        headers={**auth(key), "Content-Type": "text/calendar"},
    )


async def test_reimporting_a_ride_under_another_uid_at_the_same_time_updates_it_not_adds_one(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    start = at(next_monday(), 18)
    first = await import_ics(
        client, coach_key, athlete["id"], calendar_of(("a", start, 60, "Club"))
    )
    assert first["created"] == 1
    [before] = await list_rides(client, coach_key, athlete["id"])
    again = calendar_of(("b", start, 60, "Club ride"))
    second = await import_ics(client, coach_key, athlete["id"], again)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 0)
    [after] = await list_rides(client, coach_key, athlete["id"])
    assert after["id"] == before["id"]
    assert (after["external_id"], after["title"], after["start"]) == (
        "b",
        "Club ride",
        before["start"],
    )


async def test_an_import_overlapping_a_stored_ride_gets_409_listing_it_and_stores_nothing(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    await import_ics(
        client, coach_key, athlete["id"], calendar_of(("a", at(monday, 18), 60, "Club"))
    )
    before = await list_rides(client, coach_key, athlete["id"])
    clash = calendar_of(
        ("b", at(monday, 18, 30), 90, "Turbo intervals"),
        ("c", at(monday + timedelta(days=2), 9), 60, "Spin"),  # clashes with nothing: not stored
    )
    answer = await post_ics(client, coach_key, athlete["id"], clash)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["status_code"] == 409
    assert "overlaps" in body["detail"] and "'b'" in body["detail"] and "Club" in body["detail"]
    assert [
        (c["uid"], c["ride_id"], c["title"], datetime.fromisoformat(c["start"]))
        for c in body["extra"]
    ] == [("b", before[0]["id"], "Club", at(monday, 18))]
    assert await list_rides(client, coach_key, athlete["id"]) == before


async def test_of_two_events_of_one_calendar_at_one_time_the_race_is_kept(client, coach_key):
    """Two events of one upload overlapping: the first by start (and UID) was kept, so a race
    written over the day's long ride was the one left out. The event that weighs more for the
    plan stays (a race before a training ride, then a long ride), and the skip says why."""
    athlete = await create_athlete(client, coach_key)
    sunday = next_monday() + timedelta(days=6)
    answer = await import_ics(
        client,
        coach_key,
        athlete["id"],
        calendar_of(
            ("a-long", at(sunday, 8), 240, "Long ride"),
            ("b-race", at(sunday, 8), 300, "A race: Gran Fondo"),
            ("c-spin", at(sunday, 12), 60, "Recovery spin"),  # inside the race: left out
            ("d-club", at(sunday, 17), 60, "Club ride"),
            ("e-club", at(sunday, 17, 30), 60, "Club ride"),  # the same weight, later: left out
        ),
    )
    assert (answer["created"], answer["skipped"]) == (2, 3), answer
    reasons = {e["uid"]: e["reason"] for e in answer["skipped_events"]}
    assert "'A race: Gran Fondo'" in reasons["a-long"], reasons
    assert "a race before a training ride" in reasons["a-long"], reasons
    assert f"'A race: Gran Fondo' at {at(sunday, 8).isoformat()}" in reasons["c-spin"], reasons
    # a ride that weighs no more than the one it meets is left out as before
    assert "an earlier event of this calendar" in reasons["e-club"], reasons
    # two races of one priority: the longer stays, and says so (not "higher priority")
    from api.rides import _kept_over
    from planner.domain import Ride

    zone = ZoneInfo("Europe/Berlin")
    long_b = Ride(start=at(sunday, 8), duration_min=300, kind="race", priority="B")
    short_b = Ride(start=at(sunday, 9), duration_min=120, kind="race", priority="B")
    assert _kept_over(long_b, short_b, zone).endswith("(the longer race)")
    kept, club = await list_rides(client, coach_key, athlete["id"])
    assert (kept["external_id"], kept["kind"], kept["priority"]) == ("b-race", "race", "A")
    assert club["external_id"] == "d-club"


async def test_a_race_over_a_past_long_ride_of_the_calendar_takes_its_stored_ride(
    client, coach_key
):
    """A re-upload whose new A race lies over a long ride of 8 days ago: the race wins, but
    the long ride's stored row, past and so kept, refused the upload with a 409 (a review's
    finding). The race takes that row over."""
    athlete = await create_athlete(client, coach_key)
    sunday = next_monday() - timedelta(days=8)
    await import_ics(
        client, coach_key, athlete["id"], calendar_of(("a-long", at(sunday, 8), 240, "Long ride"))
    )
    [before] = await list_rides(client, coach_key, athlete["id"])
    answer = await import_ics(
        client,
        coach_key,
        athlete["id"],
        calendar_of(
            ("a-long", at(sunday, 8), 240, "Long ride"),
            ("b-race", at(sunday, 9), 300, "A race: Gran Fondo"),
        ),
    )
    assert (answer["created"], answer["updated"], answer["removed"]) == (0, 1, 0), answer
    [after] = await list_rides(client, coach_key, athlete["id"])
    assert (after["id"], after["external_id"], after["priority"]) == (before["id"], "b-race", "A")


async def test_an_import_meeting_a_hand_entered_ride_adopts_the_same_slot_and_refuses_a_clash(
    client, coach_key
):
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    entered = await client.post(
        rides_url(athlete["id"]),
        json=ride(at(monday, 7), 60, title="Early spin"),
        headers=auth(coach_key),
    )
    assert entered.status_code == 201, entered.text
    same = await import_ics(
        client, coach_key, athlete["id"], calendar_of(("x", at(monday, 7), 60, "Spin"))
    )
    assert (same["created"], same["updated"]) == (0, 1)
    [adopted] = await list_rides(client, coach_key, athlete["id"])
    assert (adopted["id"], adopted["external_id"]) == (entered.json()["id"], "x")

    other = await client.post(
        rides_url(athlete["id"]),
        json=ride(at(monday, 12), 60, title="Lunch loop"),
        headers=auth(coach_key),
    )
    before = await list_rides(client, coach_key, athlete["id"])
    answer = await post_ics(
        client, coach_key, athlete["id"], calendar_of(("y", at(monday, 11, 30), 60, "Ride"))
    )
    assert answer.status_code == 409, answer.text
    assert [c["ride_id"] for c in answer.json()["extra"]] == [other.json()["id"]]
    assert await list_rides(client, coach_key, athlete["id"]) == before


async def test_a_race_added_over_a_published_session_warns_on_the_plan_until_it_goes(
    client, coach_key
):
    """Rides changed by hand re-plan nothing: a race added over a published strength session
    left the plan at its version with no warning (a new user's trial). The plan now says the
    sessions ahead break a hard rule and asks for a re-plan; the warning goes with the race."""
    import support
    from conftest import auth as headers_of

    made = await support.planned(client, coach_key, 2)
    base, headers = made["base"], headers_of(coach_key)
    first = await client.get(f"{base}/plan", headers=headers)
    session = next(s for s in first.json()["sessions"] if s["kind"] == "strength")
    start = datetime.fromisoformat(session["start"]) - timedelta(minutes=30)
    race = await client.post(
        f"{base}/rides",
        json={"start": start.isoformat(), "duration_min": 120, "kind": "race", "priority": "C"},
        headers=headers,
    )
    assert race.status_code == 201, race.text
    stale = await client.get(
        f"{base}/plan", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert stale.status_code == 200, "the plan's body changed: its ETag must too"
    assert stale.json()["version"] == first.json()["version"] + 1
    [warning] = [w for w in stale.json()["warnings"] if w.startswith("the rides or the")]
    assert "break the hard rules" in warning and "POST .../plan" in warning
    # in words a coach reads on the dashboard too: a count with its plural, and where to re-plan
    assert "time(s)" not in warning and "the dashboard's Re-plan" in warning, warning
    # the session's time and the rules it breaks: the race overlaps it (H2), on its day (H5)
    when = datetime.fromisoformat(session["start"]).astimezone(
        ZoneInfo(made["athlete"]["timezone"])
    )
    assert f"{when:%a %d %b %H:%M}: " in warning, warning
    assert "(H2)" in warning and "(H5)" in warning, warning
    gone = await client.delete(f"{base}/rides/{race.json()['id']}", headers=headers)
    assert gone.status_code == 204
    again = (await client.get(f"{base}/plan", headers=headers)).json()
    assert not [w for w in again["warnings"] if w.startswith("the rides or the")]
    # a ride that breaks nothing leaves the plan as it was
    quiet = await client.post(
        f"{base}/rides",
        json={
            "start": (start + timedelta(days=40)).isoformat(),
            "duration_min": 60,
            "kind": "endurance",
        },
        headers=headers,
    )
    assert quiet.status_code == 201, quiet.text
    assert (await client.get(f"{base}/plan", headers=headers)).json()["version"] == again["version"]


async def test_availability_taken_away_under_published_sessions_warns_on_the_plan(
    client, coach_key
):
    import support
    from conftest import auth as headers_of

    made = await support.planned(client, coach_key, 2)
    base, headers = made["base"], headers_of(coach_key)
    before = (await client.get(f"{base}/plan", headers=headers)).json()
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    patched = await client.patch(
        base, json={"availability": {day: [] for day in days}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    after = (await client.get(f"{base}/plan", headers=headers)).json()
    assert after["version"] == before["version"] + 1
    [warning] = [w for w in after["warnings"] if w.startswith("the rides or the")]
    assert "(H1)" in warning, warning


def _season_ics(saturdays: list[date], excluded: date | None, race: date | None) -> str:
    """A Saturday long-ride series, maybe with one Saturday excluded and a race on it."""
    stamp = "%Y%m%dT%H%M%SZ"

    def utc(day: date, hour: int) -> str:
        return (
            datetime.combine(day, datetime.min.time(), BERLIN)
            .replace(hour=hour)
            .astimezone(UTC)
            .strftime(stamp)
        )

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//coach//season//EN",
        "BEGIN:VEVENT",
        "UID:long-series@coach",
        "DTSTAMP:20261101T120000Z",
        f"DTSTART:{utc(saturdays[0], 8)}",
        f"DTEND:{utc(saturdays[0], 12)}",
        f"RRULE:FREQ=WEEKLY;COUNT={len(saturdays)};BYDAY=SA",
        "SUMMARY:Long ride with the club",
    ]
    if excluded is not None:
        lines.append(f"EXDATE:{utc(excluded, 8)}")
    lines.append("END:VEVENT")
    if race is not None:
        lines += [
            "BEGIN:VEVENT",
            "UID:a-race@coach",
            "DTSTAMP:20261101T120000Z",
            f"DTSTART:{utc(race, 9)}",
            f"DTEND:{utc(race, 14)}",
            "SUMMARY:Gran fondo (A race)",
            "END:VEVENT",
        ]
    return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"


async def test_a_re_export_whose_series_now_leaves_a_date_out_removes_that_ride(client, coach_key):
    """A race moved onto a Saturday that the long-ride series now excludes (EXDATE) was refused
    with a 409 against the stored long ride of that Saturday (a new user's trial): the series,
    read again, no longer holds it, so it goes, and the race comes in."""
    athlete = await create_athlete(client, coach_key)
    first = next_monday() + timedelta(days=5)
    saturdays = [first + timedelta(weeks=i) for i in range(4)]
    await import_ics(client, coach_key, athlete["id"], _season_ics(saturdays, None, None))
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    assert len(stored) == 4
    moved = saturdays[2]
    answer = await import_ics(
        client, coach_key, athlete["id"], _season_ics(saturdays, moved, moved)
    )
    assert (answer["created"], answer["removed"]) == (1, 1), answer
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    on_the_day = [r for r in stored if datetime.fromisoformat(r["start"]).date() == moved]
    assert [r["title"] for r in on_the_day] == ["Gran fondo (A race)"]
    assert len(stored) == 4


async def test_an_a_race_added_after_the_plan_warns_that_the_phases_moved(client, coach_key):
    """An A race moved (or added) after the plan was made left its old phases in place with no
    word beyond any hard-rule breach (a new user's trial). The warning names the weeks whose
    phase changed, and goes when the race does."""
    import support
    from conftest import auth as headers_of

    made = await support.planned(client, coach_key, 4)
    base, headers = made["base"], headers_of(coach_key)
    first = (await client.get(f"{base}/plan", headers=headers)).json()
    assert {w["phase"] for w in first["weeks_report"]} == {"base"}
    race_day = date.fromisoformat(first["start"]) + timedelta(weeks=3, days=6)
    race = await client.post(
        f"{base}/rides",
        json={
            "start": at(race_day, 9).isoformat(),
            "duration_min": 240,
            "kind": "race",
            "priority": "A",
        },
        headers=headers,
    )
    assert race.status_code == 201, race.text
    plan = (await client.get(f"{base}/plan", headers=headers)).json()
    [warning] = [w for w in plan["warnings"] if "phases changed" in w]
    assert "week 4 (from " in warning and "base, now race" in warning, warning
    assert "POST .../plan" in warning
    gone = await client.delete(f"{base}/rides/{race.json()['id']}", headers=headers)
    assert gone.status_code == 204
    plan = (await client.get(f"{base}/plan", headers=headers)).json()
    assert not [w for w in plan["warnings"] if "phases changed" in w]
    # the coach setting the athlete's phase moves them too
    patched = await client.patch(base, json={"phase": "in_season"}, headers=headers)
    assert patched.status_code == 200, patched.text
    plan = (await client.get(f"{base}/plan", headers=headers)).json()
    [warning] = [w for w in plan["warnings"] if "phases changed" in w]
    assert "base, now in_season" in warning, warning


async def test_a_file_with_one_edited_occurrence_removes_none_of_the_series(client, coach_key):
    """An invitation update holds only the edited occurrence (its RECURRENCE-ID), not the
    series' master: it says nothing of the other dates, which stay (a review found such an
    upload deleted them)."""
    athlete = await create_athlete(client, coach_key)
    first = next_monday() + timedelta(days=5)
    saturdays = [first + timedelta(weeks=i) for i in range(4)]
    await import_ics(client, coach_key, athlete["id"], _season_ics(saturdays, None, None))
    edited = saturdays[1]

    def utc(hour: int) -> str:
        moment = datetime.combine(edited, datetime.min.time(), BERLIN).replace(hour=hour)
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    update = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//coach//season//EN",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:long-series@coach",
            "DTSTAMP:20261101T120000Z",
            f"RECURRENCE-ID:{utc(8)}",
            f"DTSTART:{utc(9)}",
            f"DTEND:{utc(13)}",
            "SUMMARY:Long ride with the club (an hour later)",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    answer = await import_ics(client, coach_key, athlete["id"], update + "\r\n")
    assert answer["removed"] == 0, answer
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    assert len(stored) == 4
    assert sorted(datetime.fromisoformat(r["start"]).date() for r in stored) == saturdays


@pytest.mark.parametrize(
    "broken",
    [
        lambda text: text.replace("DTEND", "X-NO-DTEND"),  # no duration
        lambda text: text.replace("DTEND:", "DURATION:PT0S\r\nX-OLD-DTEND:"),
    ],
)
async def test_a_series_re_exported_unreadable_keeps_its_stored_rides(client, coach_key, broken):
    """The same series re-exported without its DTEND (or with no duration) removed all its
    stored rides (a hostile-input trial): an event the calendar still holds but that cannot be
    read says nothing of its rides. They stay, and its skipped entry says so."""
    athlete = await create_athlete(client, coach_key)
    first = next_monday() + timedelta(days=5)
    saturdays = [first + timedelta(weeks=i) for i in range(4)]
    text = _season_ics(saturdays, None, None)
    await import_ics(client, coach_key, athlete["id"], text)
    answer = await import_ics(client, coach_key, athlete["id"], broken(text))
    assert answer["removed"] == 0, answer
    [entry] = answer["skipped_events"]
    assert entry["uid"] == "long-series@coach"
    assert entry["reason"].endswith("the rides stored for it are kept"), entry
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    assert len(stored) == 4


async def test_a_series_re_exported_as_cancelled_still_removes_its_rides(client, coach_key):
    """What a skip says the event now is (cancelled) still takes its rides ahead away."""
    athlete = await create_athlete(client, coach_key)
    first = next_monday() + timedelta(days=5)
    saturdays = [first + timedelta(weeks=i) for i in range(4)]
    text = _season_ics(saturdays, None, None)
    await import_ics(client, coach_key, athlete["id"], text)
    cancelled = text.replace("SUMMARY:Long ride", "STATUS:CANCELLED\r\nSUMMARY:Long ride")
    answer = await import_ics(client, coach_key, athlete["id"], cancelled)
    assert answer["removed"] == 4, answer


async def test_two_events_sharing_a_uid_name_the_one_left_out(client, coach_key):
    """An A race whose UID repeated a training ride's was dropped without a word (a hostile-input
    trial): calendars read two such events as one. The one not imported is named."""
    athlete = await create_athlete(client, coach_key)
    monday = next_monday()
    stamp = "%Y%m%dT%H%M%SZ"

    def event(day: date, hours: int, summary: str) -> list[str]:
        begins = datetime.combine(day, datetime.min.time(), UTC).replace(hour=7)
        return [
            "BEGIN:VEVENT",
            "UID:dup@coach",
            "DTSTAMP:20261101T120000Z",
            f"DTSTART:{begins.strftime(stamp)}",
            f"DTEND:{(begins + timedelta(hours=hours)).strftime(stamp)}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//coach//x//EN"]
    lines += event(monday + timedelta(days=1), 1, "Tuesday intervals")
    lines += event(monday + timedelta(days=6), 4, "Gran fondo (A race)")
    lines += event(monday + timedelta(days=1), 1, "Tuesday intervals")  # a copy: no word
    text = "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"
    answer = await import_ics(client, coach_key, athlete["id"], text)
    assert answer["created"] == 1, answer
    [entry] = answer["skipped_events"]
    assert entry["title"] == "Gran fondo (A race)"
    assert "same UID (Tuesday intervals)" in entry["reason"]


async def test_an_all_day_stage_race_comes_in_day_by_day_and_a_shorter_re_export_drops_a_day(
    client, coach_key
):
    """A race given as whole days was skipped as a day off (a trial of intervals.icu and
    TrainingPeaks exports): its days come in as races kept clear 07:00-19:00, the answer says
    so, the same file again changes nothing, and a day the race no longer holds goes."""
    athlete = await create_athlete(client, coach_key)
    first = next_monday() + timedelta(days=7)

    def stage_race(days: int, *more: str) -> str:
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//intervals.icu//x//EN",
            "BEGIN:VEVENT",
            "UID:stage@intervals.icu",
            f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
            f"DTEND;VALUE=DATE:{first + timedelta(days=days):%Y%m%d}",
            *more,
            "SUMMARY:RACE A: Tour of the Hills",
            "END:VEVENT",
        ]
        return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"

    answer = await import_ics(client, coach_key, athlete["id"], stage_race(3))
    assert (answer["created"], answer["skipped"]) == (3, 0), answer
    [note] = answer["notes"]
    assert note["uid"] == "stage@intervals.icu" and "from 07:00 to 19:00" in note["note"], note
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    zone = ZoneInfo(athlete["timezone"])
    assert [
        (datetime.fromisoformat(r["start"]).astimezone(zone).replace(tzinfo=None), r["priority"])
        for r in stored
    ] == [
        (datetime.combine(first + timedelta(days=i), datetime.min.time()).replace(hour=7), "A")
        for i in range(3)
    ]
    again = await import_ics(client, coach_key, athlete["id"], stage_race(3))
    assert (again["created"], again["unchanged"], again["removed"]) == (0, 3, 0), again
    shorter = await import_ics(client, coach_key, athlete["id"], stage_race(2))
    assert (shorter["unchanged"], shorter["removed"]) == (2, 1), shorter
    # made a one-day race, and then cancelled: its other day goes, then the race (a review saw
    # both keep the stored race days)
    one = await import_ics(client, coach_key, athlete["id"], stage_race(1))
    assert one["removed"] == 2 and one["created"] == 1, one
    cancelled = await import_ics(
        client, coach_key, athlete["id"], stage_race(1, "STATUS:CANCELLED")
    )
    assert cancelled["removed"] == 1, cancelled
    assert (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json() == []


async def test_a_single_event_re_exported_as_cancelled_or_no_ride_removes_its_ride_ahead(
    client, coach_key
):
    """A race cancelled in the calendar (same UID, STATUS:CANCELLED) kept its stored ride, and
    the plan went on tapering for it (a trial): a single event the file now says is no ride
    takes its ride ahead away, as a series' occurrence does."""
    athlete = await create_athlete(client, coach_key)
    day = next_monday() + timedelta(days=12)

    def one(summary: str, *extra: str) -> str:
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//coach//x//EN",
            "BEGIN:VEVENT",
            "UID:race@coach",
            f"DTSTART:{day:%Y%m%d}T080000Z",
            f"DTEND:{day:%Y%m%d}T120000Z",
            *extra,
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
        return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"

    await import_ics(client, coach_key, athlete["id"], one("A race: Paris-Roubaix Challenge"))
    answer = await import_ics(
        client,
        coach_key,
        athlete["id"],
        one("A race: Paris-Roubaix Challenge", "STATUS:CANCELLED", "SEQUENCE:1"),
    )
    assert answer["removed"] == 1, answer
    assert (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json() == []
    await import_ics(client, coach_key, athlete["id"], one("Long ride"))
    answer = await import_ics(client, coach_key, athlete["id"], one("Long run"))
    assert answer["removed"] == 1, answer


async def test_an_upload_in_the_charset_its_content_type_names_is_read(client, coach_key):
    """A Latin-1 export sent as text/calendar; charset=iso-8859-1 was refused as not UTF-8 (a
    trial); a charset nobody knows is a 400 naming it."""
    athlete = await create_athlete(client, coach_key)
    day = next_monday() + timedelta(days=2)
    text = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//coach//x//EN",
            "BEGIN:VEVENT",
            "UID:koeln@coach",
            f"DTSTART:{day:%Y%m%d}T160000Z",
            f"DTEND:{day:%Y%m%d}T173000Z",
            "SUMMARY:Köln loop ride",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    url = f"{rides_url(athlete['id'])}/import"
    answer = await client.post(
        url,
        content=text.encode("latin-1"),
        headers={**auth(coach_key), "Content-Type": "text/calendar; charset=ISO-8859-1"},
    )
    assert answer.status_code == 200, answer.text
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    assert [r["title"] for r in stored] == ["Köln loop ride"]
    unknown = await client.post(
        url,
        content=text.encode("latin-1"),
        headers={**auth(coach_key), "Content-Type": "text/calendar; charset=klingon"},
    )
    assert unknown.status_code == 400 and "unknown charset 'klingon'" in unknown.json()["detail"]
    # a codec that decodes nothing is a 400, not a 500; UTF-8 labelled Latin-1 stays UTF-8 (a
    # review saw "KÃ¶ln")
    undefined = await client.post(
        url,
        content=text.encode("latin-1"),
        headers={**auth(coach_key), "Content-Type": "text/calendar; charset=undefined"},
    )
    assert undefined.status_code == 400, undefined.text
    relabelled = text.replace("Köln loop ride", "Köln evening ride").encode("utf-8")
    answer = await client.post(
        url,
        content=relabelled,
        headers={**auth(coach_key), "Content-Type": "text/calendar; charset=ISO-8859-1"},
    )
    assert answer.status_code == 200, answer.text
    stored = (await client.get(rides_url(athlete["id"]), headers=auth(coach_key))).json()
    assert [r["title"] for r in stored] == ["Köln evening ride"]
