"""S5: same-day strength goes before the ride, not after (Gao & Yu 2023)."""

from __future__ import annotations

from dataclasses import dataclass
from math import inf

from constraints._time import local, real_hours
from planner.domain import Ride, SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference, Span, Variant


@dataclass(frozen=True)
class S5StrengthBeforeRide(SlotPreference):
    weight: int = 10
    name = "S5"
    title = "same-day strength before the ride"
    term = "strength_after_ride"
    strength_only = True

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        if slot.kind != SessionKind.strength:
            return None
        for ride in problem.rides_on(problem.day_of(slot)):
            if ride.end <= slot.start:
                return ride
        return None

    def priced_starts(self, problem: Problem, variant: Variant) -> list[Span] | None:
        if variant.kind != SessionKind.strength:
            return []
        # from the first end of a ride touching the day on, some ride ended at or before
        ends = [ride.ends_at for ride in problem.rides_on(variant.day)]
        return [(min(ends), inf, True, False)] if ends else []

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return (
            f"strength {local(slot.start, problem.zone)} comes "
            f"{real_hours(ride.end, slot.start):.1f} h after {ride.label()!r} on the same day "
            "instead of before it"
        )
