"""A 20-week season driven through the API with scripted athlete feedback.

One athlete with full equipment, available all day, on the Tue/Thu/Sat calendar of issue 9 (hard
rides on all three days: intervals on Tuesday and Thursday evenings, a long ride on Saturday
morning; in week 13 Tuesday is an easy spin, the one week with room for a first Nordic or
deadlift under H9) gets a 20-week plan. Each simulated week the test takes that week's
strength sessions from the current plan, one at a time, and logs each as done at the top of every prescribed range, green, one hour after it ends. The
feedback carries that simulated time (`at`), and the service's clock (`api.clock.now`) is set
to the moment of each write, so every re-plan pins what already started, as it would live.

The script: weeks 1-13 all green, week 2 logged at RPE 9 (effort too high to step up); the
coach signs off the barbell Romanian deadlift when the hinge waits for it, and the deadlift
with it (the deadlift still waits for its gate); in week 14 one red (hamstring pain 6/10 after
a session); at the start of week 17 a red flag (low back numbness, a pain check-in), cleared
by the coach at the start of week 18; green otherwise.

The season runs once per database and is recorded (every plan version with the athlete,
progression and, around the red flag, the feed that went with it); each test below reads that
record and judges one acceptance point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from conftest import auth
from icalendar import Calendar
from litestar.testing import AsyncTestClient
from support import BERLIN, at, create_athlete, feed_path, next_monday, ride

from api import clock
from planner.domain import (
    REGION_PATTERNS,
    STRENGTH_PATTERNS,
    Athlete,
    Pattern,
    PatternState,
    ProgressionState,
    Region,
    RegionStatus,
    Ride,
    Session,
)
from planner.library import Exercise, load_library
from planner.problem import FIRST_EXPOSURE_EXERCISES, Problem
from planner.solve import hard_violations

LIBRARY = load_library()
ZONE = ZoneInfo(BERLIN)
WEEKS = 20
RED_WEEK = 13  # 0-based: the 14th week
HARD_WEEK = 1  # 0-based: the 2nd week, every session logged at RPE 9
EASY_WEEK = 12  # 0-based: the 13th week, an easy spin on Tuesday (room for a first exposure)
FLAG_WEEK = 16
CLEAR_WEEK = 17
GREEN_PAIN = [{"region": "knee", "score": 1, "timing": "after"}]
RED_PAIN = [{"region": "hamstring", "score": 6, "timing": "after"}]
RED_FLAG = {"region": "low_back", "score": 3, "timing": "next_morning", "flags": ["numbness"]}
LOADED_KG = 20.0  # what the athlete lifts on a loaded rung before the plan names a load
GATE_REASON = re.compile(r"(\d+) green sessions in a row at the Romanian deadlift")
CLINICIAN = "see a clinician"


@dataclass
class Version:
    """The plan after one write, with what the service knew when it made it."""

    event: str  # "plan", "feedback", "pain", "clearance"
    at: datetime  # the simulated moment of the write
    plan: dict[str, Any]
    progression: dict[str, Any]
    athlete: dict[str, Any]
    feed: str | None = None


@dataclass
class Done:
    """One strength session the athlete was handed and logged."""

    session: dict[str, Any]  # as it stood in the plan when the athlete did it
    at: datetime
    pain: list[dict[str, Any]]
    answer: dict[str, Any]
    version: int  # index of the plan version this feedback made
    levels_before: dict[str, int]
    levels_after: dict[str, int]


@dataclass
class Season:
    monday: date
    rides: list[dict[str, Any]]
    versions: list[Version] = field(default_factory=list)
    done: list[Done] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    red: Done | None = None
    flag_version: int = -1
    flag_at: datetime | None = None
    flag_answer: dict[str, Any] = field(default_factory=dict)
    clear_version: int = -1
    clear_answer: dict[str, Any] = field(default_factory=dict)

    def week_start(self, week: int) -> datetime:
        return datetime.combine(self.monday + timedelta(weeks=week), time(0), ZONE)


_SEASONS: dict[str, Season] = {}


async def season(client: AsyncTestClient, key: str, database_url: str) -> Season:
    """The recorded season on this database, simulated on first use.

    The service's clock follows the simulation while it runs (and is put back after), so each
    re-plan keeps the sessions already started and re-solves the rest of the 20 weeks with
    the latest progression state.
    """
    if database_url not in _SEASONS:
        service_now = clock.now
        try:
            _SEASONS[database_url] = await _simulate(client, key)
        finally:
            clock.now = service_now
    return _SEASONS[database_url]


def _set_clock(moment: datetime) -> None:
    """The service's now for the next request: the simulated moment of that write."""
    clock.now = lambda: moment.astimezone(UTC)


def _top(prescription: dict[str, Any]) -> int:
    if prescription["reps"]:
        return int(prescription["reps"].split("-")[-1])
    return int(prescription["hold_s"])


