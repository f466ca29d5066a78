"""T4: in the 14 days before an A race, strength volume cut 30-70 %, intensity kept."""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import local
from constraints.t3_deload import volume_ratio
from planner.domain import SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference

TAPER_RATIO = (0.30, 0.70)


@dataclass(frozen=True)
class T4Taper(SlotPreference):
    weight: int = 50
    name = "T4"
    title = "pre-race taper"
    term = "taper_volume"
    strength_only = True
    by_day = True

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength or not problem.in_taper(problem.day_of(slot)):
            return None
        ratio = volume_ratio(slot)
        low, high = TAPER_RATIO
        if not low <= ratio <= high:
            return (
                f"taper session {local(slot.start, problem.zone)} at {ratio:.0%} of the usual "
                f"volume (wanted {low:.0%}-{high:.0%})"
            )
        return None
