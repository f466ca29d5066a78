"""Plans and their calendar feed: the plan JSON, plan.ics, and the subscribable /feeds/{token}.ics.

The athlete already lifts (Romanian deadlift and Nordic curl rungs), so plans hold heavy
sessions and a first Nordic exposure, and the hard rules around long rides have work to do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from conftest import auth
from support import (
    BERLIN,
    at,
    create_athlete,
    feed_path,
    next_monday,
    next_offset_change,
    ride,
    weekly_rides,
)

from planner.domain import Athlete, ProgressionState, Ride, Session
from planner.problem import Problem
from planner.solve import hard_violations

WEEKS = 12
ATHLETE_FIELDS = (
    "name",
    "timezone",
    "availability",
    "equipment",
    "settings",
    "phase",
    "starting_levels",
)
SESSION_FIELDS = tuple(Session.model_fields)


@pytest.fixture
async def planned(client, coach_key) -> dict[str, Any]:
    athlete = await create_athlete(
        client, coach_key, name="Lea Lifter", starting_levels={"hinge": 9, "knee_flexion": 4}
    )
    base = f"/api/v1/athletes/{athlete['id']}"
    monday = next_monday()
    rides = await client.put(
        f"{base}/rides", json=weekly_rides(monday, WEEKS), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    request = {"weeks": WEEKS, "start": monday.isoformat()}
    answer = await client.post(f"{base}/plan", json=request, headers=auth(coach_key))
    assert answer.status_code == 201, answer.text
    return {
        "id": athlete["id"],
        "base": base,
        "feed": feed_path(athlete["feed_url"]),
        "request": request,
        "created": answer,
        "monday": monday,
    }


def events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def categories(event: icalendar.Event) -> list[str]:
    value = event.get("CATEGORIES")
    items = value if isinstance(value, list) else [value]
    return [str(c) for item in items for c in item.cats]


def as_seen(event: icalendar.Event) -> tuple[Any, ...]:
    """What a calendar client shows for an event."""
    return (
        event.decoded("DTSTART"),
        event.decoded("DTEND"),
        str(event["SUMMARY"]),
        str(event["DESCRIPTION"]),
        tuple(categories(event)),
    )


def sequences(body: bytes) -> dict[str, int]:
    return {uid: int(e["SEQUENCE"]) for uid, e in events(body).items()}


async def get_feed(client, planned) -> Any:
    answer = await client.get(planned["feed"])
    assert answer.status_code == 200, answer.text
    return answer


async def replan(client, coach_key, planned) -> Any:
    answer = await client.post(
        f"{planned['base']}/plan", json=planned["request"], headers=auth(coach_key)
    )
    assert answer.status_code == 201, answer.text
    return answer


# --- the plan ---------------------------------------------------------------------------


async def test_post_plan_for_12_weeks_answers_201_with_sessions_and_a_report_for_each_week(planned):
    answer = planned["created"]
    plan = answer.json()
    assert answer.headers["etag"]
    assert (plan["start"], plan["weeks"]) == (planned["monday"].isoformat(), WEEKS)
    assert plan["solver"]["status"] in ("OPTIMAL", "FEASIBLE")
    assert [w["index"] for w in plan["weeks_report"]] == list(range(1, WEEKS + 1))
    for week in plan["weeks_report"]:
        assert week["phase"] == "base"
        assert {t["rule"] for t in week["targets"]} >= {"T1", "T2"}
        for target in week["targets"]:
            assert target["met"] or target["reason"], target
    kinds = {s["kind"] for s in plan["sessions"]}
    assert kinds == {"strength", "mobility"}
    for session in plan["sessions"]:
        assert session["id"] and session["uid"].endswith("@planner")
        assert datetime.fromisoformat(session["start"]) < datetime.fromisoformat(session["end"])
        assert session["prescriptions"], session
        assert all(p["cue"] for p in session["prescriptions"])
    end = planned["monday"] + timedelta(weeks=WEEKS)
    days = {
        datetime.fromisoformat(s["start"]).astimezone(ZoneInfo(BERLIN)).date()
        for s in plan["sessions"]
    }
    assert planned["monday"] <= min(days) and max(days) < end


async def test_post_plan_without_a_body_plans_12_weeks_from_today(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    answer = await client.post(f"/api/v1/athletes/{athlete['id']}/plan", headers=auth(coach_key))
    assert answer.status_code == 201, answer.text
    today = datetime.now(ZoneInfo(BERLIN)).date()
    assert answer.json()["start"] in (today.isoformat(), (today - timedelta(days=1)).isoformat())
    assert answer.json()["weeks"] == 12


async def test_get_plan_answers_the_plan_the_post_stored(client, coach_key, planned):
    answer = await client.get(f"{planned['base']}/plan", headers=auth(coach_key))
    assert answer.status_code == 200
    assert answer.json() == planned["created"].json()
    assert answer.headers["etag"] == planned["created"].headers["etag"]


async def test_plan_ics_with_the_bearer_key_is_the_same_calendar_as_the_feed(
    client, coach_key, planned
):
    ics = await client.get(f"{planned['base']}/plan.ics", headers=auth(coach_key))
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.content == (await get_feed(client, planned)).content


# --- the feed -----------------------------------------------------------------------------


async def test_feed_is_a_published_calendar_with_refresh_hints_and_the_athlete_vtimezone(
    client, planned
):
    answer = await get_feed(client, planned)
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["etag"].startswith('"') and answer.headers["last-modified"]
    text = answer.text
    lines = text.split("\r\n")
    assert "METHOD:PUBLISH" in lines
    assert any(line.startswith("X-WR-CALNAME:Lea Lifter") for line in lines)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    calendar = icalendar.Calendar.from_ical(answer.content)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [BERLIN]
    # the VTIMEZONE itself (not the client's own tz database) gives each time its real offset
    vtimezone = calendar.walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)
    zone = ZoneInfo(BERLIN)
    found = calendar.walk("VEVENT")
    assert found
    for event in found:
        for name in ("DTSTART", "DTEND"):
            assert event[name].params["TZID"] == BERLIN
            wall = event[name].dt.replace(tzinfo=None)
            assert vtimezone.utcoffset(wall) == wall.replace(tzinfo=zone).utcoffset(), wall


async def test_feed_holds_one_event_per_planned_session_with_its_uid_times_and_categories(
    client, coach_key, planned
):
    plan = planned["created"].json()
    found = events((await get_feed(client, planned)).content)
    assert found.keys() == {s["uid"] for s in plan["sessions"]}
    for session in plan["sessions"]:
        event = found[session["uid"]]
        assert event.decoded("DTSTART") == datetime.fromisoformat(session["start"])
        assert event.decoded("DTEND") == datetime.fromisoformat(session["end"])
        expected = [session["kind"]] + (["heavy"] if session["heavy"] else [])
        assert categories(event) == expected
        assert int(event["SEQUENCE"]) == session["sequence"]
        for prescription in session["prescriptions"]:
            assert prescription["name"] in str(event["DESCRIPTION"])


async def test_feed_fetched_twice_with_nothing_changed_is_byte_identical_with_the_same_etag(
    client, planned
):
    first = await get_feed(client, planned)
    second = await get_feed(client, planned)
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["last-modified"] == second.headers["last-modified"]


async def test_feed_with_if_none_match_of_its_etag_answers_304_and_a_stale_one_200(client, planned):
    first = await get_feed(client, planned)
    etag = first.headers["etag"]
    cached = await client.get(planned["feed"], headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    listed = await client.get(planned["feed"], headers={"If-None-Match": f'"stale", {etag}'})
    assert listed.status_code == 304
    stale = await client.get(planned["feed"], headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content


async def test_replan_with_identical_input_keeps_every_uid_with_the_same_sequence_and_dtstamp(
    client, coach_key, planned
):
    before = events((await get_feed(client, planned)).content)
    again = await replan(client, coach_key, planned)
    after = events((await get_feed(client, planned)).content)
    assert after.keys() == before.keys()
    for uid, event in after.items():
        assert int(event["SEQUENCE"]) == int(before[uid]["SEQUENCE"]), uid
        assert event.decoded("DTSTAMP") == before[uid].decoded("DTSTAMP"), uid
        assert as_seen(event) == as_seen(before[uid]), uid
    assert again.json()["version"] == planned["created"].json()["version"] + 1


def first_in_week(sessions: list[dict[str, Any]], kind: str, monday: date) -> dict[str, Any]:
    """The first session of a kind in the week starting on a Monday."""
    zone = ZoneInfo(BERLIN)
    return next(
        s
        for s in sessions
        if s["kind"] == kind
        and monday
        <= datetime.fromisoformat(s["start"]).astimezone(zone).date()
        < monday + timedelta(weeks=1)
    )


def compare(
    before: dict[str, icalendar.Event], after: dict[str, icalendar.Event], replanned: datetime
) -> list[str]:
    """The surviving UIDs whose event changed; asserts SEQUENCE and DTSTAMP follow the change:
    unchanged events keep both, changed ones get a higher SEQUENCE and the re-plan's time."""
    changed = []
    for uid in after.keys() & before.keys():
        old, new = before[uid], after[uid]
        if as_seen(new) == as_seen(old):
            assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]), uid
            assert new.decoded("DTSTAMP") == old.decoded("DTSTAMP"), uid
        else:
            changed.append(uid)
            assert int(new["SEQUENCE"]) > int(old["SEQUENCE"]), uid
            assert new.decoded("DTSTAMP") >= max(replanned, old.decoded("DTSTAMP")), uid
    return changed