def _load(prescription: dict[str, Any]) -> float | None:
    """The load lifted on a loaded rung (heavy, with a bar or a weight): the prescribed
    kilograms, or 20 kg while the plan names none. The Nordic curl is heavy but bodyweight."""
    equipment = LIBRARY.by_id[prescription["exercise_id"]].equipment
    if not prescription["heavy"] or equipment == ["bodyweight"]:
        return None
    # "60 kg", or "2 ramp-up sets first (...), then 60 kg (2-3 reps left in reserve)"
    named = re.findall(r"([\d.]+) kg\b", prescription["load_hint"])
    return float(named[-1]) if named else LOADED_KG


def _log(session: dict[str, Any]) -> list[dict[str, Any]]:
    """Every prescribed exercise done at the top of its range on every set."""
    return [
        {
            "exercise_id": p["exercise_id"],
            "sets": p["sets"],
            "reps": _top(p),
            "load_kg": _load(p),
        }
        for p in session["prescriptions"]
    ]


def _levels(progression: dict[str, Any]) -> dict[str, int]:
    return {p["pattern"]: p["level"] for p in progression["patterns"]}


def _local_day(moment: datetime | str) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ZONE).date()


def _strength(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in plan["sessions"] if s["kind"] == "strength"]


def _holds(session: dict[str, Any], exercise_id: str) -> bool:
    return any(p["exercise_id"] == exercise_id for p in session["prescriptions"])


def hard_rides(monday: date, weeks: int) -> list[dict[str, Any]]:
    """Three hard rides a week: intervals on Tuesday and Thursday evenings, a long ride on
    Saturday morning (issue 9: on this calendar heavy work once vanished for the season).

    In EASY_WEEK Tuesday is an easy spin instead (a recovery week on the bike, what H9's own
    suggestion asks for): nowhere else does the calendar leave a first Nordic or deadlift its
    72 h before a key ride, and the season's deadlift needs one such week after its gate."""
    rides = []
    for week in range(weeks):
        day = monday + timedelta(weeks=week)
        tuesday = at(day + timedelta(days=1), 18)
        rides += [
            ride(tuesday, 60, "endurance", title="Easy spin")
            if week == EASY_WEEK
            else ride(tuesday, 75, "intervals", title="Turbo intervals"),
            ride(at(day + timedelta(days=3), 18), 75, "intervals", title="Threshold intervals"),
            ride(at(day + timedelta(days=5), 8), 240, "long", title="Saturday long ride"),
        ]
    return rides


