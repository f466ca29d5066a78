"""H4: a heavy session starts at least `heavy_after_long_h` after a long ride or race ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import real_hours, utc
from planner.problem import Problem, Slot
from planner.variables import SlotRule


@dataclass(frozen=True)
class H4HeavyAfterLong(SlotRule):
    heavy_after_long_h: int
    name = "H4"
    cost_rank = 3
    title = "heavy work only once long rides are well behind"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if not slot.heavy:
            return None
        # a ride can last up to a day, so look back that far beyond the gap
        earliest = utc(slot.start) - timedelta(hours=self.heavy_after_long_h + 24)
        for ride in problem.rides_between(earliest, slot.start):
            if problem.is_long(ride) and real_hours(ride.end, slot.start) < self.heavy_after_long_h:
                return (
                    f"heavy session starts {real_hours(ride.end, slot.start):.0f} h after "
                    f"{ride.label()!r} ends (needs {self.heavy_after_long_h} h)"
                )
        return None
