"""H5: no strength session on the day of a long ride or race."""

from __future__ import annotations

from dataclasses import dataclass

from planner.domain import Ride, RideKind, SessionKind
from planner.problem import Problem, Slot
from planner.variables import EVERY_START, SlotRule, Span, Suggestion, Variant


@dataclass(frozen=True)
class H5NoStrengthOnLongDay(SlotRule):
    name = "H5"
    cost_rank = 1
    reads_heavy = False
    reads_content = False
    strength_only = True
    title = "no strength on long-ride and race days"

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        if slot.kind != SessionKind.strength:
            return None
        return problem.long_ride_on(problem.day_of(slot))

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, kind = variant.day, variant.kind
        if kind != SessionKind.strength or problem.long_ride_on(day) is None:
            return []
        return [EVERY_START]

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return f"{problem.day_of(slot):%a %Y-%m-%d} holds {ride.label()!r}, a long ride or race"

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        if ride.kind not in (RideKind.long, RideKind.race) and ride.duration_min < 600:
            # long only by its length
            return Suggestion.change("long_ride_min", ride.duration_min + 1)
        return Suggestion(f"move {ride.label()!r} to another day")
