"""T4: in the 14 days before an A race, strength volume cut 30-70 %, intensity kept.

Intensity kept: an athlete on a heavy rung does the taper's strength as a heavy session at the
taper dose (1-2 x 3 at the same load), not as a light one that swaps the lift for a lighter
rung; a light taper session costs the same as a volume miss where the heavy variant could be
built that day and H8 allows heavy work (not in the last days before the race).
"""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import local
from constraints.h8_race_taper import race_keeps_heavy_out
from constraints.t1_strength_per_week import content_of
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
        day = problem.day_of(slot)
        if (
            not slot.heavy
            and content_of(problem).strength(day, True) is not None
            and not race_keeps_heavy_out(problem, day)
        ):
            return (
                f"taper session {local(slot.start, problem.zone)} is light: the heavy lift's "
                "intensity is not kept (a heavy session at the taper dose keeps it)"
            )
        ratio = volume_ratio(slot)
        low, high = TAPER_RATIO
        if not low <= ratio <= high:
            return (
                f"taper session {local(slot.start, problem.zone)} at {ratio:.0%} of the usual "
                f"volume (wanted {low:.0%}-{high:.0%})"
            )
        return None
