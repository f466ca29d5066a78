"""T1: strength sessions a week by phase (base 2-3, build 2, peak and in-season 1, race week
0-1 light, transition 1). Also asks for heavy work where the ladder has reached it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation

HEAVY_PER_WEEK = 2


def heavy_wanted(problem: Problem, week_index: int, heavy_possible: bool) -> int:
    low, _ = problem.week_list[week_index].strength_range
    return min(low, HEAVY_PER_WEEK) if heavy_possible else 0


@dataclass(frozen=True)
class T1StrengthPerWeek(Rule):
    missing_session_weight: int = 1000
    missing_heavy_weight: int = 40
    name = "T1"
    title = "strength sessions a week"
    hard = False

    def encode(self, ctx: ModelContext) -> None:
        weekly = ctx.by_week(SessionKind.strength)
        for week in ctx.problem.week_list:
            low, high = week.strength_range
            cands = weekly.get(week.index, [])
            count = ctx.total(cands)
            # the upper end of the range is a cap: never plan more than the phase asks for
            ctx.model.add(count <= high)
            if low:
                short = ctx.model.new_int_var(0, low, f"t1_short_w{week.index}")
                ctx.model.add(short >= low - count)
                ctx.penalize(
                    f"T1 strength_sessions[week {week.index + 1}]",
                    self.missing_session_weight,
                    short,
                )
            heavy = [c for c in cands if c.heavy]
            wanted = heavy_wanted(ctx.problem, week.index, bool(heavy))
            if wanted:
                short_heavy = ctx.model.new_int_var(0, wanted, f"t1_heavy_w{week.index}")
                ctx.model.add(short_heavy >= wanted - ctx.total(heavy))
                ctx.penalize(
                    f"T1 heavy_sessions[week {week.index + 1}]",
                    self.missing_heavy_weight,
                    short_heavy,
                )

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        counts = Counter(
            problem.week_of(problem.local_day(s.start)).index  # type: ignore[union-attr]
            for s in sessions
            if s.kind == SessionKind.strength and problem.week_of(problem.local_day(s.start))
        )
        found = []
        for week in problem.week_list:
            low, high = week.strength_range
            planned = counts.get(week.index, 0)
            if planned < low:
                found.append(
                    Violation(
                        self.name,
                        f"T1 strength_sessions[week {week.index + 1}]",
                        f"week {week.index + 1} ({week.phase.value}): {planned} strength "
                        f"session(s), target {low}-{high}",
                        penalty=self.missing_session_weight * (low - planned),
                        when=week.start,
                    )
                )
        return found