async def test_adding_a_long_ride_moves_sessions_in_its_way_and_keeps_the_other_uids(
    client, coach_key, planned
):
    before = events((await get_feed(client, planned)).content)
    plan = planned["created"].json()
    zone = ZoneInfo(BERLIN)
    week3 = planned["monday"] + timedelta(weeks=2)
    # a long ride on the day of a strength session in week 3: H5 moves that session away
    strength = first_in_week(plan["sessions"], "strength", week3)
    day = datetime.fromisoformat(strength["start"]).astimezone(zone).date()
    added = await client.post(
        f"{planned['base']}/rides",
        json=ride(at(day, 9), 240, "long", title="Extra long ride"),
        headers=auth(coach_key),
    )
    assert added.status_code == 201, added.text
    replanned = datetime.now(UTC).replace(microsecond=0)  # DTSTAMP has whole seconds
    await replan(client, coach_key, planned)
    after = events((await get_feed(client, planned)).content)

    moved = after.get(strength["uid"])
    assert moved is None or moved.decoded("DTSTART").date() != day
    assert not [
        e
        for e in after.values()
        if "strength" in categories(e) and e.decoded("DTSTART").date() == day
    ]
    compare(before, after, replanned)
    # S4: most of the calendar survives, and sessions from week 6 on are untouched
    assert len(after.keys() & before.keys()) >= len(before) * 3 // 4
    far = planned["monday"] + timedelta(weeks=5)
    for uid, event in before.items():
        if event.decoded("DTSTART").date() >= far:
            assert uid in after and as_seen(after[uid]) == as_seen(event), uid


