"""H2: no session overlaps a ride or the buffer around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import utc
from planner.domain import Ride
from planner.problem import Problem, Slot
from planner.variables import SlotRule, Span, Suggestion, Variant


@dataclass(frozen=True)
class H2RideBuffer(SlotRule):
    ride_buffer_min: int
    name = "H2"
    cost_rank = 7
    reads_heavy = False
    reads_content = False
    title = "clear of rides and their buffer"

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        buffer = timedelta(minutes=self.ride_buffer_min)
        start, end = utc(slot.start), utc(slot.end)
        for ride in problem.rides_around(problem.day_of(slot)):
            if start < utc(ride.end) + buffer and utc(ride.start) - buffer < end:
                return ride
        return None

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        return (
            f"overlaps {ride.label()!r} at {ride.start.astimezone(problem.zone):%H:%M} "
            f"or its {self.ride_buffer_min} min buffer"
        )

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, length = variant.day, variant.length
        # start < ride end + buffer and ride start - buffer < start + length
        before = self.ride_buffer_min * 60 + length.total_seconds()
        after = self.ride_buffer_min * 60
        return [
            (ride.starts_at - before, ride.ends_at + after, False, False)
            for ride in problem.rides_around(day)
        ]

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        if utc(slot.end) <= utc(ride.start):
            minutes = (utc(ride.start) - utc(slot.end)).total_seconds() // 60
        elif utc(ride.end) <= utc(slot.start):
            minutes = (utc(slot.start) - utc(ride.end)).total_seconds() // 60
        else:
            return None  # the session sits on the ride itself: no buffer makes room
        return Suggestion.change("ride_buffer_min", int(minutes))
