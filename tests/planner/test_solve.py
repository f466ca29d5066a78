"""Behaviour of plan(): what a coach would check in a finished plan, judged from its sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import MONDAY, athlete, lifter, ride

from planner.calendar_out import describe
from planner.domain import (
    Athlete,
    Equipment,
    Phase,
    Plan,
    ProgressionState,
    Region,
    RegionStatus,
    Ride,
    Session,
    SessionKind,
    Zone,
)
from planner.inputs import load_athlete, load_rides
from planner.library import load_library
from planner.problem import Problem
from planner.solve import hard_violations, plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIBRARY = load_library()


def weekly_rides(start: date, weeks: int, *, skip: set[date] = frozenset()) -> list[Ride]:
    """An amateur's week: intervals Tuesday, club ride Thursday, long Saturday, spin Sunday."""
    rides = []
    for week in range(weeks):
        monday = start + timedelta(days=7 * week)
        for offset, hour, minutes, kind in (
            (1, 18, 75, "intervals"),
            (3, 18, 90, "endurance"),
            (5, 8, 240, "long"),
            (6, 10, 60, "recovery"),
        ):
            day = monday + timedelta(days=offset)
            if day not in skip:
                rides.append(ride(day, hour, minutes, kind))
    return rides


def real_minutes(session: Session) -> float:
    return (session.end.astimezone(UTC) - session.start.astimezone(UTC)).total_seconds() / 60


def week_of(result: Plan, session: Session) -> int:
    """1-based week of a session, from its local day."""
    day = session.start.astimezone(ZoneInfo(result.timezone)).date()
    return (day - result.start).days // 7 + 1


def strength_in_week(result: Plan, week: int) -> list[Session]:
    return [
        s for s in result.sessions if s.kind == SessionKind.strength and week_of(result, s) == week
    ]


def as_problem(who: Athlete, rides: list[Ride], start: date, weeks: int, state=None) -> Problem:
    return Problem(
        athlete=who,
        rides=rides,
        start=start,
        weeks=weeks,
        state=state or ProgressionState.starting(who),
    )


# --- determinism ------------------------------------------------------------------------


def test_the_same_request_twice_gives_identical_sessions():
    who, rides = lifter(), weekly_rides(MONDAY, 8)
    first = plan(who, rides, MONDAY, 8)
    second = plan(who, rides, MONDAY, 8)
    assert first.sessions, "the plan should hold sessions at all"
    assert [s.model_dump() for s in first.sessions] == [s.model_dump() for s in second.sessions]
    assert [r.model_dump() for r in first.week_reports] == [
        r.model_dump() for r in second.week_reports
    ]


# --- heavy work -------------------------------------------------------------------------


def test_a_new_athlete_gets_no_heavy_session_and_no_heavy_exercise_in_12_weeks():
    who = athlete()  # every pattern at level 1, all the kit
    result = plan(who, weekly_rides(MONDAY, 12), MONDAY, 12)
    strength = [s for s in result.sessions if s.kind == SessionKind.strength]
    assert len(strength) >= 12 * 2 - 2, "a new athlete in base still trains about twice a week"
    assert not any(s.heavy for s in result.sessions)
    for session in result.sessions:
        for p in session.prescriptions:
            assert not p.heavy and not LIBRARY.by_id[p.exercise_id].heavy, p.exercise_id
    assert all(report.heavy_planned == 0 for report in result.week_reports)


def test_a_lifter_gets_heavy_sessions_and_none_within_48_hours_before_a_long_ride():
    who = lifter()  # Romanian deadlift and Nordic curl rungs
    rides = weekly_rides(MONDAY, 8)
    result = plan(who, rides, MONDAY, 8)
    heavy = [s for s in result.sessions if s.heavy]
    assert len(heavy) >= 4, "a lifter in base gets heavy work most weeks"
    for session in heavy:
        assert any(LIBRARY.by_id[p.exercise_id].heavy for p in session.prescriptions)
    long_rides = [r for r in rides if r.is_long(who.settings)]
    for session in heavy:
        for long_ride in long_rides:
            if long_ride.start > session.start:
                gap = long_ride.start.astimezone(UTC) - session.end.astimezone(UTC)
                assert gap >= timedelta(hours=48), (session.start, long_ride.start)