async def test_a_prescription_change_keeps_every_uid_and_raises_sequence_of_changed_sessions(
    client, coach_key, planned
):
    """The squat moves up a rung (bodyweight to goblet squat): the times stay, the content changes."""
    before = events((await get_feed(client, planned)).content)
    patched = await client.patch(
        planned["base"],
        json={"starting_levels": {"hinge": 9, "knee_flexion": 4, "squat": 2}},
        headers=auth(coach_key),
    )
    assert patched.status_code == 200, patched.text
    replanned = datetime.now(UTC).replace(microsecond=0)  # DTSTAMP has whole seconds
    await replan(client, coach_key, planned)
    after = events((await get_feed(client, planned)).content)
    assert after.keys() == before.keys()
    changed = compare(before, after, replanned)
    assert changed
    for uid in changed:
        assert "strength" in categories(after[uid])
        assert "Goblet squat" in str(after[uid]["DESCRIPTION"])
        assert int(after[uid]["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
    for uid, event in after.items():
        if "mobility" in categories(event):
            assert uid not in changed


async def test_rotating_the_feed_token_makes_the_old_url_404_and_the_new_one_200(
    client, coach_key, planned
):
    old = await get_feed(client, planned)
    rotated = await client.post(f"{planned['base']}/feed-token", headers=auth(coach_key))
    assert rotated.status_code == 201, rotated.text
    new_path = feed_path(rotated.json()["feed_url"])
    assert new_path != planned["feed"]
    gone = await client.get(planned["feed"])
    assert gone.status_code == 404
    assert gone.json()["status_code"] == 404 and "no such feed" in gone.json()["detail"]
    fresh = await client.get(new_path)
    assert fresh.status_code == 200
    # the same events; only the check-in links change, since they are keyed to the feed token
    # and rotation invalidates every earlier one
    old_events = icalendar.Calendar.from_ical(old.content).walk("VEVENT")
    new_events = icalendar.Calendar.from_ical(fresh.content).walk("VEVENT")
    assert len(new_events) == len(old_events) > 0
    for was, now in zip(old_events, new_events, strict=True):
        assert str(was["URL"]) != str(now["URL"])
        assert str(was["DESCRIPTION"]).replace(str(was["URL"]), "") == str(
            now["DESCRIPTION"]
        ).replace(str(now["URL"]), "")
        assert {k: v for k, v in was.items() if k != "URL" and k != "DESCRIPTION"} == {
            k: v for k, v in now.items() if k != "URL" and k != "DESCRIPTION"
        }


async def test_feed_before_any_plan_answers_404_saying_to_plan_first(client, coach_key):
    athlete = await create_athlete(client, coach_key)
    answer = await client.get(feed_path(athlete["feed_url"]))
    assert answer.status_code == 404
    assert "no plan yet" in answer.json()["detail"]


# --- hard rules, checked without the solver ---------------------------------------------


async def problem_from_api(client, key: str, planned) -> Problem:
    base = planned["base"]
    athlete_out = (await client.get(base, headers=auth(key))).json()
    athlete = Athlete.model_validate({k: athlete_out[k] for k in ATHLETE_FIELDS})
    rides = [
        Ride.model_validate(
            {
                k: r[k]
                for k in ("id", "start", "duration_min", "kind", "priority", "title", "external_id")
            }
        )
        for r in (await client.get(f"{base}/rides", headers=auth(key))).json()
    ]
    plan = (await client.get(f"{base}/plan", headers=auth(key))).json()
    return Problem(
        athlete=athlete,
        rides=rides,
        start=date.fromisoformat(plan["start"]),
        weeks=plan["weeks"],
        state=ProgressionState.starting(athlete),
    )


def sessions_from_feed(body: bytes) -> list[Session]:
    """Times and heaviness as a calendar client sees them; the feed holds no prescriptions."""
    found = []
    for uid, event in events(body).items():
        tags = categories(event)
        kind = next(t for t in tags if t in ("strength", "mobility"))
        found.append(
            Session(
                uid=uid,
                kind=kind,
                start=event.decoded("DTSTART"),
                end=event.decoded("DTEND"),
                heavy="heavy" in tags,
            )
        )
    return found


async def test_feed_sessions_break_no_hard_rule_against_the_rides_from_the_api(
    client, coach_key, planned
):
    problem = await problem_from_api(client, coach_key, planned)
    sessions = sessions_from_feed((await get_feed(client, planned)).content)
    assert len(sessions) == len(planned["created"].json()["sessions"])
    assert any(s.heavy for s in sessions)
    assert [v.message for v in hard_violations(problem, sessions)] == []


async def test_plan_json_sessions_with_prescriptions_break_no_hard_rule_h9_h10_included(
    client, coach_key, planned
):
    problem = await problem_from_api(client, coach_key, planned)
    plan = (await client.get(f"{planned['base']}/plan", headers=auth(coach_key))).json()
    sessions = [Session.model_validate({k: s[k] for k in SESSION_FIELDS}) for s in plan["sessions"]]
    # H9 has work to do: the athlete's first Nordic curl is in this plan
    assert any("nordic_curl" in s.exercise_ids() for s in sessions)
    assert [v.message for v in hard_violations(problem, sessions)] == []


async def test_feed_marks_heavy_exactly_the_sessions_whose_json_prescriptions_hold_heavy_work(
    client, coach_key, planned
):
    plan = (await client.get(f"{planned['base']}/plan", headers=auth(coach_key))).json()
    found = events((await get_feed(client, planned)).content)
    for session in plan["sessions"]:
        holds_heavy = any(p["heavy"] for p in session["prescriptions"])
        assert session["heavy"] == holds_heavy, session["uid"]
        assert ("heavy" in categories(found[session["uid"]])) == holds_heavy, session["uid"]
        if session["kind"] == "mobility":
            assert not holds_heavy


async def test_feed_across_a_dst_change_keeps_wall_times_and_breaks_no_hard_rule(client, coach_key):
    """A two-week plan around the next DST change: both UTC offsets appear, each matching the
    VTIMEZONE, sessions stay inside the 06:00-21:00 windows in wall time, and H1-H10 hold."""
    athlete = await create_athlete(client, coach_key, name="Dora DST")
    base = f"/api/v1/athletes/{athlete['id']}"
    change = next_offset_change(datetime.now(ZoneInfo(BERLIN)).date() + timedelta(days=7))
    monday = change - timedelta(days=change.weekday())
    rides = await client.put(f"{base}/rides", json=weekly_rides(monday, 2), headers=auth(coach_key))
    assert rides.status_code == 200, rides.text
    answer = await client.post(
        f"{base}/plan", json={"weeks": 2, "start": monday.isoformat()}, headers=auth(coach_key)
    )
    assert answer.status_code == 201, answer.text
    body = (await client.get(feed_path(athlete["feed_url"]))).content
    calendar = icalendar.Calendar.from_ical(body)
    vtimezone = calendar.walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)
    offsets = set()
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND"):
            moment = event.decoded(name)
            wall = moment.replace(tzinfo=None)
            assert vtimezone.utcoffset(wall) == moment.utcoffset(), wall
            assert (6, 0) <= (wall.hour, wall.minute) <= (21, 0), wall
            offsets.add(moment.utcoffset())
    assert len(offsets) == 2
    planned = {"base": base, "feed": feed_path(athlete["feed_url"])}
    problem = await problem_from_api(client, coach_key, planned)
    assert [v.message for v in hard_violations(problem, sessions_from_feed(body))] == []


async def _one_week_from(client, coach_key, planned, start) -> dict:
    """A one-week re-plan from `start`, as a coach's script posts it."""
    answer = await client.post(
        f"{planned['base']}/plan",
        json={"start": start.isoformat(), "weeks": 1},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_replan_from_a_later_start_keeps_the_sessions_before_it_and_says_so(
    client, coach_key, planned
):
    later = planned["monday"] + timedelta(weeks=2)
    body = await _one_week_from(client, coach_key, planned, later)
    zone = ZoneInfo(BERLIN)
    before = sorted(
        datetime.fromisoformat(s["start"]).astimezone(zone).date()
        for s in body["sessions"]
        if datetime.fromisoformat(s["start"]).astimezone(zone).date() < later
    )
    # the first two weeks were published and have not happened: they stay, and the plan says so
    assert before and before[0] >= planned["monday"]
    notes = [w for w in body["warnings"] if "before this plan's start" in w]
    assert notes == [
        f"{len(before)} session(s) published before this plan's start ({before[0].isoformat()} "
        f"to {before[-1].isoformat()}) stay in the calendar; re-plan from an earlier start to "
        "rearrange them"
    ]
    # the kept sessions are context for the new plan: H7's rest holds across its start
    strength = sorted(
        (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
        for s in body["sessions"]
        if s["kind"] == "strength"
    )
    kept_last = max(end for start, end in strength if start.astimezone(zone).date() < later)
    first_new = min(start for start, _ in strength if start.astimezone(zone).date() >= later)
    assert first_new - kept_last >= timedelta(hours=48), (kept_last, first_new)


async def test_a_replan_far_ahead_says_which_published_sessions_it_removed(
    client, coach_key, planned
):
    later = planned["monday"] + timedelta(weeks=8)
    body = await _one_week_from(client, coach_key, planned, later)
    zone = ZoneInfo(BERLIN)
    days = {datetime.fromisoformat(s["start"]).astimezone(zone).date() for s in body["sessions"]}
    assert min(days) >= later - timedelta(days=30)
    cut = datetime.combine(later - timedelta(days=30), datetime.min.time(), zone)
    before = sorted(
        datetime.fromisoformat(s["start"]).astimezone(zone).date()
        for s in planned["created"].json()["sessions"]
        if datetime.fromisoformat(s["start"]) < cut
    )
    removed = [w for w in body["warnings"] if "were removed" in w]
    # a week from week 9: the 12-week plan's last weeks go too, and say so
    end = later + timedelta(weeks=1)
    after = [
        s
        for s in planned["created"].json()["sessions"]
        if datetime.fromisoformat(s["start"]).astimezone(zone).date() >= end
    ]
    old_last = planned["monday"] + timedelta(weeks=WEEKS, days=-1)
    assert removed == [
        f"{len(before)} published session(s) from {before[0].isoformat()} to "
        f"{before[-1].isoformat()} were removed: they lie more than 30 days before this "
        "plan's start",
        f"{len(after)} published session(s) after this plan's last day "
        f"({(end - timedelta(days=1)).isoformat()}) were removed: the plan it replaces ran to "
        f"{old_last.isoformat()}; give `weeks` (and `start`) to keep that stretch planned",
    ], body["warnings"]
    kept = [w for w in body["warnings"] if "stay in the calendar" in w]
    assert len(kept) == 1


async def test_every_weekly_report_entry_names_a_session_of_the_plan(client, coach_key):
    """`weeks_report[].broken[].session_id` is the calendar UID of a session the plan holds
    (GET .../sessions/{uid} finds it), on a first plan and on the re-plan that follows."""
    # evenings only, before the rides: heavy work lands before intervals (S1), strength right
    # after rides (S5), mobility not after them (T2): terms with a session behind them
    evenings = [{"start": "17:00", "end": "21:00"}]
    created = await create_athlete(
        client,
        coach_key,
        availability={d: evenings for d in ("monday", "wednesday", "friday", "saturday")},
        starting_levels={"hinge": 9, "knee_flexion": 4},
    )
    base, headers = f"/api/v1/athletes/{created['id']}", auth(coach_key)
    monday = next_monday()
    put = await client.put(f"{base}/rides", json=weekly_rides(monday, 4), headers=headers)
    assert put.status_code == 200, put.text
    for attempt in range(2):  # a first plan, then a re-plan over what it published
        made = await client.post(
            f"{base}/plan", json={"start": monday.isoformat(), "weeks": 4}, headers=headers
        )
        assert made.status_code == 201, made.text
        plan = made.json()
        uids = {s["uid"] for s in plan["sessions"]}
        named = [
            b["session_id"] for w in plan["weeks_report"] for b in w["broken"] if b["session_id"]
        ]
        assert named, "the plan pays terms with a session behind them"
        assert set(named) <= uids, (attempt, sorted(set(named) - uids))
        one = await client.get(f"{base}/sessions/{named[0]}", headers=headers)
        assert one.status_code == 200, one.text


async def test_a_replan_that_moves_the_weeks_or_cuts_the_end_says_so(client, coach_key, planned):
    """`POST .../plan {}` plans from today for 12 weeks: on a Tuesday its weeks run Tuesday to
    Monday and a longer plan's last weeks go. A new user's trial saw both happen with empty
    warnings; the plan now says what went and how to keep it."""
    made = planned
    tuesday = made["monday"] + timedelta(days=1)
    answer = await client.post(
        f"{made['base']}/plan",
        json={"start": tuesday.isoformat(), "weeks": 4},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    warnings = answer.json()["warnings"]
    last_day = tuesday + timedelta(weeks=4, days=-1)
    old_last = made["monday"] + timedelta(weeks=WEEKS, days=-1)
    cut = next(w for w in warnings if "were removed" in w)
    assert f"after this plan's last day ({last_day.isoformat()})" in cut
    assert f"ran to {old_last.isoformat()}" in cut
    assert any("weeks run Tuesday to Monday" in w for w in warnings), warnings
    same = await client.post(
        f"{made['base']}/plan",
        json={"start": tuesday.isoformat(), "weeks": 4},
        headers=auth(coach_key),
    )
    assert not any("were removed" in w or "weeks run" in w for w in same.json()["warnings"])


async def test_a_plan_after_an_old_one_ended_says_nothing_of_its_weeks(client, coach_key, planned):
    """The weekday warning is for a plan replacing weeks still planned: after a one-week plan
    has run out, a plan from a Tuesday keeps no weeks of it (a review saw the roster job,
    which cannot give a start, told to give one)."""
    headers = auth(coach_key)
    monday = planned["monday"]
    short = {"start": monday.isoformat(), "weeks": 1}
    assert (
        await client.post(f"{planned['base']}/plan", json=short, headers=headers)
    ).status_code == 201
    later = {"start": (monday + timedelta(days=15)).isoformat(), "weeks": 2}
    answer = await client.post(f"{planned['base']}/plan", json=later, headers=headers)
    assert answer.status_code == 201, answer.text
    assert not any("weeks run" in w for w in answer.json()["warnings"]), answer.json()["warnings"]


async def _rider_from(client, coach_key, name: str, day: date, weeks: int, **overrides: Any) -> str:
    """A new athlete with the amateur's weekly rides from the Monday of `day`: their API base."""
    athlete = await create_athlete(client, coach_key, name=name, **overrides)
    base = f"/api/v1/athletes/{athlete['id']}"
    monday = day - timedelta(days=day.weekday())
    rides = await client.put(
        f"{base}/rides", json=weekly_rides(monday, weeks), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    return base


async def _block_under_way(client, coach_key, **overrides: Any) -> dict[str, Any]:
    """A new athlete whose block began three weeks ago: rides from then, a plan from then."""
    began = next_monday() - timedelta(weeks=3)
    base = await _rider_from(client, coach_key, "Mid Block", began, 8, **overrides)
    answer = await client.post(
        f"{base}/plan",
        json={"start": began.isoformat(), "weeks": 8},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    return {"base": base, "began": began, "plan": answer.json()}


def _past(body: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [s for s in body["sessions"] if datetime.fromisoformat(s["start"]) < now]


async def test_a_first_plan_started_in_the_past_plans_its_past_weeks_for_logging(client, coach_key):
    """api.md: `start` may lie in the past, "to log a block already under way": the weeks gone
    by hold the sessions they would have held, each one open to feedback, and the plan says
    what the coach is to do with them."""
    block = await _block_under_way(client, coach_key)
    now = datetime.now(UTC)
    past = _past(block["plan"], now)
    zone = ZoneInfo(BERLIN)
    days = {datetime.fromisoformat(s["start"]).astimezone(zone).date() for s in past}
    # the three whole weeks gone by each hold strength work, as T1 asks of any week
    for week in range(3):
        monday = block["began"] + timedelta(weeks=week)
        assert any(
            s["kind"] == "strength"
            and monday
            <= datetime.fromisoformat(s["start"]).astimezone(zone).date()
            < monday + timedelta(days=7)
            for s in past
        ), (week, sorted(days))
    # the past sessions keep the hard rules, as any plan does: no heavy work the day before
    # the Saturday long ride
    for s in past:
        if s["heavy"]:
            assert datetime.fromisoformat(s["start"]).astimezone(zone).weekday() != 4, s["start"]
    first, last = (
        datetime.fromisoformat(s["start"]).astimezone(zone).date().isoformat()
        for s in (past[0], past[-1])
    )
    told = [w for w in block["plan"]["warnings"] if "lie in the past" in w]
    assert told == [
        f"{len(past)} session(s) from {first} to {last} lie in the past: planned as they would "
        f"have been on {block['began'].isoformat()}, for the block already under way: log each "
        "as done or not done (its page on the dashboard, or POST .../sessions/{session_id}/"
        "feedback) so that progression starts from what happened"
    ]
    # and a past session takes its feedback
    strength = next(s for s in past if s["kind"] == "strength")
    logged = await client.post(
        f"{block['base']}/sessions/{strength['id']}/feedback",
        json={"completed": True, "rpe": 6},
        headers=auth(coach_key),
    )
    assert logged.status_code == 201, logged.text


async def test_a_replan_keeping_a_past_start_adds_nothing_to_the_days_gone_by(client, coach_key):
    """Days a plan already held are not planned again: a day whose sessions were never
    published did not have them. The second plan keeps the first one's past sessions as they
    were, and adds none."""
    block = await _block_under_way(client, coach_key)
    now = datetime.now(UTC)
    before = {s["id"]: s["start"] for s in _past(block["plan"], now)}
    again = await client.post(
        f"{block['base']}/plan",
        json={"start": block["began"].isoformat(), "weeks": 8},
        headers=auth(coach_key),
    )
    assert again.status_code == 201, again.text
    after = {s["id"]: s["start"] for s in _past(again.json(), datetime.now(UTC))}
    assert after == before
    assert not [w for w in again.json()["warnings"] if "lie in the past" in w]


async def test_moving_a_future_plans_start_back_plans_the_days_gone_by(client, coach_key, planned):
    """The current plan starts next Monday: the days before today were in no plan, so a
    start two weeks back plans them, as for a first plan."""
    back = planned["monday"] - timedelta(weeks=2)
    answer = await client.post(
        f"{planned['base']}/plan",
        json={"start": back.isoformat(), "weeks": WEEKS},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    past = _past(answer.json(), datetime.now(UTC))
    assert past
    assert [w for w in answer.json()["warnings"] if "lie in the past" in w]


async def test_moving_a_plan_that_began_today_back_plans_no_past_days(client, coach_key):
    """A plan made from today held today's hours before it was made: moved back, the past
    stays empty (what the solver would put there now was never in the athlete's calendar)."""
    today = datetime.now(ZoneInfo(BERLIN)).date()
    back = today - timedelta(weeks=2)
    base = await _rider_from(client, coach_key, "Late Starter", back, 6)
    first = await client.post(f"{base}/plan", json={"weeks": 4}, headers=auth(coach_key))
    assert first.status_code == 201, first.text
    moved = await client.post(
        f"{base}/plan", json={"start": back.isoformat(), "weeks": 6}, headers=auth(coach_key)
    )
    assert moved.status_code == 201, moved.text
    assert _past(moved.json(), datetime.now(UTC)) == []
    assert not [w for w in moved.json()["warnings"] if "lie in the past" in w]


async def test_a_block_under_way_logged_in_part_drops_no_level_for_missed_training(
    client, coach_key
):
    """A coach logged the block's first session, then re-planned: every level dropped for 'no
    strength logged since' that day (a new user's trial), though the sessions after it were
    only waiting to be logged. Sessions planned after they began count as training until the
    coach logs them, at a re-plan and at a later report alike."""
    block = await _block_under_way(client, coach_key, starting_levels={"hinge": 5, "squat": 3})
    now = datetime.now(UTC)
    strength = [s for s in _past(block["plan"], now) if s["kind"] == "strength"]
    assert len(strength) >= 4, strength
    first = await client.post(
        f"{block['base']}/sessions/{strength[0]['id']}/feedback",
        json={"completed": True, "rpe": 6},
        headers=auth(coach_key),
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        f"{block['base']}/plan",
        json={"start": block["began"].isoformat(), "weeks": 8},
        headers=auth(coach_key),
    )
    assert again.status_code == 201, again.text
    assert not [w for w in again.json()["warnings"] if "stepped down" in w], again.json()
    # the last past session logged next, three weeks after the first: no drop either
    last = await client.post(
        f"{block['base']}/sessions/{strength[-1]['id']}/feedback",
        json={"completed": True, "rpe": 6},
        headers=auth(coach_key),
    )
    assert last.status_code == 201, last.text
    changes = last.json()["progression_changes"]
    assert not [c for c in changes if "no strength logged" in c["reason"]], changes
    progression = await client.get(f"{block['base']}/progression", headers=auth(coach_key))
    levels = {p["pattern"]: p["level"] for p in progression.json()["patterns"]}
    assert levels["hinge"] >= 5 and levels["squat"] >= 3, levels


async def test_a_replan_from_another_start_says_the_deload_weeks_moved(client, coach_key, planned):
    """Deload weeks count from the plan's start (T3): a re-plan from a week later moved them
    without a word, a deload week turning full volume (a new user's trial, `{}` mid-deload)."""
    first = planned["created"].json()
    was = [w["start"] for w in first["weeks_report"] if w["deload"]]
    assert was, "the plan holds a deload week"
    later = planned["monday"] + timedelta(weeks=1)
    answer = await client.post(
        f"{planned['base']}/plan",
        json={"start": later.isoformat(), "weeks": WEEKS},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    now = [w["start"] for w in answer.json()["weeks_report"] if w["deload"]]
    assert now != was
    until = (planned["monday"] + timedelta(weeks=WEEKS)).isoformat()
    moved = [w for w in answer.json()["warnings"] if w.startswith("the deload weeks moved")]
    assert moved == [
        "the deload weeks moved with the new start: the plan it replaces had them from "
        f"{', '.join(was)}, this one from {', '.join(d for d in now if d < until)} (weeks count "
        f"from the start); re-plan from {planned['monday'].isoformat()} to keep them"
    ], answer.json()["warnings"]
    # back to the first start: the deloads are where they were; a re-plan keeping that start
    # moves none and says nothing
    for _ in range(2):
        back = await client.post(
            f"{planned['base']}/plan",
            json={"start": planned["monday"].isoformat(), "weeks": WEEKS},
            headers=auth(coach_key),
        )
        assert back.status_code == 201, back.text
        assert [w["start"] for w in back.json()["weeks_report"] if w["deload"]] == was
    assert not [w for w in back.json()["warnings"] if w.startswith("the deload weeks moved")]


async def test_a_block_under_way_after_a_short_break_drops_no_level(client, coach_key, monkeypatch):
    """A returning athlete: the last strength logged three days before the new block began, three
    weeks ago. Missed training was judged on today, before the block's past sessions existed:
    every level dropped, and the block was planned a rung lower (a review). A block already
    under way is judged on its first day."""
    from api import clock

    today = datetime.now(ZoneInfo(BERLIN)).date()
    block = today - timedelta(days=21)
    earlier = block - timedelta(days=14)
    base = await _rider_from(
        client, coach_key, "Back Again", earlier, 10, starting_levels={"hinge": 5, "squat": 3}
    )

    def move(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment.astimezone(UTC))

    # an earlier two-week plan, made while it ran, its last strength session logged
    move(datetime.combine(block - timedelta(days=2), datetime.min.time(), ZoneInfo(BERLIN)))
    first = await client.post(
        f"{base}/plan", json={"start": earlier.isoformat(), "weeks": 2}, headers=auth(coach_key)
    )
    assert first.status_code == 201, first.text
    done = [
        s
        for s in first.json()["sessions"]
        if s["kind"] == "strength"
        and datetime.fromisoformat(s["end"]).astimezone(ZoneInfo(BERLIN)).date()
        < block - timedelta(days=2)
    ][-1]
    move(datetime.fromisoformat(done["end"]) + timedelta(minutes=5))
    logged = await client.post(
        f"{base}/sessions/{done['id']}/feedback",
        json={"completed": True, "rpe": 6},
        headers=auth(coach_key),
    )
    assert logged.status_code == 201, logged.text
    monkeypatch.undo()
    made = await client.post(
        f"{base}/plan", json={"start": block.isoformat(), "weeks": 6}, headers=auth(coach_key)
    )
    assert made.status_code == 201, made.text
    assert not [w for w in made.json()["warnings"] if "stepped down" in w], made.json()
    assert [w for w in made.json()["warnings"] if "lie in the past" in w], "it is a backfill"
    progression = await client.get(f"{base}/progression", headers=auth(coach_key))
    levels = {p["pattern"]: p["level"] for p in progression.json()["patterns"]}
    assert (levels["hinge"], levels["squat"]) == (5, 3), levels


async def test_days_with_a_report_are_never_planned_again_though_their_sessions_are_gone(
    client, coach_key
):
    """A re-plan far ahead drops published history older than 30 days before its start; a
    re-plan back from the block's start then found no session there and planned the days
    again, a report already logged on them (a review). A report on or after the start means a
    plan held those days: nothing is added to the past."""
    block = await _block_under_way(client, coach_key)
    now = datetime.now(UTC)
    strength = next(s for s in _past(block["plan"], now) if s["kind"] == "strength")
    logged = await client.post(
        f"{block['base']}/sessions/{strength['id']}/feedback",
        json={"completed": True, "rpe": 6},
        headers=auth(coach_key),
    )
    assert logged.status_code == 201, logged.text
    far = datetime.now(ZoneInfo(BERLIN)).date() + timedelta(days=35)
    ahead = await client.post(
        f"{block['base']}/plan",
        json={"start": far.isoformat(), "weeks": 4},
        headers=auth(coach_key),
    )
    assert ahead.status_code == 201, ahead.text
    # the far re-plan drops the block's past but the logged session: its report stays
    # reachable by its session (it answered 404)
    assert [s["id"] for s in _past(ahead.json(), now)] == [strength["id"]]
    read = await client.get(f"{block['base']}/sessions/{strength['id']}", headers=auth(coach_key))
    assert read.status_code == 200 and read.json()["feedback"], read.text
    back = await client.post(
        f"{block['base']}/plan",
        json={"start": block["began"].isoformat(), "weeks": 8},
        headers=auth(coach_key),
    )
    assert back.status_code == 201, back.text
    assert [s["id"] for s in _past(back.json(), datetime.now(UTC))] == [strength["id"]]
    assert not [w for w in back.json()["warnings"] if "lie in the past" in w]
