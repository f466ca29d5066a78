"""H5: no strength session on the day of a long ride or race."""

from __future__ import annotations

from dataclasses import dataclass

from planner.domain import SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H5NoStrengthOnLongDay(SlotRule):
    name = "H5"
    cost_rank = 1
    title = "no strength on long-ride and race days"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength:
            return None
        day = problem.day_of(slot)
        for ride in problem.rides_on(day):
            if problem.is_long(ride):
                return f"{day:%a %Y-%m-%d} holds {ride.label()!r}, a long ride or race"
        return None
