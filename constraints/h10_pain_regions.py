"""H10: a region in red (7 days) or with a red flag gets no exercise that loads it.

Red: no heavy exercise loading the region until its `no_heavy_until` day.
Red flag: no strength exercise loading the region at all until a coach clears it, and no
exercise of a pattern mapped to the region (domain.md, "Regions to patterns"). A red flag in
`other` maps to no pattern the planner knows, so it stops all strength work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from planner.domain import Prescription, Region, SessionKind, last_day
from planner.problem import Problem, Slot
from planner.variables import EVERY_START, SlotRule, Span, Suggestion, Variant


@dataclass(frozen=True)
class H10PainRegions(SlotRule):
    name = "H10"
    cost_rank = 2
    reads_heavy = False
    strength_only = True
    title = "no loading of a painful region"

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength:
            return None
        return self._content_breach(problem, problem.day_of(slot), slot.prescriptions)

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        day, kind, prescriptions = variant.day, variant.kind, variant.prescriptions
        # content, not time: a session's whole day is in or out
        if kind != SessionKind.strength:
            return []
        return [EVERY_START] if self._content_breach(problem, day, prescriptions) else []

    def _content_breach(
        self, problem: Problem, day: date, prescriptions: Iterable[Prescription]
    ) -> str | None:
        if not problem.state.regions:
            return None
        no_heavy = problem.state.no_heavy_regions(day)
        for item in prescriptions:
            why = self.forbids(problem, item, no_heavy)
            if why is not None:
                return why
        return None

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        if problem.flagged_regions:
            names = ", ".join(sorted(r.value for r in problem.flagged_regions))
            return Suggestion(f"the coach clears {names} once a clinician has seen it")
        days = [s.no_heavy_until for s in problem.state.regions.values() if s.no_heavy_until]
        return Suggestion(f"light sessions through {last_day(max(days))}") if days else None

    @staticmethod
    def forbids(problem: Problem, item: Prescription, no_heavy: set[Region]) -> str | None:
        """Why H10 keeps this exercise out of a strength session on a day whose no-heavy
        regions are `no_heavy`, or None (planner.safety asks the same per exercise)."""
        flagged = problem.flagged_regions
        if item.pattern in problem.blocked_patterns:
            if Region.other in flagged:
                return (
                    f"{item.name} is strength work while a red flag outside the mapped "
                    "regions (other) awaits clearance"
                )
            return f"{item.name} trains {item.pattern.value}, a pattern of a red-flagged region"
        loads = set(item.regions)
        if loads & flagged:
            names = ", ".join(sorted(r.value for r in loads & flagged))
            return f"{item.name} loads {names}, which has a red flag awaiting clearance"
        if item.heavy and loads & no_heavy:
            names = ", ".join(sorted(r.value for r in loads & no_heavy))
            return f"{item.name} is heavy work on {names}, which is in red"
        return None
