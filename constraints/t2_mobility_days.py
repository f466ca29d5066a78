"""T2: mobility on at least 3 days a week, preferably within 2 h after a ride ends.

Each mobility session carries a small cost (`T2 mobility[day]`) so the plan asks for the
target and not more; that is bookkeeping, not a preference given up. The preference is
`T2 not_after_ride[day]`: mobility on a day with a ride, not within `mobility_after_ride_h`
of its end. On a day without a ride there is nothing to follow; such sessions cost a little
more in the bookkeeping term, so that days with rides come first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from constraints._time import local
from planner.domain import Ride, Session, SessionKind
from planner.problem import Problem, Slot
from planner.variables import ModelContext, Rule, Violation


def after_ride_of(problem: Problem, slot: Slot) -> Ride | None:
    """The ride this mobility session follows within `mobility_after_ride_h` of its end."""
    return problem.ride_followed(problem.day_of(slot), slot.start.timestamp())


def not_after_ride(problem: Problem, slot: Slot) -> Ride | None:
    """The day's ride this mobility session does not follow, when it follows none of them."""
    rides = problem.rides_on(problem.day_of(slot))
    if slot.kind != SessionKind.mobility or not rides or after_ride_of(problem, slot):
        return None
    return rides[-1]


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
        problem = ctx.problem
        weekly = ctx.by_week(SessionKind.mobility)
        for week in ctx.problem.week_list:
            cands = weekly.get(week.index, [])
            count = ctx.total(cands)  # one mobility a day at most, so sessions = days
            # sessions already done count, and may alone be more: the cap is then theirs
            ctx.model.add(count <= max(self.mobility_days_max, sum(1 for c in cands if c.fixed)))
            if self.mobility_days_min:
                short = ctx.model.new_int_var(0, self.mobility_days_min, f"t2_short_w{week.index}")
                ctx.model.add(short >= self.mobility_days_min - count)
                ctx.penalize(
                    f"T2 mobility_days[week {week.index + 1}]", self.missing_day_weight, short
                )
            for cand in cands:
                # each session costs a little so the plan asks for the target, not more
                weight = self.per_session_weight
                x = ctx.x[cand.index]
                if not problem.rides_on(cand.day):
                    weight += self.not_after_ride_weight
                elif problem.ride_followed(cand.day, cand.start.timestamp()) is None:
                    ctx.penalize(
                        f"T2 not_after_ride[{cand.day.isoformat()}]", self.not_after_ride_weight, x
                    )
                ctx.penalize(f"T2 mobility[{cand.day.isoformat()}]", weight, x, bookkeeping=True)

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        days: dict[int, set] = defaultdict(set)
        for s in sessions:
            day = problem.local_day(s.start)
            week = problem.week_of(day)
            if s.kind == SessionKind.mobility and week is not None:
                days[week.index].add(day)
        found = []
        for s in sessions:
            ride = not_after_ride(problem, s)
            if ride is not None and problem.week_of(problem.local_day(s.start)) is not None:
                found.append(
                    Violation(
                        self.name,
                        f"T2 not_after_ride[{problem.local_day(s.start).isoformat()}]",
                        f"mobility {local(s.start, problem.zone)} is not within "
                        f"{problem.settings.mobility_after_ride_h} h after {ride.label()!r} "
                        f"(ends {local(ride.end, problem.zone)})",
                        penalty=self.not_after_ride_weight,
                        when=s.start,
                        ride=ride,
                    )
                )
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
