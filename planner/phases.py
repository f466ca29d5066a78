"""Season structure: the phase of each week, 3:1 deload weeks (T3) and the pre-race taper (T4)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import date, timedelta, tzinfo
from functools import lru_cache
from importlib import resources

from planner.domain import Phase, Priority, Ride, RideKind

TAPER_DAYS = 14  # domain.md T4: the 14 days before an A race

# domain.md T1: strength sessions a week by phase, (min, max)
STRENGTH_PER_WEEK: dict[Phase, tuple[int, int]] = {
    Phase.base: (2, 3),
    Phase.build: (2, 2),
    Phase.peak: (1, 1),
    Phase.in_season: (1, 1),
    Phase.race: (0, 1),
    Phase.transition: (1, 1),
}

# phases in which strength stays light whatever the ladder says
LIGHT_ONLY = {Phase.race, Phase.transition}


@dataclass(frozen=True)
class Week:
    index: int  # 0-based
    start: date
    phase: Phase
    deload: bool

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def strength_range(self) -> tuple[int, int]:
        return STRENGTH_PER_WEEK[self.phase]

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def race_days(rides: list[Ride], zone: tzinfo, priority: Priority) -> list[date]:
    """Local dates of the races of one priority (a race is a ride of kind `race`)."""
    return sorted(
        {
            r.start.astimezone(zone).date()
            for r in rides
            if r.kind == RideKind.race and r.priority == priority
        }
    )


def phase_for(week_start: date, a_races: list[date], override: Phase | None) -> Phase:
    """domain.md Phases: base > 12 weeks out, build 12-4, peak 4-1, race week, 2 weeks transition.

    The race week is the plan week the race falls in (weeks run from the plan's start, any
    weekday); its days after the race are already transition (Problem.phase_on)."""
    week_end = week_start + timedelta(days=7)
    for race in a_races:
        if week_start <= race < week_end:
            return Phase.race
    for race in a_races:
        if race < week_start <= race + timedelta(days=14):
            return Phase.transition
    if override is not None:
        return override
    upcoming = [r for r in a_races if r >= week_end]
    if not upcoming:
        return Phase.base
    weeks_out = (upcoming[0] - week_start).days / 7
    if weeks_out > 12:
        return Phase.base
    if weeks_out > 4:
        return Phase.build
    return Phase.peak


def season_weeks(
    start: date, weeks: int, race_days: list[date], override: Phase | None
) -> list[Week]:
    """Weeks from the plan start; every 4th week of an unbroken base/build run is a deload (T3),
    and so is the first week back from a transition: weeks of bodyweight work, then the heavy
    lifts' full sets and loads at once (a coach's review) - half the sets first. The count to
    the next deload starts from that week."""
    result: list[Week] = []
    run = 0
    previous: Phase | None = None
    for index in range(weeks):
        week_start = start + timedelta(days=7 * index)
        phase = phase_for(week_start, race_days, override)
        back = phase in (Phase.base, Phase.build) and previous == Phase.transition
        if back:
            run = 0  # the week back is the run's deload: the next is 4 weeks on
        elif phase in (Phase.base, Phase.build):
            run += 1
        else:
            run = 0
        result.append(Week(index, week_start, phase, deload=back or (run > 0 and run % 4 == 0)))
        previous = phase
    return result


def in_taper(day: date, race_days: list[date]) -> bool:
    """T4: inside the 14 days before an A race (the race day itself excluded)."""
    return any(race - timedelta(days=TAPER_DAYS) <= day < race for race in race_days)


@dataclass(frozen=True)
class Dosage:
    """Sets and reps of a phase (planner/data/dosage.toml, domain.md Revision 2)."""

    heavy_sets: int  # max-strength rungs: two-legged barbell and machine lifts
    heavy_sets_other: int  # max-strength rungs done one leg at a time, or the Nordic curl
    heavy_reps: str
    heavy_rest_s: int
    heavy_hint: str
    other_sets: int  # other rungs: 0 their own sets, -1 one or two (about half), else this
    unloaded_only: bool = False

    def __hash__(self) -> int:
        # the content caches key on a dosage thousands of times per plan: hashed once
        found = self.__dict__.get("_hash")
        if found is None:
            found = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", found)
        return found


TAPER = "taper"


@lru_cache(maxsize=1)
def _dosage_table() -> dict[str, Dosage]:
    text = resources.files("planner").joinpath("data/dosage.toml").read_text("utf-8")
    return {name: Dosage(**row) for name, row in tomllib.loads(text).items()}


def dosage_for(phase: Phase, *, taper: bool) -> Dosage:
    """The phase's dosage; the days of an A race's taper (T4) take the taper row."""
    table = _dosage_table()
    if taper and phase != Phase.race:
        return table[TAPER]
    return table[phase.value]
