"""S5: same-day strength goes before the ride, not after (Gao & Yu 2023)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.domain import SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference


@dataclass(frozen=True)
class S5StrengthBeforeRide(SlotPreference):
    weight: int = 10
    name = "S5"
    title = "same-day strength before the ride"
    term = "strength_after_ride"

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength:
            return None
        for ride in problem.rides_on(problem.day_of(slot)):
            if ride.end <= slot.start:
                return f"strength after {ride.label()!r} on the same day"
        return None
