"""H8: no heavy session within `taper_days_A` before an A race (`taper_days_B` before a B race),
and no strength session at all ending within `clear_before_B_h` (48 h) of a B race's start or
`clear_before_C_h` (24 h) of a C race's, or of a race with no priority (domain.md Revision 2,
race weeks).

Mobility stays allowed before B and C races: a short stretch leaves nothing to recover from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from constraints._time import real_hours, utc
from planner.domain import Priority, Ride, RideKind, SessionKind
from planner.problem import Problem, Slot
from planner.variables import EVERY_START, SlotRule, Span, Suggestion, Variant


@dataclass(frozen=True)
class H8RaceTaper(SlotRule):
    taper_days_A: int
    taper_days_B: int
    clear_before_B_h: int = 48
    clear_before_C_h: int = 24
    name = "H8"
    cost_rank = 1
    reads_content = False
    strength_only = True
    title = (
        "no heavy work in the days before A and B races, no strength just before B and C races "
        "(and races with no priority)"
    )

    def _clear_h(self, ride: Ride) -> int:
        """Hours kept clear of strength before the race: a race with no priority as a C
        race's (a coach's review saw loaded strength 23.8 h before one, closer than a C race
        allows); an A race none (its race week holds at most one light session, T1)."""
        if ride.kind != RideKind.race or ride.priority == Priority.A:
            return 0
        if ride.priority == Priority.B:
            return self.clear_before_B_h
        return self.clear_before_C_h

    def _too_close_race(self, problem: Problem, slot: Slot) -> tuple[Ride, float, int] | None:
        """The B or C race that starts within its clear hours after this strength session ends."""
        if slot.kind != SessionKind.strength:
            return None
        if not problem.race_rides:
            return None
        ends = utc(slot.end)
        for ride in problem.race_rides:
            needed = self._clear_h(ride)
            # a race that started before the session ended is H2/H5's business, not this rule's
            if not needed or utc(ride.start) < ends:
                continue
            hours = real_hours(ends, ride.start)
            if hours < needed:
                return ride, hours, needed
        return None

    def _taper(self, problem: Problem, slot: Slot) -> tuple[str, int, int, object] | None:
        if not slot.heavy:
            return None
        return self._taper_on(problem, problem.day_of(slot))

    def _taper_on(self, problem: Problem, day: date) -> tuple[str, int, int, object] | None:
        """The A or B race whose heavy-free days before it hold `day`."""
        for races, days, label in (
            (problem.a_races, self.taper_days_A, "A"),
            (problem.b_races, self.taper_days_B, "B"),
        ):
            for race in races:
                if 0 <= (race - day).days <= days:
                    return label, (race - day).days, days, race
        return None

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, kind, heavy, length = variant.day, variant.kind, variant.heavy, variant.length
        if kind != SessionKind.strength:
            return []
        if heavy and self._taper_on(problem, day) is not None:
            return [EVERY_START]
        # the session ends at or before the race starts, less than its clear hours before it
        spans: list[Span] = []
        for ride in problem.race_rides:
            needed = self._clear_h(ride)
            if needed:
                latest = ride.starts_at - length.total_seconds()
                spans.append((latest - needed * 3600, latest, False, True))
        return spans

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        taper = self._taper(problem, slot)
        if taper is not None:
            label, before, days, race = taper
            return f"{before} days before the {label} race on {race} (needs more than {days})"
        close = self._too_close_race(problem, slot)
        if close is not None:
            ride, hours, needed = close
            kind = f"{ride.priority} race" if ride.priority else "race with no priority (as a C)"
            return (
                f"strength ends {hours:.0f} h before the {kind} {ride.label()!r} "
                f"(nothing in the {needed} h before it)"
            )
        return None

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        close = self._too_close_race(problem, slot)
        return close[0] if close else None

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        taper = self._taper(problem, slot)
        if taper is not None:
            label, before, _, _ = taper
            if before >= 1 and (label == "B" or before >= 3):
                return Suggestion.change(f"taper_days_{label}", before - 1)
            return Suggestion("a light session instead of a heavy one")
        close = self._too_close_race(problem, slot)
        if close is not None:
            ride, hours, _ = close
            if hours >= 0:
                # a race with no priority is kept clear by the C race's setting
                return Suggestion.change(f"clear_before_{ride.priority or 'C'}_h", int(hours))
        return None


def race_keeps_heavy_out(problem: Problem, day: date) -> bool:
    """Whether H8 keeps heavy work out of `day`: the heavy-free days before an A or B race."""
    settings = problem.settings
    rule = H8RaceTaper(taper_days_A=settings.taper_days_A, taper_days_B=settings.taper_days_B)
    return rule._taper_on(problem, day) is not None
