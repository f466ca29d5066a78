"""H1: sessions only inside the athlete's availability windows, in their own zone, DST included."""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import exists, utc
from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H1Availability(SlotRule):
    name = "H1"
    cost_rank = 6
    title = "inside availability"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if not (exists(slot.start) and exists(slot.end)):
            return f"{slot.start:%a %Y-%m-%d %H:%M} does not exist in {problem.zone.key} (clocks go forward)"
        start, end = utc(slot.start), utc(slot.end)
        day = problem.day_of(slot)
        for opens, closes in problem.spans(day):
            if utc(opens) <= start and end <= utc(closes):
                return None
        local = slot.start.astimezone(problem.zone)
        return f"{local:%a %Y-%m-%d %H:%M} is outside the athlete's availability"