# --- phases -----------------------------------------------------------------------------


def test_an_a_race_ten_weeks_out_gives_build_peak_race_and_two_transition_weeks():
    race_day = MONDAY + timedelta(days=7 * 10 + 6)  # Sunday of week 11
    rides = weekly_rides(MONDAY, 14, skip={race_day - timedelta(days=1), race_day})
    rides.append(ride(race_day, 8, 300, "race", priority="A", title="Goal race"))
    result = plan(lifter(), rides, MONDAY, 14)

    phases = [report.phase for report in result.week_reports]
    assert phases == (
        [Phase.build] * 7 + [Phase.peak] * 3 + [Phase.race] + [Phase.transition] * 2 + [Phase.base]
    )
    race_week = strength_in_week(result, 11)
    assert len(race_week) <= 1
    for session in race_week:
        assert not session.heavy
        assert not any(p.heavy for p in session.prescriptions)
    for week in (12, 13):  # transition: light work only
        assert not any(s.heavy for s in strength_in_week(result, week))
    assert any(s.heavy for week in range(1, 8) for s in strength_in_week(result, week))


def test_the_fourth_base_week_is_a_deload_at_about_half_the_sets():
    who = athlete()
    result = plan(who, weekly_rides(MONDAY, 4), MONDAY, 4)
    assert [r.deload for r in result.week_reports] == [False, False, False, True]
    assert all(r.phase == Phase.base for r in result.week_reports)

    usual: dict[str, int] = {}
    for week in (1, 2, 3):
        for session in strength_in_week(result, week):
            for p in session.prescriptions:
                usual[p.exercise_id] = p.sets
    deload = strength_in_week(result, 4)
    assert deload, "the deload week still holds strength"
    for session in deload:
        assert any("Deload" in note for note in session.notes)
        usual_sets = sum(usual[p.exercise_id] for p in session.prescriptions)
        sets = sum(p.sets for p in session.prescriptions)
        assert 0.4 * usual_sets <= sets <= 0.67 * usual_sets, (sets, usual_sets)
        for p in session.prescriptions:
            assert p.sets == max(1, round(usual[p.exercise_id] / 2)), p.exercise_id
    t3 = [t for t in result.week_reports[3].targets if t.rule == "T3"]
    assert t3 and t3[0].met


# --- missed targets ---------------------------------------------------------------------


def test_the_tight_availability_example_misses_t1_blocked_by_h1():
    folder = EXAMPLES / "tight_availability"
    who = load_athlete(folder / "athlete.json")
    start = date(2027, 2, 1)
    rides = load_rides(folder / "rides.json", who, start, 4)
    result = plan(who, rides, start, 4)
    assert hard_violations(as_problem(who, rides, start, 4), result.sessions) == []
    for report in result.week_reports:
        t1 = next(t for t in report.targets if t.rule == "T1")
        assert not t1.met
        assert t1.planned < report.strength_min
        assert "H1" in t1.blocked_by
        assert "H1" in t1.reason


# --- content ----------------------------------------------------------------------------


def test_an_athlete_with_only_bodyweight_never_gets_an_exercise_needing_kit():
    # high rungs, so the ladder would reach for a barbell, dumbbell, ball or box if it could
    who = athlete(
        equipment=["bodyweight"],
        starting_levels={"hinge": 10, "knee_flexion": 3, "squat": 3, "core_anti_extension": 2},
    )
    result = plan(who, weekly_rides(MONDAY, 6), MONDAY, 6)
    kit = {Equipment.dumbbell, Equipment.ball, Equipment.box, Equipment.barbell}
    used = [p.exercise_id for s in result.sessions for p in s.prescriptions]
    assert used
    for exercise_id in used:
        needs = set(LIBRARY.by_id[exercise_id].equipment)
        assert needs <= {Equipment.bodyweight}, (exercise_id, needs)
        assert not needs & kit


