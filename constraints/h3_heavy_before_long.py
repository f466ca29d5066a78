"""H3: a heavy session ends at least `heavy_before_long_h` before a long ride or race starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import real_hours, utc
from planner.domain import Ride
from planner.problem import Problem, Slot
from planner.variables import SlotRule, Span, Suggestion, Variant, around


@dataclass(frozen=True)
class H3HeavyBeforeLong(SlotRule):
    heavy_before_long_h: int
    name = "H3"
    cost_rank = 3
    reads_content = False
    heavy_only = True
    title = "heavy work well before long rides and races"

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        if not slot.heavy:
            return None
        horizon = utc(slot.end) + timedelta(hours=self.heavy_before_long_h)
        for ride in problem.long_rides_between(slot.start, horizon):
            if real_hours(slot.end, ride.start) < self.heavy_before_long_h:
                return ride
        return None

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, heavy, length = variant.day, variant.heavy, variant.length
        if not heavy:
            return []
        # the ride starts at or after the session starts, less than the gap after it ends
        before = length.total_seconds() + self.heavy_before_long_h * 3600
        first, last = around(day)
        return [
            (ride.starts_at - before, ride.starts_at, False, True)
            for ride in problem.long_rides_between(first, last + timedelta(seconds=before))
        ]

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return (
            f"heavy session ends {real_hours(slot.end, ride.start):.0f} h before "
            f"{ride.label()!r} (needs {self.heavy_before_long_h} h)"
        )

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        hours = int(real_hours(slot.end, ride.start))
        if hours >= 24:  # the setting's lower bound
            return Suggestion.change("heavy_before_long_h", hours)
        return Suggestion(f"move {ride.label()!r} a day later")
