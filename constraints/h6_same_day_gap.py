"""H6: strength and a ride on the same day are at least `same_day_gap_h` apart."""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import real_hours, utc
from planner.domain import Ride, SessionKind
from planner.problem import Problem, Slot
from planner.variables import SlotRule, Span, Suggestion, Variant


@dataclass(frozen=True)
class H6SameDayGap(SlotRule):
    same_day_gap_h: int
    name = "H6"
    cost_rank = 4
    reads_heavy = False
    reads_content = False
    strength_only = True
    title = "same-day strength and ride kept apart"

    def _closest(self, problem: Problem, slot: Slot) -> tuple[Ride, float] | None:
        if slot.kind != SessionKind.strength:
            return None
        for ride in problem.rides_on(problem.day_of(slot)):
            if utc(ride.start) >= utc(slot.start):
                gap = real_hours(slot.end, ride.start)
            else:
                gap = real_hours(ride.end, slot.start)
            if gap < self.same_day_gap_h:
                return ride, gap
        return None

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, kind, length = variant.day, variant.kind, variant.length
        if kind != SessionKind.strength:
            return []
        # a ride of the day starting less than the gap after the session ends, or ending less
        # than the gap before it starts (overlaps included)
        gap = self.same_day_gap_h * 3600
        before = gap + length.total_seconds()
        return [
            (ride.starts_at - before, ride.ends_at + gap, False, False)
            for ride in problem.rides_on(day)
        ]

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        found = self._closest(problem, slot)
        return found[0] if found else None

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        found = self._closest(problem, slot)
        if found is None:
            return None
        ride, gap = found
        return (
            f"only {max(gap, 0):.1f} h from {ride.label()!r} on the same day "
            f"(needs {self.same_day_gap_h} h)"
        )

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        found = self._closest(problem, slot)
        if found is None:
            return None
        ride, gap = found
        if int(gap) >= 3:  # the setting's lower bound
            return Suggestion.change("same_day_gap_h", int(gap))
        return Suggestion(f"move {ride.label()!r} to another day")
