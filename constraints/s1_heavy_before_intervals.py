"""S1: heavy strength not on the day before an intervals ride."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from planner.domain import RideKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference


@dataclass(frozen=True)
class S1HeavyBeforeIntervals(SlotPreference):
    weight: int = 20
    name = "S1"
    title = "no heavy work the day before intervals"
    term = "heavy_before_intervals"

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if not slot.heavy:
            return None
        tomorrow = problem.day_of(slot) + timedelta(days=1)
        for ride in problem.rides_on(tomorrow):
            if ride.kind == RideKind.intervals:
                return f"heavy session the day before {ride.label()!r}"
        return None
