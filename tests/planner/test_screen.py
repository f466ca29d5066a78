"""The candidate screen: each per-session hard rule's `blocked_starts` forbids exactly the starts
its `breach` forbids, so leaving those starts out before any candidate is made changes no plan.
Likewise a soft per-session rule's `priced_starts` (where it has them) prices exactly the
starts its `cost` prices.

`breach` is the rule's definition (and what `check` and the explain mode use); the spans are a
faster way to ask it for a whole day. The probes are every grid candidate, every 10 minutes
of every day, and one second either side of every span edge, where an open or closed end
would show.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from constraints import all_rules
from planner.candidates import CandidateFactory
from planner.content import ContentBuilder
from planner.domain import (
    Athlete,
    Priority,
    ProgressionState,
    Region,
    RegionStatus,
    Ride,
    RideKind,
    SessionKind,
    Zone,
)
from planner.inputs import load_athlete, load_calendar
from planner.problem import Problem
from planner.solve import SolverSettings, build_model, solve_problem
from planner.variables import Candidate, SlotPreference, SlotRule, Variant, blocks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BERLIN = ZoneInfo("Europe/Berlin")


def _athlete(**extra) -> Athlete:
    return Athlete.model_validate(
        {
            "name": "Screen Rider",
            "timezone": "Europe/Berlin",
            "availability": {
                **{
                    d: [{"start": "06:00", "end": "08:00"}, {"start": "17:30", "end": "21:30"}]
                    for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
                },
                "saturday": [{"start": "07:00", "end": "19:00"}],
                "sunday": [{"start": "00:00", "end": "23:59"}],
            },
            "equipment": ["bodyweight", "band", "ball", "box", "dumbbell", "barbell", "bench"],
            "starting_levels": {"hinge": 9, "knee_flexion": 4, "squat": 2},
            **extra,
        }
    )


def _random_rides(start: date, weeks: int, seed: int, zone: ZoneInfo = BERLIN) -> list[Ride]:
    """Rides at odd minutes (seconds too), late-evening rides that cross midnight, long rides
    up to a whole day, and A, B and C races: the edges the spans must get right."""
    rng = random.Random(seed)
    rides: list[Ride] = []
    moment = datetime.combine(start, time(5, 0), zone).astimezone(UTC)
    end = moment + timedelta(days=7 * weeks + 3)
    races = iter([Priority.C, Priority.B, Priority.A])
    while moment < end:
        moment += timedelta(minutes=rng.randrange(6 * 60, 40 * 60), seconds=rng.randrange(60))
        roll = rng.random()
        if roll < 0.08:
            priority = next(races, None)
            kind = RideKind.race if priority else RideKind.long
            rides.append(
                Ride(start=moment, duration_min=rng.choice([90, 240]), kind=kind, priority=priority)
            )
        elif roll < 0.3:
            minutes = rng.choice([200, 330, 330, 760, 1440])  # a 24 h ride now and then
            rides.append(Ride(start=moment, duration_min=minutes, kind=RideKind.long))
        else:
            kind = rng.choice([RideKind.intervals, RideKind.endurance, RideKind.recovery])
            rides.append(Ride(start=moment, duration_min=rng.choice([45, 70, 95]), kind=kind))
        moment = rides[-1].end + timedelta(minutes=rng.randrange(20, 300))
    return rides


def _in_pain(athlete: Athlete, day: date) -> ProgressionState:
    state = ProgressionState.starting(athlete)
    state.regions[Region.knee] = RegionStatus(zone=Zone.red, no_heavy_until=day)
    state.regions[Region.low_back] = RegionStatus(zone=Zone.red_flag, needs_clearance=True)
    return state


def _example(folder: str, rides_file: str, start: date, weeks: int) -> Problem:
    who = load_athlete(EXAMPLES / folder / "athlete.json")
    rides, _, _ = load_calendar(EXAMPLES / folder / rides_file, who, start, weeks)
    return Problem(
        athlete=who, rides=rides, start=start, weeks=weeks, state=ProgressionState.starting(who)
    )


def _replan_overlapping_windows() -> Problem:
    """A re-plan (`now` mid-season) over sessions published under all-day windows, some now
    outside the athlete's windows; windows that overlap (one start made twice); a late ride
    whose cool-down lands on a grid start of the next day's window from midnight."""
    start = date(2027, 5, 3)
    late = [{"start": "06:00", "end": "10:00"}, {"start": "08:00", "end": "12:00"}]
    evening = [{"start": "17:30", "end": "21:30"}, {"start": "17:30", "end": "21:30"}]
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    rider = _athlete(
        availability={
            **{d: late + evening for d in weekdays},
            "saturday": [{"start": "00:00", "end": "19:00"}],
            "sunday": [{"start": "00:00", "end": "23:59"}],
        }
    )
    buffer = timedelta(minutes=rider.settings.ride_buffer_min)
    rides = []
    for week in range(4):
        monday = start + timedelta(days=7 * week)
        rides.append(
            Ride(
                start=datetime.combine(monday + timedelta(days=1), time(18, 0), BERLIN),
                duration_min=75,
                kind=RideKind.intervals,
            )
        )
        # ends so that its cool-down starts at Saturday 00:00, the window's first grid start
        saturday = datetime.combine(monday + timedelta(days=5), time(0, 0), BERLIN)
        rides.append(Ride(start=saturday - buffer - timedelta(minutes=100), duration_min=100))
        rides.append(
            Ride(
                start=datetime.combine(monday + timedelta(days=6), time(8, 30), BERLIN),
                duration_min=300,
                kind=RideKind.long,
            )
        )
    days = (*weekdays, "saturday", "sunday")
    anywhere = _athlete(availability={d: [{"start": "00:00", "end": "23:59"}] for d in days})
    published = solve_problem(
        Problem(
            athlete=anywhere,
            rides=rides,
            start=start,
            weeks=4,
            state=ProgressionState.starting(anywhere),
        ),
        SolverSettings(),
        explain_misses=False,
    ).sessions
    return Problem(
        athlete=rider,
        rides=rides,
        start=start,
        weeks=4,
        state=ProgressionState.starting(rider),
        previous=published,
        now=datetime.combine(start + timedelta(days=10), time(12, 0), BERLIN),
    )


