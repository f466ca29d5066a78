"""T2: mobility on at least 3 days a week, preferably within 2 h after a ride ends."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation


@dataclass(frozen=True)
class T2MobilityDays(Rule):
    mobility_days_min: int
    mobility_days_max: int
    missing_day_weight: int = 200
    per_session_weight: int = 1
    not_after_ride_weight: int = 3
    name = "T2"
    title = "mobility days a week"
    hard = False

    def encode(self, ctx: ModelContext) -> None:
        weekly = ctx.by_week(SessionKind.mobility)
        for week in ctx.problem.week_list:
            cands = weekly.get(week.index, [])
            count = ctx.total(cands)  # one mobility a day at most, so sessions = days
            ctx.model.add(count <= self.mobility_days_max)
            if self.mobility_days_min:
                short = ctx.model.new_int_var(0, self.mobility_days_min, f"t2_short_w{week.index}")
                ctx.model.add(short >= self.mobility_days_min - count)
                ctx.penalize(
                    f"T2 mobility_days[week {week.index + 1}]", self.missing_day_weight, short
                )
            for cand in cands:
                # each session costs a little so the plan asks for the target, not more
                weight = self.per_session_weight
                if cand.after_ride is None:
                    weight += self.not_after_ride_weight
                ctx.penalize(f"T2 mobility[{cand.day.isoformat()}]", weight, ctx.x[cand.index])

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        days: dict[int, set] = defaultdict(set)
        for s in sessions:
            day = problem.local_day(s.start)
            week = problem.week_of(day)
            if s.kind == SessionKind.mobility and week is not None:
                days[week.index].add(day)
        found = []
        for week in problem.week_list:
            planned = len(days.get(week.index, ()))
            if planned < self.mobility_days_min:
                found.append(
                    Violation(
                        self.name,
                        f"T2 mobility_days[week {week.index + 1}]",
                        f"week {week.index + 1}: mobility on {planned} day(s), target "
                        f"{self.mobility_days_min}",
                        penalty=self.missing_day_weight * (self.mobility_days_min - planned),
                        when=week.start,
                    )
                )
        return found
