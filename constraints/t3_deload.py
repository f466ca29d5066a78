"""T3: 3:1 loading; in the deload week each strength session carries about half the volume."""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import local
from planner.content import full_volume
from planner.domain import SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotPreference

DELOAD_MAX_RATIO = 0.67  # "about half", allowing for whole sets


def volume_ratio(slot: Slot) -> float:
    full = sum(full_volume(p) for p in slot.prescriptions)
    done = sum(p.volume() for p in slot.prescriptions)
    return done / full if full else 0.0


@dataclass(frozen=True)
class T3Deload(SlotPreference):
    weight: int = 50
    name = "T3"
    title = "deload week at about half volume"
    term = "deload_volume"
    strength_only = True
    by_day = True

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength:
            return None
        week = problem.week_of(problem.day_of(slot))
        if week is None or not week.deload:
            return None
        ratio = volume_ratio(slot)
        if ratio > DELOAD_MAX_RATIO:
            return (
                f"deload week session {local(slot.start, problem.zone)} at {ratio:.0%} of the "
                f"usual volume (wanted at most {DELOAD_MAX_RATIO:.0%})"
            )
        return None
