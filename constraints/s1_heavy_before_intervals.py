"""S1: heavy strength not on the day before an intervals ride."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import local, real_hours
from planner.domain import Ride, RideKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference


@dataclass(frozen=True)
class S1HeavyBeforeIntervals(SlotPreference):
    weight: int = 20
    name = "S1"
    title = "no heavy work the day before intervals"
    term = "heavy_before_intervals"
    heavy_only = True
    by_day = True

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        if not slot.heavy:
            return None
        tomorrow = problem.day_of(slot) + timedelta(days=1)
        for ride in problem.rides_on(tomorrow):
            if ride.kind == RideKind.intervals:
                return ride
        return None

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return (
            f"heavy session {local(slot.start, problem.zone)} the day before {ride.label()!r} "
            f"({local(ride.start, problem.zone)}), {real_hours(slot.end, ride.start):.0f} h "
            "between them"
        )
