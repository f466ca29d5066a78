"""H2: no session overlaps a ride or the buffer around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import utc
from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H2RideBuffer(SlotRule):
    ride_buffer_min: int
    name = "H2"
    cost_rank = 7
    title = "clear of rides and their buffer"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        buffer = timedelta(minutes=self.ride_buffer_min)
        day = problem.day_of(slot)
        nearby = (
            problem.rides_on(day - timedelta(days=1))
            + problem.rides_on(day)
            + problem.rides_on(day + timedelta(days=1))
        )
        for ride in nearby:
            if utc(slot.start) < utc(ride.end) + buffer and utc(ride.start) - buffer < utc(
                slot.end
            ):
                return (
                    f"overlaps {ride.label()!r} at {ride.start.astimezone(problem.zone):%H:%M} "
                    f"or its {self.ride_buffer_min} min buffer"
                )
        return None