def _problems() -> dict[str, Problem]:
    # spring forward on 28 Mar 2027, fall back on 31 Oct 2027 in Berlin: both inside a season
    spring, autumn = date(2027, 3, 8), date(2027, 10, 11)
    rider = _athlete()
    # +05:45 all year; Lord Howe Island moves its clocks by half an hour (on 3 Oct 2027)
    kathmandu, lord_howe = ZoneInfo("Asia/Kathmandu"), ZoneInfo("Australia/Lord_Howe")
    nepali = _athlete(timezone=kathmandu.key)
    islander = _athlete(timezone=lord_howe.key)
    return {
        "base_amateur": _example("base_amateur", "rides.json", date(2027, 1, 4), 12),
        "tight_availability": _example("tight_availability", "rides.json", date(2027, 2, 1), 8),
        "random_kathmandu": Problem(
            athlete=nepali,
            rides=_random_rides(spring, 5, seed=3, zone=kathmandu),
            start=spring,
            weeks=5,
            state=ProgressionState.starting(nepali),
        ),
        "random_lord_howe_dst": Problem(
            athlete=islander,
            rides=_random_rides(date(2027, 9, 20), 4, seed=4, zone=lord_howe),
            start=date(2027, 9, 20),
            weeks=4,
            state=ProgressionState.starting(islander),
        ),
        "in_season_racer": _example("in_season_racer", "rides.ics", date(2027, 3, 1), 14),
        "b_and_c_races": _example("b_and_c_races", "rides.json", date(2027, 4, 5), 8),
        "random_spring_dst": Problem(
            athlete=rider,
            rides=_random_rides(spring, 6, seed=1),
            start=spring,
            weeks=6,
            state=ProgressionState.starting(rider),
        ),
        "replan_overlapping_windows": _replan_overlapping_windows(),
        "random_autumn_dst_in_pain": Problem(
            athlete=rider,
            rides=_random_rides(autumn, 6, seed=2),
            start=autumn,
            weeks=6,
            state=_in_pain(rider, autumn + timedelta(days=16)),
        ),
    }


PROBLEMS = _problems()


def _variants(problem: Problem, content: ContentBuilder, factory: CandidateFactory, day: date):
    """(kind, heavy, stand_in, built content) of every session the factory could offer."""
    for heavy in (False, True):
        built = content.strength(day, heavy)
        if built is not None:
            yield SessionKind.strength, heavy, False, built
    stand_ins = factory.stand_in_content()
    if stand_ins is not None and factory.needs_stand_in(day):
        built = stand_ins.strength(day, True)
        if built is not None:
            yield SessionKind.strength, True, True, built
    yield SessionKind.mobility, False, False, content.mobility(day)


