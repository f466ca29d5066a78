"""S3: strength sessions spread over the week, not bunched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import local
from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation


def min_spacing_days(problem: Problem, week_index: int) -> int:
    """Two sessions a week are best 3+ days apart; three or one leave nothing to spread."""
    low, _ = problem.week_list[week_index].strength_range
    return 7 // low if low >= 2 else 0


@dataclass(frozen=True)
class S3Spread(Rule):
    weight: int = 5
    name = "S3"
    title = "sessions spread over the week"
    hard = False

    def encode(self, ctx: ModelContext) -> None:
        # a day with a pinned session has one for certain (H7 keeps others off it); counted as
        # one even where history put two there, so the penalty stays a yes or no
        by_day = ctx.by_day(SessionKind.strength)
        pinned = any(c.fixed for cands in by_day.values() for c in cands)
        per_day = {
            day: 1 if pinned and any(c.fixed for c in cands) else ctx.total(cands)
            for day, cands in by_day.items()
        }
        for day, today in per_day.items():
            week = ctx.problem.week_of(day)
            spacing = min_spacing_days(ctx.problem, week.index) if week else 0
            for k in range(1, spacing):
                later = per_day.get(day + timedelta(days=k))
                if later is None:
                    continue
                if isinstance(today, int) and isinstance(later, int):
                    continue  # both pinned: nothing to choose
                both = ctx.model.new_bool_var(f"s3_{day}_{k}")
                ctx.model.add(both >= today + later - 1)
                ctx.penalize(f"S3 bunched[{day.isoformat()}+{k}d]", self.weight, both)

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        starts = {}
        for s in sorted(sessions, key=lambda s: s.start.timestamp()):
            if s.kind == SessionKind.strength:
                starts.setdefault(problem.local_day(s.start), s.start)
        days = sorted(starts)
        found = []
        for i, day in enumerate(days):
            week = problem.week_of(day)
            spacing = min_spacing_days(problem, week.index) if week else 0
            for later in days[i + 1 :]:
                k = (later - day).days
                if 1 <= k < spacing:
                    found.append(
                        Violation(
                            self.name,
                            f"S3 bunched[{day.isoformat()}+{k}d]",
                            f"strength {local(starts[day], problem.zone)} and "
                            f"{local(starts[later], problem.zone)}, only {k} day(s) apart "
                            f"({spacing}+ wanted)",
                            penalty=self.weight,
                            when=starts[later],
                        )
                    )
        return found