async def _simulate(client: AsyncTestClient, key: str) -> Season:
    headers = auth(key)
    monday = next_monday()
    # The hinge starts at level 5 (the ball bridge curl): at one step a week, less a week held
    # by RPE 9 and the deload week, the technique rungs lead to the Romanian deadlift (level 9)
    # in about 6 weeks; then the gate wants 4 green sessions at the Romanian deadlift and 6
    # weeks of logged training, so the deadlift (level 10) comes well before the red in week 14.
    created = await create_athlete(client, key, starting_levels={"hinge": 5})
    base = f"/api/v1/athletes/{created['id']}"
    feed = feed_path(created["feed_url"])
    rides = await client.put(f"{base}/rides", json=hard_rides(monday, WEEKS + 1), headers=headers)
    assert rides.status_code == 200, rides.text
    listed = await client.get(f"{base}/rides", headers=headers)
    assert listed.status_code == 200, listed.text
    record = Season(monday=monday, rides=listed.json())

    async def snapshot(event: str, at: datetime, *, with_feed: bool = False) -> int:
        plan = await client.get(f"{base}/plan", headers=headers)
        progression = await client.get(f"{base}/progression", headers=headers)
        athlete = await client.get(base, headers=headers)
        for answer in (plan, progression, athlete):
            assert answer.status_code == 200, answer.text
        text = None
        if with_feed:
            answer = await client.get(feed)
            assert answer.status_code == 200, answer.text
            text = answer.text
        record.versions.append(
            Version(event, at, plan.json(), progression.json(), athlete.json(), text)
        )
        return len(record.versions) - 1

    _set_clock(record.week_start(0) - timedelta(hours=1))
    made = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": WEEKS}, headers=headers
    )
    assert made.status_code == 201, made.text
    await snapshot("plan", record.week_start(0))

    for week in range(WEEKS):
        week_start, week_end = record.week_start(week), record.week_start(week + 1)
        flagged = FLAG_WEEK <= week < CLEAR_WEEK
        if week == FLAG_WEEK:
            # half past midnight on Monday, sent in UTC (still Sunday there): the day of the
            # report is the athlete's Monday
            record.flag_at = (week_start + timedelta(minutes=30)).astimezone(UTC)
            _set_clock(record.flag_at)
            answer = await client.post(
                f"{base}/pain",
                json={**RED_FLAG, "at": record.flag_at.isoformat()},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            record.flag_answer = answer.json()
            record.flag_version = await snapshot("pain", record.flag_at, with_feed=True)
        if week == CLEAR_WEEK:
            _set_clock(week_start + timedelta(minutes=30))
            answer = await client.post(
                f"{base}/clearance",
                json={"region": "low_back", "note": "seen by a physiotherapist, all clear"},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            record.clear_answer = answer.json()
            record.clear_version = await snapshot(
                "clearance", week_start + timedelta(minutes=30), with_feed=True
            )
        done_until = week_start
        while True:
            # the next session of this week not done yet, from the plan as it now stands
            # (each feedback re-plans, so a later session may have moved)
            upcoming = sorted(
                (
                    s
                    for s in _strength(record.versions[-1].plan)
                    if done_until <= datetime.fromisoformat(s["start"]) < week_end
                ),
                key=lambda s: s["start"],
            )
            if not upcoming:
                break
            session = upcoming[0]
            at = datetime.fromisoformat(session["end"]) + timedelta(hours=1)
            red = week == RED_WEEK and record.red is None
            pain = RED_PAIN if red else GREEN_PAIN
            rpe = 9 if week == HARD_WEEK else 7
            levels_before = _levels(record.versions[-1].progression)
            version_before = record.versions[-1].plan["version"]
            _set_clock(at)
            answer = await client.post(
                f"{base}/sessions/{session['id']}/feedback",
                json={
                    "completed": True,
                    "rpe": rpe,
                    "pain": pain,
                    "exercises": _log(session),
                    "at": at.isoformat(),
                },
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            index = await snapshot("feedback", at, with_feed=flagged)
            assert record.versions[index].plan["version"] == version_before + 1, "no re-plan"
            done = Done(
                session=session,
                at=at,
                pain=pain,
                answer=answer.json(),
                version=index,
                levels_before=levels_before,
                levels_after=_levels(record.versions[index].progression),
            )
            record.done.append(done)
            if red:
                record.red = done
            done_until = datetime.fromisoformat(session["end"])
            if record.versions[-1].progression["awaiting_approval"] == ["romanian_deadlift"]:
                # the coach signs the barbell hinge off the same evening: the Romanian deadlift
                # at once, the deadlift for when its gate opens
                for exercise_id in ("romanian_deadlift", "deadlift"):
                    moment = at + timedelta(minutes=30)
                    _set_clock(moment)
                    answer = await client.post(
                        f"{base}/approvals",
                        json={"exercise_id": exercise_id, "note": "hinge checked in the gym"},
                        headers=headers,
                    )
                    assert answer.status_code == 201, answer.text
                    record.approvals.append(answer.json())
                    await snapshot("approval", moment, with_feed=flagged)
                done_until = max(done_until, at + timedelta(minutes=30))
    return record


# --- 1. all green: one step a week, and the deadlift gate ----------------------------------


async def test_all_green_reports_raise_hinge_at_most_one_step_per_7_days_and_deadlift_only_after_its_gate(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    first_logged = _local_day(record.done[0].at)
    assert record.red is not None
    red_at = record.red.at  # the all-green weeks end here
    green = [d for d in record.done if d.at < red_at]
    assert len(green) >= 2 * RED_WEEK, "about two strength sessions a week were handed out"

    # the hinge level, version after version: never more than one rung at a time, climbing
    # from the glute bridge over the green weeks
    hinge = [v.progression for v in record.versions if v.at < red_at]
    series = [_levels(p)["hinge"] for p in hinge]
    assert all(b - a in (0, 1) for a, b in zip(series, series[1:], strict=False)), series
    assert series[0] == 5 and series[-1] == 10, series

    # at most one step up (a rung or a load) per 7 days, over the whole season
    history = next(
        p["history"] for p in record.versions[-1].progression["patterns"] if p["pattern"] == "hinge"
    )
    steps = [c for c in history if c["rule"] in ("2-for-2", "deadlift_gate", "approval")]
    assert len(steps) >= 5, "the hinge climbed five rungs to the deadlift"
    for change in steps:
        assert change["to_level"] - change["from_level"] in (0, 1), change
    step_days = [_local_day(c["at"]) for c in steps]
    gaps = [(b - a).days for a, b in zip(step_days, step_days[1:], strict=False)]
    assert min(gaps) >= 7, list(zip(step_days, gaps, strict=False))
    for pattern in record.versions[-1].progression["patterns"]:
        days = [
            _local_day(c["at"])
            for c in pattern["history"]
            if c["rule"] in ("2-for-2", "deadlift_gate", "approval")
        ]
        assert all((b - a).days >= 7 for a, b in zip(days, days[1:], strict=False)), pattern

    # every opening of the deadlift gate, checked against what the athlete logged
    gates = [c for c in history if c["rule"] == "deadlift_gate"]
    assert gates, "the deadlift gate opened during the season"
    assert datetime.fromisoformat(gates[0]["at"]) < red_at, "within the all-green weeks"
    for gate in gates:
        gate_at = datetime.fromisoformat(gate["at"])
        gate_day = _local_day(gate_at)
        assert (gate["from_level"], gate["to_level"]) == (9, 10)
        # at least 6 weeks of logged training
        assert (gate_day - first_logged).days >= 42, (first_logged, gate_day)
        # 4 or more green sessions in a row at the Romanian deadlift since the hinge last
        # came to level 9, the gate session among them, and the reason counts them right
        reached_7 = max(
            datetime.fromisoformat(c["at"])
            for c in history
            if c["to_level"] == 9
            and c["from_level"] != 9
            and datetime.fromisoformat(c["at"]) < gate_at
        )
        at_seven = [d for d in record.done if reached_7 < d.at <= gate_at]
        gate_session = next(d for d in at_seven if d.at == gate_at)
        assert _holds(gate_session.session, "romanian_deadlift"), (
            "the step to the deadlift rests on a session at the Romanian deadlift, not on a "
            f"lighter stand-in: {[p['exercise_id'] for p in gate_session.session['prescriptions']]}"
        )
        at_rdl = [d for d in at_seven if _holds(d.session, "romanian_deadlift")]
        assert all(d.pain == GREEN_PAIN for d in at_rdl)
        assert len(at_rdl) >= 4, [d.session["start"] for d in at_rdl]
        counted = GATE_REASON.search(gate["reason"])
        assert counted and int(counted.group(1)) == len(at_rdl), (gate["reason"], len(at_rdl))
        # no red, nor red flag, for low back, hamstring or knee in the 14 days before
        reds = [d.at for d in record.done if d.pain == RED_PAIN]
        reds += [record.flag_at] if record.flag_at else []
        assert not [r for r in reds if 0 <= (gate_day - _local_day(r)).days < 14], gate

    # the deadlift shows in no plan before the gate opened: the first version holding it is
    # the one the gate's feedback made, and the first deadlift session the athlete was
    # handed comes after that
    first_gate = datetime.fromisoformat(gates[0]["at"])
    holding = [
        i
        for i, v in enumerate(record.versions)
        if any(_holds(s, "deadlift") for s in _strength(v.plan))
    ]
    assert holding, "the deadlift reached the plan"
    assert record.versions[holding[0]].at == first_gate
    assert record.versions[holding[0]].event == "feedback"
    handed = [d for d in record.done if _holds(d.session, "deadlift")]
    assert handed, "the athlete did deadlifts before the season ended"
    assert datetime.fromisoformat(handed[0].session["start"]) > first_gate
    assert (_local_day(handed[0].session["start"]) - first_logged).days >= 42


# --- 2. one red report ---------------------------------------------------------------------


def _heavy_on(session: dict[str, Any], region: str) -> list[str]:
    return [
        p["exercise_id"] for p in session["prescriptions"] if p["heavy"] and region in p["regions"]
    ]


async def test_one_red_hamstring_report_regresses_hinge_and_knee_flexion_one_level_and_no_heavy_hamstring_work_for_7_days(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    red = record.red
    assert red is not None, "the red report was sent"
    hamstring_patterns = {p.value for p in REGION_PATTERNS[Region.hamstring]}
    assert hamstring_patterns == {"hinge", "knee_flexion"}

    # every pattern loading the hamstring one level down, with the rule and the report named;
    # the other patterns not regressed
    moved = {
        c["pattern"]: (c["from_level"], c["to_level"])
        for c in red.answer["progression_changes"]
        if c["rule"] == "red"
    }
    assert moved == {
        p: (red.levels_before[p], red.levels_before[p] - 1) for p in hamstring_patterns
    }
    assert all(
        "hamstring pain 6/10" in c["reason"]
        for c in red.answer["progression_changes"]
        if c["rule"] == "red"
    )
    for pattern, level in red.levels_after.items():
        if pattern in hamstring_patterns:
            assert level == red.levels_before[pattern] - 1, pattern
        else:
            assert level >= red.levels_before[pattern], pattern
    assert red.levels_before["hinge"] == 10 and red.levels_before["knee_flexion"] == 4, (
        "the athlete was on heavy rungs (deadlift, Nordic curl) when the pain came"
    )

    # no session of the 7 days from the report holds heavy work on the hamstring, in any plan
    # made after the report, nor in the sessions the athlete was handed (the session that
    # brought the pain already happened: it stays in the plan as it was)
    red_day = _local_day(red.at)
    blocked = {red_day + timedelta(days=i) for i in range(7)}
    assert red.answer["plan_changes"] != ["no change to the planned sessions"]
    for version in record.versions[red.version :]:
        for session in _strength(version.plan):
            if datetime.fromisoformat(session["start"]) < red.at:
                continue
            if _local_day(session["start"]) in blocked:
                assert not _heavy_on(session, "hamstring"), (version.event, version.at, session)
    handed = [d for d in record.done if d.at > red.at and _local_day(d.session["start"]) in blocked]
    assert handed, "the athlete trained in the 7 days after the report"
    assert not [d for d in handed if _heavy_on(d.session, "hamstring")]
    region = record.versions[red.version].progression["regions"]["hamstring"]
    assert region["zone"] == "red"
    assert date.fromisoformat(region["no_heavy_until"]) == red_day + timedelta(days=7)

    # after the 7 days heavy hamstring work returns: already in the plan the red made, and in
    # the sessions the athlete did afterwards
    after = [
        s
        for s in _strength(record.versions[red.version].plan)
        if _local_day(s["start"]) >= red_day + timedelta(days=7)
    ]
    assert any(_heavy_on(s, "hamstring") for s in after)
    later = [
        d for d in record.done if _local_day(d.session["start"]) >= red_day + timedelta(days=7)
    ]
    assert any(_heavy_on(d.session, "hamstring") for d in later)


# --- 3. a red flag -------------------------------------------------------------------------


def _loads(session: dict[str, Any], region: str) -> list[str]:
    return [p["exercise_id"] for p in session["prescriptions"] if region in p["regions"]]


BY_NAME = {e.name: e for e in LIBRARY.exercises}


def _feed_events(
    text: str, since: datetime | None = None
) -> list[tuple[list[str], str, list[str]]]:
    """(categories, description, exercise ids listed) of every event of a feed starting at or
    after `since` (all events without it).

    The parser unfolds the 75-octet lines and unescapes the text; each exercise is a
    "- Name: sets x reps, ..." line of the description.
    """
    events = []
    for event in Calendar.from_ical(text).walk("VEVENT"):
        if since is not None and event.decoded("DTSTART") < since:
            continue
        categories = [str(c) for c in event.get("CATEGORIES").cats]
        description = str(event.get("DESCRIPTION"))
        names = re.findall(r"^- (.+?): ", description, flags=re.MULTILINE)
        events.append((categories, description, [BY_NAME[n].id for n in names]))
    return events


async def test_a_low_back_red_flag_removes_its_loading_from_plan_and_feed_with_clinician_advice_until_clearance(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    low_back = {e.id for e in LIBRARY.exercises if Region.low_back in e.regions}
    flag, clear = record.flag_version, record.clear_version
    assert 0 < flag < clear

    # the answer to the check-in: clearance needed, see a clinician
    assert record.flag_answer["needs_clearance"] == ["low_back"]
    assert "clinician" in record.flag_answer["advice"][0]
    state = record.versions[flag].progression
    assert state["needs_clearance"] is True
    assert state["regions"]["low_back"]["needs_clearance"] is True
    # the day of the report is the athlete's (Monday), though the check-in was sent in UTC
    flag_day = _local_day(record.flag_at)
    assert record.flag_at.date() != flag_day
    assert (
        state["regions"]["low_back"]["no_heavy_until"] == (flag_day + timedelta(days=7)).isoformat()
    )

    # from the flag to the clearance: no strength session from the flag on loads the low back,
    # in the plan JSON or the feed, and every such event of the feed says to see a clinician
    # (sessions done before the flag are history and stay as they were)
    flagged = record.versions[flag:clear]
    assert len(flagged) >= 2, "the athlete trained while the red flag stood"
    for version in flagged:
        assert version.athlete["needs_clearance"] is True
        for session in _strength(version.plan):
            if datetime.fromisoformat(session["start"]) < record.flag_at:
                continue
            assert not _loads(session, "low_back"), (version.event, version.at, session)
        assert version.feed is not None
        events = _feed_events(version.feed, since=record.flag_at)
        assert [e for e in events if "strength" in e[0]], "strength sessions still planned"
        for categories, description, exercises in events:
            assert not set(exercises) & low_back, (categories, exercises)
            assert CLINICIAN in description, description
    handed = [d for d in record.done if flag <= d.version < clear]
    assert handed and not [d for d in handed if _loads(d.session, "low_back")]

    # after the clearance: loading returns to the plan and the feed, the advice goes
    cleared = record.versions[clear]
    assert record.clear_answer["needs_clearance"] == []
    assert cleared.athlete["needs_clearance"] is False
    assert cleared.progression["regions"]["low_back"]["needs_clearance"] is False
    assert any(_loads(s, "low_back") for s in _strength(cleared.plan))
    events = _feed_events(cleared.feed or "", since=cleared.at)
    assert any(set(exercises) & low_back for _, _, exercises in events)
    assert not [d for _, d, _ in events if "clinician" in d]
    after = [d for d in record.done if d.version > clear]
    assert any(_loads(d.session, "low_back") for d in after)


# --- 4. the hard rules, plan after plan ----------------------------------------------------


def _athlete(body: dict[str, Any]) -> Athlete:
    keys = ("name", "timezone", "availability", "equipment", "settings", "phase", "starting_levels")
    return Athlete.model_validate({k: body[k] for k in keys})


def _rides(bodies: list[dict[str, Any]]) -> list[Ride]:
    return [
        Ride.model_validate({**{k: v for k, v in r.items() if k != "end"}, "id": str(r["id"])})
        for r in bodies
    ]


def _state(progression: dict[str, Any]) -> ProgressionState:
    """The stored state as GET .../progression shows it: levels, loads, regions, exposures."""
    return ProgressionState(
        patterns={
            Pattern(p["pattern"]): PatternState(level=p["level"], load_kg=p["load_kg"])
            for p in progression["patterns"]
        },
        regions={
            Region(r): RegionStatus.model_validate(s) for r, s in progression["regions"].items()
        },
        exposures=list(progression["exposures"]),
    )


def _sessions(plan: dict[str, Any]) -> list[Session]:
    return [
        Session.model_validate({k: v for k, v in s.items() if k != "id"}) for s in plan["sessions"]
    ]


def _problem(record: Season, version: Version) -> Problem:
    return Problem(
        athlete=_athlete(version.athlete),
        rides=_rides(record.rides),
        start=date.fromisoformat(version.plan["start"]),
        weeks=version.plan["weeks"],
        state=_state(version.progression),
    )


async def test_no_plan_version_of_the_season_breaks_a_hard_rule(client, coach_key, database_url):
    record = await season(client, coach_key, database_url)
    # a plan version for the first plan and for every write that followed, each a re-plan
    numbers = [v.plan["version"] for v in record.versions]
    assert numbers == list(range(1, len(numbers) + 1))
    # plus the check-in, the clearance and the coach's sign-offs
    assert len(record.versions) == 1 + len(record.done) + 2 + len(record.approvals)
    assert len({v.plan["weeks"] for v in record.versions}) == 1
    assert set(STRENGTH_PATTERNS) == {
        Pattern(p["pattern"]) for p in record.versions[-1].progression["patterns"]
    }

    # sessions that started before a write are history, pinned as they were done (the
    # service's own final check exempts them the same way): a red after a heavy session does
    # not make that session a breach
    broken = {}
    for index, version in enumerate(record.versions):
        violations = [
            v
            for v in hard_violations(_problem(record, version), _sessions(version.plan))
            if not (isinstance(v.when, datetime) and v.when < version.at)
        ]
        if violations:
            broken[(index, version.event, version.at.isoformat())] = [v.message for v in violations]
    assert broken == {}

    # the rules that hang on the progression state were live, so the check above meant it:
    # H9 (a first deadlift and a first Nordic still ahead while the plan held them) ...
    for exercise_id in ("nordic_curl", "deadlift"):
        assert any(
            exercise_id not in v.progression["exposures"]
            and any(_holds(s, exercise_id) for s in _strength(v.plan))
            for v in record.versions
        ), exercise_id
    # ... and H10 (regions in red and with a red flag)
    zones = {
        z for v in record.versions for z in (s["zone"] for s in v.progression["regions"].values())
    }
    assert {"red", "red_flag"} <= zones

    # and it does catch a breach: a heavy session moved onto a long ride's day (H4, H5)
    version = record.versions[-1]
    problem = _problem(record, version)
    sessions = _sessions(version.plan)
    heavy = next(s for s in sessions if s.heavy)
    long_ride = next(r for r in problem.rides if r.kind == "long" and r.start > heavy.start)
    moved = heavy.model_copy(
        update={
            "start": long_ride.end + timedelta(hours=1),
            "end": long_ride.end + timedelta(hours=2),
        }
    )
    caught = hard_violations(problem, [moved if s is heavy else s for s in sessions])
    assert {"H4", "H5"} <= {v.rule for v in caught}


# --- 4b. kilograms, effort and the coach's sign-off ------------------------------------------


async def test_the_barbell_hinge_waits_for_the_coach_then_climbs_in_plate_steps(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    signed = [a for a in record.approvals if a["progression_changes"]]
    assert [
        (c["pattern"], c["from_level"], c["to_level"], c["rule"])
        for a in signed
        for c in a["progression_changes"]
    ] == [("hinge", 8, 9, "approval")], "the Romanian deadlift came with the coach's sign-off"
    # before the sign-off no plan held a barbell Romanian deadlift
    first_rdl = next(
        i
        for i, v in enumerate(record.versions)
        if any(_holds(s, "romanian_deadlift") for s in _strength(v.plan))
    )
    assert record.versions[first_rdl].event == "approval"

    history = next(
        p["history"] for p in record.versions[-1].progression["patterns"] if p["pattern"] == "hinge"
    )
    raised = [
        c
        for c in history
        if c["rule"] == "2-for-2" and c["from_level"] == c["to_level"] and c["from_load_kg"]
    ]
    assert raised, "the barbell loads rose during the season"
    for change in raised:
        assert change["to_load_kg"] - change["from_load_kg"] == 2.5, change
        assert change["to_load_kg"] % 2.5 == 0, change
    # the plan prescribes the raised load: in the plan the raise's feedback made, the next heavy
    # session on the barbell hinge names it in kilograms (a raise late in the season may have
    # none left after it: then there is nothing to prescribe it in)
    named = 0
    for change in raised:
        moment = datetime.fromisoformat(change["at"])
        made = next(v for v in record.versions if v.at == moment)
        upcoming = [
            p["load_hint"]
            for s in sorted(_strength(made.plan), key=lambda s: s["start"])
            if datetime.fromisoformat(s["start"]) > moment
            for p in s["prescriptions"]
            if p["heavy"] and p["exercise_id"] in ("romanian_deadlift", "deadlift")
        ]
        if upcoming:
            assert f"then {change['to_load_kg']:g} kg" in upcoming[0], (change, upcoming[0])
            named += 1
    assert named, "a raised load reached a later heavy session"


async def test_a_week_at_rpe_9_steps_nothing_up_though_every_rep_was_made(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    start, end = record.week_start(HARD_WEEK), record.week_start(HARD_WEEK + 1)
    hard = [d for d in record.done if start <= d.at < end]
    assert hard, "the athlete trained in the RPE 9 week"
    steps = ("2-for-2", "deadlift_gate", "approval")
    assert not [c for d in hard for c in d.answer["progression_changes"] if c["rule"] in steps], (
        "RPE 9 holds"
    )
    # the weeks around it did step up: the hold is the effort's doing
    around = [
        d
        for d in record.done
        if record.week_start(HARD_WEEK - 2) <= d.at < start
        or end <= d.at < record.week_start(HARD_WEEK + 2)
    ]
    assert any(c["rule"] == "2-for-2" for d in around for c in d.answer["progression_changes"])


# --- 4c. heavy work in every week that allows it ----------------------------------------------


def _first_exposure_fits(record: Season, version: Version, day: date) -> bool:
    """Whether H9 leaves room on `day` for a session holding a never-done Nordic or deadlift:
    one strength session's length that starts after the last key ride (24 h after a long one,
    H4) and ends `first_exposure_gap_h` before the next. Generous: windows, H3, H6 and H7 are
    not counted, so the test asks for heavy work wherever it might fit."""
    settings = _athlete(version.athlete).settings
    key = sorted((r for r in _rides(record.rides) if r.is_key(settings)), key=lambda r: r.start)
    begins = datetime.combine(day, time(0), ZONE)
    ends = datetime.combine(day + timedelta(days=1), time(0), ZONE)
    length = timedelta(minutes=settings.strength_session_min)
    for before, after in zip(key, key[1:], strict=False):
        after_long = settings.heavy_after_long_h if before.is_long(settings) else 0
        opens = max(before.end + timedelta(hours=after_long), begins)
        closes = min(after.start - timedelta(hours=settings.first_exposure_gap_h), ends)
        if closes - opens >= length:
            return True
    return False


def _heavy_lifts(record: Season, version: Version, day: date, *, h9: bool = True) -> list[Exercise]:
    """The heavy posterior-chain lifts the athlete's rungs offer on `day` in this version: a
    Nordic or deadlift neither done nor planned before the day only where a first exposure fits
    (H9; not asked without `h9`), else the rung below stands in (the Romanian deadlift for the deadlift; nothing
    heavy for the Nordic)."""
    athlete = _athlete(version.athlete)
    # done before, or first done in a session this plan puts before the day
    done = set(version.progression["exposures"]) | {
        p["exercise_id"]
        for s in _strength(version.plan)
        if _local_day(s["start"]) < day
        for p in s["prescriptions"]
    }
    lifts = []
    for pattern, level in _levels(version.progression).items():
        rung = LIBRARY.rung(Pattern(pattern), level, athlete)
        if (
            h9
            and rung is not None
            and rung.id in FIRST_EXPOSURE_EXERCISES
            and rung.id not in done
            and not _first_exposure_fits(record, version, day)
        ):
            rung = LIBRARY.below(rung, athlete)
        if rung is not None and rung.heavy:
            lifts.append(rung)
    return lifts


def _heavy_open(record: Season, version: Version, day: date, *, h9: bool = True) -> bool:
    """Whether some heavy lift may be done on `day` by this version's state: one whose regions
    are not in their 7-day red block nor flagged, its pattern not stopped by a red flag (H10)."""
    state = _state(version.progression)
    stopped = state.blocked_patterns()
    no_heavy = state.no_heavy_regions(day)
    return any(
        e.pattern not in stopped and not set(e.regions) & no_heavy
        for e in _heavy_lifts(record, version, day, h9=h9)
    )


def _week_allows_heavy(report: dict[str, Any]) -> bool:
    """Not a deload, taper, race or transition week (domain.md Revision 2, T1's heavy part)."""
    return not (report["deload"] or report["taper"] or report["phase"] in ("race", "transition"))


def _week_days(report: dict[str, Any]) -> list[date]:
    start = date.fromisoformat(report["start"])
    return [start + timedelta(days=i) for i in range(7)]


def _heavy_in(plan: dict[str, Any], days: list[date]) -> list[dict[str, Any]]:
    return [s for s in _strength(plan) if s["heavy"] and _local_day(s["start"]) in days]


def _short_of_heavy(version: Version, report: dict[str, Any]) -> dict[str, Any]:
    """What a week without heavy work looked like, for the failure message."""
    days = _week_days(report)
    return {
        "phase": report["phase"],
        "levels": _levels(version.progression),
        "strength": [
            (s["start"], [p["exercise_id"] for p in s["prescriptions"]])
            for s in _strength(version.plan)
            if _local_day(s["start"]) in days
        ],
        "broken": [(b["rule"], b["detail"]) for b in report["broken"]],
    }


async def test_on_the_tue_thu_sat_calendar_every_week_that_allows_heavy_work_holds_a_heavy_session(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    hard = {
        (r["kind"], _local_day(r["start"]).weekday())
        for r in record.rides
        if _local_day(r["start"]) < record.monday + timedelta(weeks=WEEKS)
    }
    assert hard == {("intervals", 1), ("intervals", 3), ("long", 5), ("endurance", 1)}
    easy = [r for r in record.rides if r["kind"] == "endurance"]
    assert [_local_day(r["start"]) for r in easy] == [
        record.monday + timedelta(weeks=EASY_WEEK, days=1)
    ], "hard rides on Tuesday, Thursday and Saturday, but for one easy Tuesday"

    # every version's own future weeks (wholly after its write), judged by what the service
    # knew when it made the plan: its rungs, exposures and regions
    missing: dict[tuple[int, str, str, int], dict[str, Any]] = {}
    silent: dict[tuple[int, int], list[Any]] = {}
    judged = excused = 0  # excused: counted for the message
    for index, version in enumerate(record.versions):
        reports = version.plan["weeks_report"]
        assert len(reports) == WEEKS
        for report in reports:
            days = _week_days(report)
            if datetime.combine(days[0], time(0), ZONE) < version.at:
                continue
            heavy = _heavy_in(version.plan, days)
            assert report["heavy_planned"] == len(heavy), (index, report)
            if not _week_allows_heavy(report):
                continue
            if not any(_heavy_open(record, version, day) for day in days):
                # the ladder's one heavy lift is a first exposure H9 finds no room for: the
                # week holds no heavy work, and its report says so (domain.md Revision 2)
                if not heavy and any(_heavy_open(record, version, day, h9=False) for day in days):
                    excused += 1
                    if not any(
                        b["rule"] == "T1" and "H9" in b["blocked_by"] for b in report["broken"]
                    ):
                        silent[(index, report["index"])] = report["broken"]
                continue
            judged += 1
            if not heavy:
                key = (index, version.event, version.at.isoformat(), report["index"])
                missing[key] = _short_of_heavy(version, report)
    assert judged >= 100, ("plan after plan, weeks ahead on a heavy rung were judged", excused)
    assert silent == {}, "a week without heavy work for want of room for H9 says so"

    # the season as it was trained (the final plan): a week allows heavy work when the plan
    # the athlete began it with had a day open to it, and no write during the week (a red, a
    # red flag) closed every day left (a rung reached mid-week does not open the week)
    final = record.versions[-1]
    allowed = []
    for report in final.plan["weeks_report"]:
        days = _week_days(report)
        if not _week_allows_heavy(report):
            continue
        begins = datetime.combine(days[0], time(0), ZONE)
        ends = begins + timedelta(weeks=1)
        began = [v for v in record.versions if v.at <= begins]
        during = [v for v in record.versions if begins < v.at < ends]
        if not began or not any(_heavy_open(record, began[-1], day) for day in days):
            continue
        if any(
            not any(_heavy_open(record, v, day) for day in days if day >= _local_day(v.at))
            for v in during
        ):
            continue
        allowed.append(report["index"])
        if not _heavy_in(final.plan, days):
            key = (len(record.versions) - 1, "final", final.at.isoformat(), report["index"])
            missing[key] = _short_of_heavy(final, report)
    assert missing == {}, missing
    assert len(allowed) >= 8, f"the season spent weeks on heavy rungs: {allowed}"


# --- 5. the past stays ---------------------------------------------------------------------


async def test_every_replan_keeps_the_sessions_already_started_exactly_as_they_were(
    client, coach_key, database_url
):
    record = await season(client, coach_key, database_url)
    kept = 0
    for before, after in zip(record.versions, record.versions[1:], strict=False):
        now = after.at
        then = {s["uid"]: s for s in before.plan["sessions"]}
        started = {uid for uid, s in then.items() if datetime.fromisoformat(s["start"]) < now}
        later = {s["uid"]: s for s in after.plan["sessions"]}
        assert started <= set(later), (after.event, after.at)
        for uid in started:
            assert later[uid] == then[uid], (after.event, after.at, uid)
        kept += len(started)
        # and the future was re-solved: the write saw the new state (a re-plan, not a copy)
        assert after.plan["version"] == before.plan["version"] + 1
    assert kept > 100, "most writes came with weeks of history behind them"
    # the red's own session (done, then reported) is in every later plan as it was done
    red = record.red
    assert red is not None
    for version in record.versions[red.version :]:
        same = [s for s in version.plan["sessions"] if s["uid"] == red.session["uid"]]
        assert [s["prescriptions"] for s in same] == [red.session["prescriptions"]]
