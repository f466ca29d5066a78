"""H1: sessions only inside the athlete's availability windows, in their own zone, DST included.

One exception (domain.md Revision 2): mobility right after a ride is part of the ride's
cool-down, so it may start outside the windows when it starts within `COOL_DOWN` of the
ride's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from math import inf

from constraints._time import exists, utc
from planner.domain import WEEKDAYS, Ride, SessionKind
from planner.problem import Problem, Slot
from planner.variables import EVERY_START, SlotRule, Span, Suggestion, Variant

COOL_DOWN = timedelta(minutes=30)


def cool_down_of(problem: Problem, slot: Slot) -> Ride | None:
    """The ride whose cool-down this mobility session is: it starts within 30 min of its end."""
    if slot.kind != SessionKind.mobility:
        return None
    start = utc(slot.start)
    # a ride lasts at most a day: those that can end in the half hour before `start`
    for ride in problem.rides_between(start - timedelta(hours=24) - COOL_DOWN, start):
        if utc(ride.end) <= start <= utc(ride.end) + COOL_DOWN:
            return ride
    return None


@dataclass(frozen=True)
class H1Availability(SlotRule):
    name = "H1"
    cost_rank = 6
    reads_heavy = False
    reads_content = False
    window_bound = True
    title = "inside availability"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if not (exists(slot.start) and exists(slot.end)):
            return f"{slot.start:%a %Y-%m-%d %H:%M} does not exist in {problem.zone.key} (clocks go forward)"
        start, end = utc(slot.start), utc(slot.end)
        day = problem.day_of(slot)
        for opens, closes in problem.spans(day):
            if utc(opens) <= start and end <= utc(closes):
                return None
        if cool_down_of(problem, slot) is not None:
            return None
        local = slot.start.astimezone(problem.zone)
        return f"{local:%a %Y-%m-%d %H:%M} is outside the athlete's availability"

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, kind, length = variant.day, variant.kind, variant.length
        # the starts allowed: inside a window with the whole session, or a cool-down
        seconds = length.total_seconds()
        allowed = [(opens, closes - seconds) for opens, closes in problem.windows(day)]
        if kind == SessionKind.mobility:
            for ride in problem.rides_around(day):
                ends = ride.ends_at
                allowed.append((ends, ends + COOL_DOWN.total_seconds()))
        allowed = sorted((low, high) for low, high in allowed if low <= high)
        if not allowed:
            return [EVERY_START]
        # the gaps between the allowed stretches, ends excluded (an allowed start may sit there)
        blocked: list[Span] = []
        edge = -inf
        for low, high in allowed:
            if low > edge:
                blocked.append((edge, low, False, False))
            edge = max(edge, high)
        blocked.append((edge, inf, False, False))
        return blocked

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        start = slot.start.astimezone(problem.zone)
        end = slot.end.astimezone(problem.zone)
        return Suggestion(
            f"a window on {WEEKDAYS[start.weekday()].capitalize()} {start:%d %b} "
            f"from {start:%H:%M} to {end:%H:%M}"
        )
