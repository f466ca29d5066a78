"""Planner speed on a realistic calendar: median and p95 of model build, solve and end to end.

Run: .venv/bin/python bench/plan_bench.py [--runs N]
Figures vary with machine load; compare medians and ratios, not single runs.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from planner.domain import (
    Athlete,
    PainReport,
    PainTiming,
    Pattern,
    ProgressionState,
    Region,
    Ride,
    RideKind,
    SessionKind,
)
from planner.progression import SessionFeedback, apply_feedback
from planner.solve import SolverSettings, plan
from planner.stability import carry_over

ZONE = ZoneInfo("Europe/Berlin")
START = date(2027, 1, 4)

ATHLETE = Athlete.model_validate(
    {
        "name": "Bench Rider",
        "timezone": "Europe/Berlin",
        "availability": {
            **{
                d: [{"start": "06:00", "end": "08:00"}, {"start": "17:30", "end": "21:30"}]
                for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
            },
            "saturday": [{"start": "07:00", "end": "19:00"}],
            "sunday": [{"start": "07:00", "end": "19:00"}],
        },
        "equipment": ["bodyweight", "band", "ball", "box", "dumbbell", "barbell", "bench"],
        "starting_levels": {"hinge": 9, "knee_flexion": 3, "squat": 2},
    }
)


def calendar(weeks: int, seed: int = 7) -> list[Ride]:
    """5-7 rides a week, a long ride every weekend, one B race and one A race."""
    rng = random.Random(seed)
    rides: list[Ride] = []
    a_race = START + timedelta(days=7 * max(weeks - 2, 1) + 6)
    b_race = START + timedelta(days=7 * max(weeks // 2 - 1, 0) + 6)
    for week in range(weeks + 1):
        monday = START + timedelta(days=7 * week)
        weekdays = rng.sample([1, 2, 3, 4], k=rng.choice([3, 4]))
        for offset in sorted(weekdays):
            kind = rng.choice([RideKind.intervals, RideKind.endurance, RideKind.recovery])
            start = datetime.combine(monday + timedelta(days=offset), clock(18, 0), ZONE)
            rides.append(Ride(start=start, duration_min=rng.choice([60, 75, 90]), kind=kind))
        saturday = monday + timedelta(days=5)
        sunday = monday + timedelta(days=6)
        for day in (saturday, sunday):
            if day in (a_race, b_race):
                continue
            if day == saturday:
                start = datetime.combine(day, clock(8, 30), ZONE)
                rides.append(
                    Ride(start=start, duration_min=rng.choice([180, 240, 300]), kind=RideKind.long)
                )
            elif rng.random() < 0.6:
                start = datetime.combine(day, clock(9, 30), ZONE)
                rides.append(Ride(start=start, duration_min=90, kind=RideKind.endurance))
    for day, priority in ((b_race, "B"), (a_race, "A")):
        start = datetime.combine(day, clock(9, 0), ZONE)
        rides.append(Ride(start=start, duration_min=240, kind=RideKind.race, priority=priority))
    return rides


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    # as the service runs it (api.app.tune_gc): start-up objects frozen, fewer collections
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    settings = SolverSettings()
    print(
        f"solver: {settings.workers} worker(s), seed {settings.seed}, limit {settings.time_limit_s} s"
    )
    print(
        f"{'weeks':>5} {'rides':>5} {'sessions':>8} | {'build med/p95 ms':>17} | "
        f"{'solve med/p95 ms':>17} | {'total med/p95 ms':>17} | worst gap | statuses"
    )
    fresh_12 = 0.0
    for weeks in (4, 12, 26, 52):
        rides = calendar(weeks)
        runs = args.runs if weeks < 52 else max(5, args.runs // 2)
        plan(ATHLETE, rides, START, weeks, settings=settings)  # warm-up: imports, library load
        build, solve, total, gaps, statuses = [], [], [], [], set()
        sessions = 0
        for _ in range(runs):
            began = time.perf_counter()
            result = plan(ATHLETE, rides, START, weeks, settings=settings)
            total.append((time.perf_counter() - began) * 1000)
            build.append(result.solver.build_ms)
            solve.append(result.solver.solve_ms)
            gaps.append(result.solver.gap)
            statuses.add(result.solver.status)
            sessions = len(result.sessions)
        print(
            f"{weeks:>5} {len(rides):>5} {sessions:>8} | "
            f"{statistics.median(build):>8.1f}/{p95(build):<8.1f} | "
            f"{statistics.median(solve):>8.1f}/{p95(solve):<8.1f} | "
            f"{statistics.median(total):>8.1f}/{p95(total):<8.1f} | "
            f"{max(gaps):>8.2%} | {','.join(sorted(statuses))}"
        )
        if weeks == 12:
            fresh_12 = statistics.median(total)
    replan_figures(args.runs, settings, fresh_12)


def replan_figures(runs: int, settings: SolverSettings, fresh_median_ms: float) -> None:
    """A 12-week re-plan after one feedback, as the service does it: the progression engine
    reads the log (knee pain 6/10 after the first strength session: red, so knee flexion and
    squat step down and heavy work for the knee stops for 7 days), then the future is re-solved
    with the published plan as S4's reference (the sessions up to the feedback stay pinned),
    then UIDs and SEQUENCE are carried over. All three steps are inside the timing."""
    rides = calendar(12)
    state = ProgressionState.starting(ATHLETE)
    first = plan(ATHLETE, rides, START, 12, settings=settings)
    before_start = datetime.combine(START, clock(0, 0), ZONE)
    published = carry_over([], first.sessions, owner="bench", now=before_start)
    session = next(s for s in published if s.kind == SessionKind.strength)
    now = session.end
    feedback = SessionFeedback(
        session_uid=session.uid,
        at=now,
        completed=True,
        rpe=6,
        pain=[PainReport(region=Region.knee, score=6, timing=PainTiming.after)],
        patterns=sorted(
            {p.pattern for p in session.prescriptions if p.pattern != Pattern.mobility}
        ),
    )
    timings, changes, changed, moved = [], [], 0, 0
    for _ in range(runs + 1):
        began = time.perf_counter()
        new_state, changes = apply_feedback(state, feedback, ATHLETE, first_logged=None)
        result = plan(
            ATHLETE,
            rides,
            START,
            12,
            state=new_state,
            previous=published,
            now=now,
            settings=settings,
        )
        merged = carry_over(published, result.sessions, owner="bench", now=now)
        timings.append((time.perf_counter() - began) * 1000)
        before = {s.uid: s for s in published}
        changed = sum(
            1
            for s in merged
            if s.uid not in before or before[s.uid].content_key() != s.content_key()
        )
        moved = sum(1 for s in merged if s.uid in before and before[s.uid].start != s.start)
    timings = timings[1:]  # the first run warms caches
    stepped = ", ".join(
        f"{c.pattern} {c.from_level}->{c.to_level}"
        if c.from_level != c.to_level
        else f"{c.pattern} halved (easiest rung)"
        for c in changes
    )
    print(
        f"re-plan 12 weeks after one feedback (knee 6/10: {stepped}): "
        f"median {statistics.median(timings):.1f} ms, p95 {p95(timings):.1f} ms; "
        f"{changed} of {len(published)} sessions changed content, {moved} moved; "
        f"{statistics.median(timings) / fresh_median_ms:.2f}x a fresh 12-week plan (medians)"
    )


if __name__ == "__main__":
    main()