@pytest.mark.parametrize("minutes", [None, 10, 20])
def test_a_mobility_session_lasts_10_to_20_minutes_with_holds_of_30_seconds_or_more(minutes):
    settings = {} if minutes is None else {"mobility_session_min": minutes}
    result = plan(athlete(settings=settings), weekly_rides(MONDAY, 3), MONDAY, 3)
    sessions = [s for s in result.sessions if s.kind == SessionKind.mobility]
    assert len(sessions) >= 3 * 3
    for session in sessions:
        assert 10 <= real_minutes(session) <= 20
        if minutes is not None:
            assert real_minutes(session) == minutes
        assert session.prescriptions
        held = 0
        for p in session.prescriptions:
            assert p.reps is None and p.hold_s is not None and p.hold_s >= 30, p.exercise_id
            held += p.sets * p.hold_s * (2 if p.side in ("each_leg", "each_side") else 1)
        assert held <= real_minutes(session) * 60, "the holds alone must fit in the session"


@pytest.mark.parametrize("region", [Region.hamstring, Region.knee, Region.low_back])
def test_a_red_flag_region_gets_no_loading_and_every_session_says_see_a_clinician(region):
    who = lifter()
    state = ProgressionState.starting(who)
    state.regions = {
        region: RegionStatus(zone=Zone.red_flag, needs_clearance=True, reason="sharp pain")
    }
    rides = weekly_rides(MONDAY, 4)
    result = plan(who, rides, MONDAY, 4, state=state)
    assert hard_violations(as_problem(who, rides, MONDAY, 4, state), result.sessions) == []
    strength = [s for s in result.sessions if s.kind == SessionKind.strength]
    assert strength, "the patterns that spare the region still train"
    for session in result.sessions:
        for p in session.prescriptions:
            assert region not in LIBRARY.by_id[p.exercise_id].regions, p.exercise_id
            assert region not in p.regions
        assert any("clinician" in note for note in session.notes), session.notes
        assert "clinician" in describe(session)
        assert "not medical advice" in describe(session)


def test_a_red_region_gets_no_heavy_work_until_its_date():
    who = lifter()
    until = MONDAY + timedelta(days=14)
    state = ProgressionState.starting(who)
    state.regions = {Region.hamstring: RegionStatus(zone=Zone.red, no_heavy_until=until)}
    result = plan(who, weekly_rides(MONDAY, 4), MONDAY, 4, state=state)
    zone = ZoneInfo(who.timezone)
    for session in result.sessions:
        if session.start.astimezone(zone).date() < until:
            for p in session.prescriptions:
                assert not (p.heavy and Region.hamstring in p.regions), (session.start, p.name)


def test_low_grade_pain_for_a_week_asks_the_coach_to_review_in_the_plan_warnings():
    who = lifter()
    state = ProgressionState.starting(who)
    reason = "knee: pain 1-3 on 7 days running: review the athlete's load and bike fit"
    state.regions = {Region.knee: RegionStatus(needs_review=True, review_reason=reason)}
    result = plan(who, weekly_rides(MONDAY, 2), MONDAY, 2, state=state)
    assert reason in result.warnings
    quiet = plan(who, weekly_rides(MONDAY, 2), MONDAY, 2)
    assert quiet.warnings == []


# --- clocks -----------------------------------------------------------------------------


def _night_owl(zone: str, day: date, opens: str, closes: str) -> Athlete:
    """Available on one night only: the one the clocks change."""
    window = {"start": opens, "end": closes}
    return Athlete.model_validate(
        {
            "name": "Night Owl",
            "timezone": zone,
            "availability": {"exceptions": [{"date": day.isoformat(), "windows": [window]}]},
        }
    )


