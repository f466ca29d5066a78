"""H1: sessions only inside the athlete's availability windows, in their own zone, DST included."""

from __future__ import annotations

from dataclasses import dataclass

from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H1Availability(SlotRule):
    name = "H1"
    title = "inside availability"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        day = problem.local_day(slot.start)
        for opens, closes in problem.spans(day):
            if opens <= slot.start and slot.end <= closes:
                return None
        local = slot.start.astimezone(problem.zone)
        return f"{local:%a %Y-%m-%d %H:%M} is outside the athlete's availability"
