"""T4: in the 14 days before an A race, strength volume cut 30-70 %, intensity kept.

Intensity kept: an athlete on a heavy rung does the taper's strength as a heavy session at the
taper dose (1-2 x 3 at the same load), not as a light one that swaps the lift for a lighter
rung; a light taper session costs the same as a volume miss where the heavy variant could be
built that day and H8 allows heavy work (not in the last days before the race).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from constraints._time import local
from constraints.h8_race_taper import race_keeps_heavy_out
from constraints.t1_strength_per_week import content_of
from constraints.t3_deload import volume_ratio
from planner.domain import Session, SessionKind
from planner.phases import TAPER_DAYS
from planner.problem import Problem, Slot
from planner.variables import ModelContext, SlotPreference, Violation

TAPER_RATIO = (0.30, 0.70)


def first_race_days(problem: Problem) -> list[date]:
    """The first day of each A race: a stage race's days running are one race, with one taper
    before its first stage (a term per stage day paid the same miss three times)."""
    firsts: list[date] = []
    for day in sorted(problem.a_races):
        if not firsts or (day - timedelta(days=1)) not in problem.a_races:
            firsts.append(day)
    return firsts


def heavy_taper_days(problem: Problem, race: date) -> tuple[list[date], str | None]:
    """The days of an A race's taper that can hold its heavy session (H8 allows heavy work, a
    ladder is on a heavy rung), and the heavy lift they hold; none when every such day was over
    when the plan was made (as T1's heavy part: the ladder then was not today's).

    Intensity kept (domain.md T4): the taper wants one heavy session at the taper dose before
    H8's heavy-free days. A light session the day H8 closes them cost nothing, and the last
    heavy work came 17 days before a stage race (a coach's review)."""
    content = content_of(problem)
    days, lift = [], None
    for offset in range(TAPER_DAYS, 0, -1):
        day = race - timedelta(days=offset)
        if not problem.start <= day < problem.end or race_keeps_heavy_out(problem, day):
            continue
        built = content.strength(day, True)
        if built is not None:
            days.append(day)
            lift = lift or next((p.name for p in built[0] if p.heavy), None)
    today = problem.local_day(problem.now) if problem.now is not None else None
    if today is not None and days and days[-1] < today:
        return [], None
    return days, lift


@dataclass(frozen=True)
class T4Taper(SlotPreference):
    weight: int = 50
    missing_heavy_weight: int = 40
    name = "T4"
    title = "pre-race taper"
    term = "taper_volume"
    strength_only = True
    by_day = True

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength or not problem.in_taper(problem.day_of(slot)):
            return None
        day = problem.day_of(slot)
        if (
            not slot.heavy
            and content_of(problem).strength(day, True) is not None
            and not race_keeps_heavy_out(problem, day)
        ):
            return (
                f"taper session {local(slot.start, problem.zone)} is light: the heavy lift's "
                "intensity is not kept (a heavy session at the taper dose keeps it)"
            )
        ratio = volume_ratio(slot)
        low, high = TAPER_RATIO
        if not low <= ratio <= high:
            return (
                f"taper session {local(slot.start, problem.zone)} at {ratio:.0%} of the usual "
                f"volume (wanted {low:.0%}-{high:.0%})"
            )
        return None

    def encode(self, ctx: ModelContext) -> None:
        super().encode(ctx)
        by_day = ctx.by_day(SessionKind.strength)
        for race in first_race_days(ctx.problem):
            days, _ = heavy_taper_days(ctx.problem, race)
            if not days:
                continue
            # sessions done count too: a heavy taper session logged is the taper's heavy one
            heavy = [c for day in days for c in by_day.get(day, []) if c.heavy]
            short = ctx.model.new_bool_var(f"t4_heavy_{race.isoformat()}")
            ctx.model.add(short >= 1 - ctx.total(heavy))
            ctx.penalize(self._heavy_term(race), self.missing_heavy_weight, short)

    @staticmethod
    def _heavy_term(race: date) -> str:
        return f"T4 taper_heavy[{race.isoformat()}]"

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        found = super().check(problem, sessions)
        for race in first_race_days(problem):
            days, lift = heavy_taper_days(problem, race)
            if not days:
                continue
            held = {
                problem.local_day(s.start)
                for s in sessions
                if s.kind == SessionKind.strength and s.heavy
            }
            if held & set(days):
                continue
            found.append(
                Violation(
                    self.name,
                    self._heavy_term(race),
                    f"taper before the A race on {race:%a %d %b}: no heavy session from "
                    f"{days[0]:%a %d %b} to {days[-1]:%a %d %b}, though the ladder is at {lift} "
                    "(the taper cuts volume and keeps intensity: one heavy session at the "
                    "taper dose)",
                    penalty=self.missing_heavy_weight,
                    when=days[0],
                )
            )
        return found