@pytest.mark.parametrize(
    ("zone", "night", "opens", "closes"),
    [
        # opens in the hour that repeats, closes after it: 105 real minutes, 45 on the clock
        ("Europe/London", date(2027, 10, 31), "01:30", "02:15"),
        ("America/New_York", date(2027, 11, 7), "01:30", "02:15"),
        ("Australia/Sydney", date(2027, 4, 4), "02:30", "03:15"),
        ("Europe/London", date(2027, 10, 31), "00:00", "04:00"),
    ],
)
def test_sessions_on_the_night_the_clocks_go_back_last_their_real_length(
    zone, night, opens, closes
):
    who = _night_owl(zone, night, opens, closes)
    start = night - timedelta(days=night.weekday())
    result = plan(who, [], start, 1)
    assert result.sessions
    assert hard_violations(as_problem(who, [], start, 1), result.sessions) == []
    ordered = sorted(result.sessions, key=lambda s: s.start.astimezone(UTC))
    for session in ordered:
        want = 45 if session.kind == SessionKind.strength else 15
        assert real_minutes(session) == want, (session.start, session.end)
        assert f"{want} min" in describe(session)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert before.end.astimezone(UTC) <= after.start.astimezone(UTC), "sessions overlap"


@pytest.mark.parametrize(
    ("zone", "night"),
    [
        ("Europe/London", date(2027, 3, 28)),
        ("America/New_York", date(2027, 3, 14)),
        ("Australia/Sydney", date(2027, 10, 3)),
    ],
)
def test_no_session_starts_or_ends_at_a_time_the_clocks_skip(zone, night):
    who = _night_owl(zone, night, "00:00", "04:00")
    start = night - timedelta(days=night.weekday())
    result = plan(who, [], start, 1)
    assert result.sessions
    for session in result.sessions:
        for moment in (session.start, session.end):
            # a skipped wall time does not survive a round trip through UTC in its own zone
            round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
            assert round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None), moment
        assert real_minutes(session) in (15, 45)


@pytest.mark.parametrize(
    ("zone", "night", "skipped_minutes"),
    [
        ("Europe/Berlin", date(2027, 3, 28), 60),  # forward at 02:00
        ("Europe/Berlin", date(2027, 10, 31), 0),  # back at 03:00: 02:00-03:00 twice
        ("Australia/Lord_Howe", date(2027, 10, 3), 30),  # forward by half an hour
        ("America/Havana", date(2027, 3, 14), 60),  # forward at midnight
        ("Asia/Kathmandu", date(2027, 3, 14), 0),  # no change at all
    ],
)
def test_a_wall_time_has_an_instant_exactly_when_it_survives_a_round_trip_through_utc(
    zone, night, skipped_minutes
):
    who = _night_owl(zone, night, "00:00", "04:00")
    problem = as_problem(who, [], night - timedelta(days=night.weekday()), 1)
    tz = ZoneInfo(zone)
    skipped = 0
    for minute in range(0, 24 * 60, 5):
        clock = time(minute // 60, minute % 60)
        wall = datetime.combine(night, clock, tzinfo=tz)
        back = wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        exists = back == wall.replace(tzinfo=None)
        skipped += not exists
        assert (problem.at(night, clock) is not None) == exists, clock
    assert skipped * 5 == skipped_minutes


def test_a_ride_across_the_change_of_clocks_ends_its_duration_in_real_time_later():
    zone = ZoneInfo("Europe/London")
    start = datetime.combine(date(2027, 10, 30), time(23, 0), tzinfo=zone)  # BST
    overnight = Ride(start=start, duration_min=240, kind="long")
    assert overnight.end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=240)
    assert overnight.end.astimezone(zone).strftime("%H:%M %Z") == "02:00 GMT"