def _ride_marks(problem: Problem, day: date, length: timedelta) -> list[datetime]:
    """The instants where a rule's answer about a start can change, found from the rides and
    the settings rather than from the spans: each nearby ride's start and end, shifted by every
    gap a rule uses (with and without the session's length), and one second either side."""
    settings = problem.settings
    gaps = [
        timedelta(0),
        timedelta(minutes=settings.ride_buffer_min),
        timedelta(minutes=30),  # H1's cool-down
        timedelta(hours=settings.same_day_gap_h),
        timedelta(hours=settings.heavy_before_long_h),
        timedelta(hours=settings.heavy_after_long_h),
        timedelta(hours=settings.clear_before_B_h),
        timedelta(hours=settings.clear_before_C_h),
    ]
    first, last = datetime.combine(day, time(0), UTC), datetime.combine(day, time(0), UTC)
    nearby = problem.rides_between(first - timedelta(days=6), last + timedelta(days=6))
    marks = []
    for ride in nearby:
        for anchor in (ride.start, ride.end):
            for gap in gaps:
                for moment in (anchor + gap, anchor - gap, anchor - gap - length):
                    marks += [moment + timedelta(seconds=s) for s in (-1, 0, 1)]
    return marks


def _probe(
    problem: Problem, day: date, spans, grid: list[datetime], length: timedelta
) -> list[datetime]:
    """Every 10 minutes of the local day, the grid's starts, each span edge +-1 s, and the
    rides' own thresholds (_ride_marks) that fall on the day."""
    first = datetime.combine(day, time(0), problem.zone).astimezone(UTC)
    last = datetime.combine(day + timedelta(days=1), time(0), problem.zone).astimezone(UTC)
    moments = [
        first + timedelta(minutes=10 * i) for i in range(int((last - first).total_seconds() // 600))
    ]
    moments += grid
    for low, high, _, _ in spans:
        for edge in (low, high):
            if first.timestamp() - 2 <= edge <= last.timestamp() + 2:
                for shift in (-1, 0, 1):
                    moments.append(datetime.fromtimestamp(edge + shift, UTC))
    moments += _ride_marks(problem, day, length)
    return [m for m in moments if problem.local_day(m) == day]


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_each_rules_blocked_starts_are_exactly_its_breaches(name):
    problem = PROBLEMS[name]
    rules = [r for r in all_rules(problem.settings) if isinstance(r, SlotRule)]
    # the soft per-session rules that price by spans too (S5): held to their `cost` alike
    priced = [
        r for r in all_rules(problem.settings) if isinstance(r, SlotPreference) and not r.by_day
    ]
    content = ContentBuilder(problem)
    factory = CandidateFactory(problem, content)
    grid = factory.build()  # unscreened: every start the grid makes
    grid_by_day: dict[date, list[datetime]] = {}
    for cand in grid:
        grid_by_day.setdefault(cand.day, []).append(cand.start)
    settings = problem.settings
    disagreements = 0
    # answers seen, by what the spans said: hard rules' and preferences' apart
    blocked_seen = {False: 0, True: 0}
    priced_seen = {False: 0, True: 0}
    failures: list[str] = []
    for day in problem.days():
        for kind, heavy, stand_in, built in _variants(problem, content, factory, day):
            minutes = (
                settings.strength_session_min
                if kind == SessionKind.strength
                else settings.mobility_session_min
            )
            length = timedelta(minutes=minutes)
            variant = Variant(day, kind, heavy, built[0], length)
            per_rule = {r.name: r.blocked_starts(problem, variant) for r in rules}
            for rule in rules:
                if not rule.judges(kind, heavy):  # the screen will not ask it: it must agree
                    assert per_rule[rule.name] == [], (rule.name, kind, heavy)
            for preference in priced:
                spans = preference.priced_starts(problem, variant)
                if spans is not None:
                    per_rule[preference.name] = spans
            # each rule's spans against its definition: `breach`, or a preference's `cost`
            judged = [(r.name, r.breach, blocked_seen) for r in rules] + [
                (p.name, p.cost, priced_seen) for p in priced if p.name in per_rule
            ]
            every_span = [s for spans in per_rule.values() for s in spans]
            for moment in _probe(problem, day, every_span, grid_by_day.get(day, []), length):
                slot = Candidate(
                    index=0,
                    kind=kind,
                    start=moment,
                    end=moment + length,
                    heavy=heavy,
                    day=day,
                    week=0,
                    prescriptions=built[0],
                    stand_in=stand_in,
                )
                for name, definition, seen in judged:
                    said = blocks(per_rule[name], moment.timestamp())
                    seen[said] += 1
                    why = definition(problem, slot)
                    if said != (why is not None):
                        disagreements += 1
                        if len(failures) < 5:
                            failures.append(
                                f"{name} {kind} heavy={heavy} {moment.isoformat()}: "
                                f"spans say {said}, the rule says {why!r}"
                            )
    assert disagreements == 0, failures
    # a soft per-session rule never prices a kind of session it says it does not judge
    prices = [r for r in all_rules(problem.settings) if isinstance(r, SlotPreference)]
    for cand in grid:
        for rule in prices:
            if not rule.judges(cand.kind, cand.heavy):
                assert rule.cost(problem, cand) is None, (rule.name, cand)
    # the probes reached both answers many times (not a vacuous agreement)
    assert blocked_seen[True] > 1000 and blocked_seen[False] > 1000, blocked_seen
    assert priced_seen[True] > 100 and priced_seen[False] > 100, priced_seen


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_screening_leaves_out_only_forbidden_candidates_and_changes_no_plan(name):
    problem = PROBLEMS[name]
    rules = all_rules(problem.settings)
    slot_rules = [r for r in rules if isinstance(r, SlotRule)]
    screened = build_model(problem, rules)
    unscreened = build_model(problem, rules, screen=False)

    def key(c: Candidate):
        return (c.kind, c.start, c.heavy, c.stand_in)

    left_out = {key(c) for c in unscreened.candidates} - {key(c) for c in screened.candidates}
    assert left_out, "the screen left nothing out"
    for cand in unscreened.candidates:
        if key(cand) in left_out:
            assert any(r.breach(problem, cand) for r in slot_rules), cand
    # what the old path forbade after making it is what the screen never made
    forbidden_before = {key(c) for c in unscreened.candidates if c.index in unscreened.forbidden}
    assert left_out <= forbidden_before
    # the same choice: same variables, same constraints, same objective, same plan
    assert len(screened.x) == len(unscreened.x)
    assert len(screened.model.proto.constraints) == len(unscreened.model.proto.constraints)
    settings = SolverSettings()
    fast = solve_problem(problem, settings, explain_misses=False)
    assert fast.solver.status == "OPTIMAL"
    import planner.solve as solve_module

    original = solve_module.build_model
    try:
        solve_module.build_model = lambda *a, **k: original(*a, **{**k, "screen": False})
        slow = solve_problem(problem, settings, explain_misses=False)
    finally:
        solve_module.build_model = original
    assert fast.solver.objective == slow.solver.objective
    assert [(s.start, s.kind, s.heavy, s.content_key()) for s in fast.sessions] == [
        (s.start, s.kind, s.heavy, s.content_key()) for s in slow.sessions
    ]


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_a_rule_that_says_it_does_not_read_heavy_or_content_answers_the_same_without_them(name):
    """The factory asks a screening rule once for all of a day's strength variants when it
    declares it reads neither the heavy flag nor the content: the spans must not depend on them."""
    problem = PROBLEMS[name]
    rules = [r for r in all_rules(problem.settings) if isinstance(r, SlotRule)]
    content = ContentBuilder(problem)
    factory = CandidateFactory(problem, content)
    # content written as if nothing hurt: where pain is logged, H10 refuses some of it
    carefree = copy.copy(problem)
    carefree.state = ProgressionState.starting(problem.athlete)
    unaware = ContentBuilder(carefree)
    length = timedelta(minutes=problem.settings.strength_session_min)
    compared = differed = 0
    for day in problem.days():
        contents = [
            built[0]
            for kind, _, _, built in _variants(problem, content, factory, day)
            if kind == SessionKind.strength
        ]
        contents += [
            built[0]
            for built in (unaware.strength(day, True), unaware.strength(day, False))
            if built
        ]
        if not contents:
            continue
        for rule in rules:
            answers = {
                (heavy, position): rule.blocked_starts(
                    problem, Variant(day, SessionKind.strength, heavy, prescriptions, length)
                )
                for heavy in (False, True)
                for position, prescriptions in enumerate(contents)
            }
            for (heavy, position), spans in answers.items():
                if not rule.reads_heavy:
                    compared += 1
                    assert spans == answers[(not heavy, position)], (rule.name, day, "heavy")
                if not rule.reads_content:
                    compared += 1
                    assert spans == answers[(heavy, 0)], (rule.name, day, "content")
                differed += spans != answers[(False, 0)]
    # the variants asked about do get different answers from some rules (H3, H8, H10...)
    assert compared > 100 and differed > 0


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_a_rule_that_says_it_is_window_bound_forbids_no_start_inside_a_window(name):
    """The factory's grid does not ask a `window_bound` rule (H1): every grid start must pass
    it, and it must still forbid the starts outside the windows (the cool-down, a published
    session off the grid), which the factory asks it about."""
    problem = PROBLEMS[name]
    bound = [r for r in all_rules(problem.settings) if isinstance(r, SlotRule) and r.window_bound]
    assert [r.name for r in bound] == ["H1"]
    grid = CandidateFactory(problem).build()  # unscreened: every start the grid makes
    assert len(grid) > 100
    for cand in grid:
        for rule in bound:
            assert rule.breach(problem, cand) is None, (rule.name, cand.start)
    # outside the windows the rule does forbid: it is bound to them, not silent
    outside = CandidateFactory(problem).build(explain=True)
    refused = [c for c in outside if c.outside_availability and bound[0].breach(problem, c)]
    assert refused
