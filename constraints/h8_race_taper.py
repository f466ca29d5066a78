"""H8: no heavy session within `taper_days_A` before an A race (`taper_days_B` before a B race)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H8RaceTaper(SlotRule):
    taper_days_A: int
    taper_days_B: int
    name = "H8"
    cost_rank = 1
    title = "no heavy work in the days before A and B races"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if not slot.heavy:
            return None
        day = problem.day_of(slot)
        for races, days, label in (
            (problem.a_races, self.taper_days_A, "A"),
            (problem.b_races, self.taper_days_B, "B"),
        ):
            for race in races:
                if 0 <= (race - day).days <= days:
                    return f"{(race - day).days} days before the {label} race on {race} (needs more than {days})"
        return None
