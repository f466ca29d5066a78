"""H4: a heavy session starts at least `heavy_after_long_h` after a long ride or race ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import real_hours, utc
from planner.domain import Ride
from planner.problem import Problem, Slot
from planner.variables import SlotRule, Span, Suggestion, Variant, around


@dataclass(frozen=True)
class H4HeavyAfterLong(SlotRule):
    heavy_after_long_h: int
    name = "H4"
    cost_rank = 3
    reads_content = False
    heavy_only = True
    title = "heavy work only once long rides are well behind"

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        if not slot.heavy:
            return None
        # a ride can last up to a day, so look back that far beyond the gap
        earliest = utc(slot.start) - timedelta(hours=self.heavy_after_long_h + 24)
        for ride in problem.long_rides_between(earliest, slot.start):
            if real_hours(ride.end, slot.start) < self.heavy_after_long_h:
                return ride
        return None

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, heavy = variant.day, variant.heavy
        if not heavy:
            return []
        # the ride started before the session (and at most a day and the gap before it) and
        # ended less than the gap before the session starts
        gap = self.heavy_after_long_h * 3600
        first, last = around(day)
        spans: list[Span] = []
        for ride in problem.long_rides_between(first - timedelta(seconds=gap + 86400), last):
            starts, ends = ride.starts_at, ride.ends_at
            reach = starts + gap + 86400
            if ends + gap <= reach:
                spans.append((starts, ends + gap, False, False))
            else:
                spans.append((starts, reach, False, True))
        return spans

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return (
            f"heavy session starts {real_hours(ride.end, slot.start):.0f} h after "
            f"{ride.label()!r} ends (needs {self.heavy_after_long_h} h)"
        )

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        hours = int(real_hours(ride.end, slot.start))
        if hours >= 12:  # the setting's lower bound
            return Suggestion.change("heavy_after_long_h", hours)
        return Suggestion(f"move {ride.label()!r} a day earlier")
