"""H9: the first Nordic curl or first deadlift ends at least `first_exposure_gap_h` before any key ride.

A first eccentric-heavy bout leaves strength down for about three days (Coratella 2025), so
the first session holding an exercise the athlete has never done must not sit in front of a
key ride. Later sessions of the same exercise are free of this part. Where domain.md is silent,
as a coach would have it: nothing new in the 14-day taper before an A race or in the week of a
B race (the soreness and the strength lost would land on the days meant for freshness); the
heavy sessions there hold the rung below (a stand-in) and the first exposure waits.

The Nordic's build-up (domain.md's knee-flexion ladder, Mjolsnes 2004: 2 x 5 once a week to
start) is part of the same care: while a lift is in its build-up (BUILD_UP_SESSIONS logged
sessions, the first included), no two sessions holding it start within 7 days of each other
(by local day; the sessions before the plan's start count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from constraints._time import local, real_hours, utc
from planner.content import B_RACE_WEEK_DAYS
from planner.domain import Ride, Session, SessionKind
from planner.phases import TAPER_DAYS
from planner.problem import FIRST_EXPOSURE_EXERCISES, Problem, Slot
from planner.variables import Candidate, ModelContext, Rule, Suggestion, Violation

BUILD_UP_DAYS = 7  # once a week: days between two sessions holding a lift in its build-up

__all__ = ["FIRST_EXPOSURE_EXERCISES", "H9FirstExposure"]


@dataclass(frozen=True)
class H9FirstExposure(Rule):
    first_exposure_gap_h: int
    name = "H9"
    title = "first Nordic or deadlift well before key rides; the Nordic's build-up once a week"
    hard = True

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        """The key ride that starts too soon after this session ends, if any."""
        horizon = utc(slot.end) + timedelta(hours=self.first_exposure_gap_h)
        for ride in problem.rides_between(slot.start, horizon):
            if (
                problem.is_key(ride)
                and real_hours(slot.end, ride.start) < self.first_exposure_gap_h
            ):
                return ride
        return None

    def too_close(self, problem: Problem, slot: Slot) -> str | None:
        """Why a session may not be the first to hold a lift never done: too close to a key
        ride, or in a race's days of freshness (an A race's taper, a B race's week)."""
        ride = self.concerns(problem, slot)
        if ride is None:
            return self.race_days(problem, problem.day_of(slot))
        return (
            f"first exposure ends {real_hours(slot.end, ride.start):.0f} h before key ride "
            f"{ride.label()!r} (needs {self.first_exposure_gap_h} h)"
        )

    @staticmethod
    def race_days(problem: Problem, day: date) -> str | None:
        """Why `day` is no day for a first exposure: the taper before an A race, or the week
        of a B race (B_RACE_WEEK_DAYS, as the halved volume), or None."""
        for race in problem.a_races:
            if race - timedelta(days=TAPER_DAYS) <= day < race:
                return f"first exposure in the taper before the A race on {race.isoformat()}"
        for race in problem.b_races:
            if 0 <= (race - day).days < B_RACE_WEEK_DAYS:
                return f"first exposure in the week of the B race on {race.isoformat()}"
        return None

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        ride = self.concerns(problem, slot)
        if ride is None:
            return None
        hours = int(real_hours(slot.end, ride.start))
        if hours >= 48:  # the setting's lower bound
            return Suggestion.change("first_exposure_gap_h", hours)
        return Suggestion(f"an easy ride instead of {ride.label()!r} in one week")

    def new_exercises(self, problem: Problem) -> list[str]:
        return list(problem.new_exposures)

    def encode(self, ctx: ModelContext) -> None:
        for exercise in self.new_exercises(ctx.problem):
            holders = self._holders(ctx, exercise)
            earlier_any = None  # literal: some earlier holder is picked
            for cand in holders:
                x = ctx.x[cand.index]
                # a pinned holder (done, or context before the start) is not the model's to undo
                if not cand.fixed and self.too_close(ctx.problem, cand) is not None:
                    if earlier_any is None:
                        ctx.add_hard(self.name, ctx.model.add(x == 0))
                    else:
                        ctx.add_hard(self.name, ctx.model.add_implication(x, earlier_any))
                nxt = ctx.model.new_bool_var(f"h9_{exercise}_{cand.index}")
                members = [x] if earlier_any is None else [x, earlier_any]
                ctx.model.add_max_equality(nxt, members)
                earlier_any = nxt
        # the build-up: no two sessions holding the lift within 7 days (sessions before the
        # start included: a Nordic on Sunday holds the new plan's first days)
        for holders in self._weekly_holders(ctx):
            once = ctx.at_most_one(holders)
            if once is not None:
                ctx.add_hard(self.name, once)

    @staticmethod
    def _holders(ctx: ModelContext, exercise: str) -> list[Candidate]:
        """The live strength candidates holding `exercise`, in order (only strength holds it)."""
        # the candidates of one day and variant share one prescriptions tuple: look once
        holds: dict[int, bool] = {}
        holders: list[Candidate] = []
        for cand in ctx.live(SessionKind.strength):
            held = holds.get(id(cand.prescriptions))
            if held is None:
                held = any(p.exercise_id == exercise for p in cand.prescriptions)
                holds[id(cand.prescriptions)] = held
            if held:
                holders.append(cand)
        return holders

    def _weekly_holders(self, ctx: ModelContext) -> list[list[Candidate]]:
        """Per lift in its build-up, each group of candidates holding it that start within 7
        days of the group's first day (every pair closer than 7 days shares a group)."""
        found: list[list[Candidate]] = []
        for exercise in sorted(ctx.problem.building_up):
            by_day: dict[date, list[Candidate]] = {}  # in order: candidates run by instant
            for cand in self._holders(ctx, exercise):
                by_day.setdefault(cand.day, []).append(cand)
            for first in sorted(by_day):
                group = [
                    c
                    for offset in range(BUILD_UP_DAYS)
                    for c in by_day.get(first + timedelta(days=offset), ())
                ]
                if len(group) > 1:
                    found.append(group)
        return found

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        found = []
        ordered = sorted(sessions, key=lambda s: utc(s.start))
        for exercise in self.new_exercises(problem):
            first = next((s for s in ordered if exercise in s.exercise_ids()), None)
            if first is None:
                continue
            why = self.too_close(problem, first)
            if why:
                found.append(
                    Violation(
                        self.name,
                        f"H9[{exercise}]",
                        f"{exercise}: {why}",
                        when=first.start,
                        ride=self.concerns(problem, first),
                    )
                )
        for exercise in sorted(problem.building_up):
            holders = [s for s in ordered if exercise in s.exercise_ids()]
            for earlier, later in zip(holders, holders[1:], strict=False):
                apart = (problem.local_day(later.start) - problem.local_day(earlier.start)).days
                if apart < BUILD_UP_DAYS:
                    found.append(
                        Violation(
                            self.name,
                            f"H9[{exercise} build-up, {later.start.isoformat()}]",
                            f"{exercise} on {local(later.start, problem.zone)}, {apart} day(s) "
                            f"after {local(earlier.start, problem.zone)}, while it builds up "
                            f"(once a week: {BUILD_UP_DAYS} days apart)",
                            when=later.start,
                        )
                    )
        return found
