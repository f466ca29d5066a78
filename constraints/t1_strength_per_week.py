"""T1: strength sessions a week by phase (base 2-3, build 2, peak and in-season 1, race week
0-1 light, transition 1), with a heavy part (domain.md Revision 2).

The heavy part: once a ladder sits on a heavy rung, a week that allows heavy work (not a
deload, taper, race or transition week) wants at least one heavy session, and as many as the
phase's minimum up to `HEAVY_PER_WEEK` (base and build: both weekly sessions heavy, the
maximal-strength blocks of Rønnestad 2010; peak and in-season: the one maintenance session).
Each heavy session short costs `missing_heavy_weight`. Heavy sessions hold
the ladder's own lift; one that holds the rung below a never-done first-exposure lift (H9)
in its place is a stand-in, priced so that the first exposure is placed as early as the
calendar allows and the lift is used from then on. While a lift builds up (once a week, H9),
a stand-in for it is free in a week another session holds it, and priced in a week none does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from constraints._time import local
from planner.content import ContentBuilder
from planner.domain import Prescription, Session, SessionKind
from planner.phases import LIGHT_ONLY, Week
from planner.problem import Problem, Slot
from planner.variables import Candidate, ModelContext, Rule, Violation


def content_of(problem: Problem) -> ContentBuilder:
    """One ContentBuilder per problem, shared by the planner and both faces of this rule: what
    a session would hold is built once per day and variant, not once per question."""
    builder = problem.__dict__.get("_content")
    if not isinstance(builder, ContentBuilder):
        builder = ContentBuilder(problem)
        problem.__dict__["_content"] = builder
    return builder


HEAVY_PER_WEEK = 2


def heavy_wanted(problem: Problem, week: Week, content: ContentBuilder) -> int:
    """Heavy sessions the week wants: 0 unless it allows heavy work and a ladder is on a heavy
    rung, else the phase's minimum of sessions (at least one), at most HEAVY_PER_WEEK; one in
    a week with a B race.

    A week over when the plan is (re)made wants none: the ladder it would be judged by is
    today's, not the one its sessions were planned on (a coach's sign-off of the Romanian
    deadlift gave weeks already gone 'heavy 0, 2 wanted' misses)."""
    if problem.now is not None and week.end <= problem.local_day(problem.now):
        return 0
    if not heavy_allowed(problem, week) or not heavy_on_offer(problem, week, content):
        return 0
    if any(week.start <= race < week.end for race in problem.b_races):
        return 1  # a B-race week's volume is about half (domain.md Revision 2): one heavy
    low, _ = week.strength_range
    return max(1, min(low, HEAVY_PER_WEEK))


# a week is a taper week when this many of its days lie in a taper (T4 then wants its heavy
# session): one taper day at the end of a peak week took its heavy target away (a coach's review)
TAPER_WEEK_DAYS = 4


def heavy_allowed(problem: Problem, week: Week) -> bool:
    """Not a deload, taper, race or transition week."""
    if week.phase in LIGHT_ONLY or week.deload:
        return False
    taper = sum(problem.in_taper(week.start + timedelta(days=i)) for i in range(7))
    return taper < TAPER_WEEK_DAYS


def heavy_on_offer(problem: Problem, week: Week, content: ContentBuilder) -> str | None:
    """The heavy lift the athlete's ladders hold in this week, or None when none is on a heavy
    rung (or pain keeps heavy work out all week)."""
    for offset in range(7):
        built = content.strength(week.start + timedelta(days=offset), True)
        if built is not None:
            return next((p.name for p in built[0] if p.heavy), None)
    return None


def pain_in_the_way(problem: Problem, week: Week, content: ContentBuilder) -> str:
    """The week's days pain keeps its heavy lift out of, in words ("; heavy work loading the
    hamstring is out through Wed 06 Jan: red or awaiting clearance"), or "": a miss explained
    by H7's gap alone hid the red hamstring that took the first days of the week (a coach's
    review). Only days with no heavy lift on offer count, and only regions the week's heavy
    lifts load are named: a red knee keeps no Romanian deadlift out."""
    days = [week.start + timedelta(days=offset) for offset in range(7)]
    heavy_on = {
        day: [p for p in built[0] if p.heavy] if (built := content.strength(day, True)) else []
        for day in days
    }
    # the regions the week's heavy lift loads where it is on offer; the days it is not, pain
    # in one of those regions is why
    loaded = {region for lifts in heavy_on.values() for p in lifts for region in p.regions}
    held = [
        (day, problem.state.no_heavy_regions(day) & loaded) for day in days if not heavy_on[day]
    ]
    held = [(day, regions) for day, regions in held if regions]
    if not held:
        return ""
    last = held[-1][0]
    regions = sorted({r.value.replace("_", " ") for _, found in held for r in found})
    span = "all week" if len(held) == 7 else f"through {last:%a %d %b}"
    return (
        f"; heavy work loading the {' and '.join(regions)} is out {span}: red or awaiting clearance"
    )


def stand_in_for(problem: Problem, slot: Slot, content: ContentBuilder) -> list[Prescription]:
    """The stand-in lifts (never done, or in their build-up) this heavy session leaves out for
    a lower rung."""
    if slot.kind != SessionKind.strength or not slot.heavy or not problem.stand_in_lifts:
        return []
    built = content.strength(problem.day_of(slot), True)
    if built is None:
        return []
    wanted = [p for p in built[0] if p.exercise_id in problem.stand_in_lifts]
    held = {p.exercise_id for p in slot.prescriptions}
    if not wanted or any(p.exercise_id in held for p in wanted):
        return []
    return wanted


def excused_by_build_up(
    problem: Problem, missing: list[Prescription], week_holds: set[str]
) -> bool:
    """A stand-in costs nothing when each lift it leaves out is in its build-up and another
    session of its week holds it: the build-up wants it once a week (H9), not in every session."""
    return all(
        p.exercise_id in problem.building_up and p.exercise_id in week_holds for p in missing
    )


@dataclass(frozen=True)
class T1StrengthPerWeek(Rule):
    missing_session_weight: int = 1000
    missing_heavy_weight: int = 40
    stand_in_weight: int = 10
    name = "T1"
    title = "strength sessions a week"
    hard = False

    def encode(self, ctx: ModelContext) -> None:
        problem = ctx.problem
        content = content_of(problem)
        weekly = ctx.by_week(SessionKind.strength)
        for week in problem.week_list:
            low, high = week.strength_range
            cands = weekly.get(week.index, [])
            count = ctx.total(cands)
            # the upper end of the range is a cap: never plan more than the phase asks for
            # (sessions already done count, and may alone be more: the cap is then theirs)
            ctx.model.add(count <= max(high, sum(1 for c in cands if c.fixed)))
            if low:
                short = ctx.model.new_int_var(0, low, f"t1_short_w{week.index}")
                ctx.model.add(short >= low - count)
                ctx.penalize(
                    f"T1 strength_sessions[week {week.index + 1}]",
                    self.missing_session_weight,
                    short,
                )
            wanted = heavy_wanted(problem, week, content)
            if wanted:
                # no heavy candidate at all (every slot forbidden) means the term is paid in full
                heavy = [c for c in cands if c.heavy]
                short_heavy = ctx.model.new_int_var(0, wanted, f"t1_heavy_w{week.index}")
                ctx.model.add(short_heavy >= wanted - ctx.total(heavy))
                ctx.penalize(
                    f"T1 heavy_sessions[week {week.index + 1}]",
                    self.missing_heavy_weight,
                    short_heavy,
                )
            held: dict[str, Any] = {}  # lift -> the week's sessions holding it, summed once
            for cand in cands:
                if cand.stand_in:
                    self._price_stand_in(ctx, content, cand, cands, held)

    def _price_stand_in(
        self,
        ctx: ModelContext,
        content: ContentBuilder,
        cand: Candidate,
        week: list[Candidate],
        held: dict[str, Any],
    ) -> None:
        """A stand-in pays `stand_in_weight`; one for lifts in their build-up only pays when no
        session of its week holds them (excused_by_build_up)."""
        problem = ctx.problem
        term = f"T1 stand_in[{cand.day.isoformat()}]"
        x = ctx.x[cand.index]
        missing = stand_in_for(problem, cand, content)
        if not missing or any(p.exercise_id not in problem.building_up for p in missing):
            ctx.penalize(term, self.stand_in_weight, x)
            return
        paid = ctx.model.new_bool_var(f"t1_stand_in_{cand.index}")
        for lift in {p.exercise_id for p in missing}:
            if lift not in held:
                held[lift] = ctx.total(
                    c for c in week if any(p.exercise_id == lift for p in c.prescriptions)
                )
            ctx.model.add(paid >= x - held[lift])
        ctx.penalize(term, self.stand_in_weight, paid)

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        content = content_of(problem)
        strength = [s for s in sessions if s.kind == SessionKind.strength]
        counts: Counter[int] = Counter()
        heavy: Counter[int] = Counter()
        holds: dict[int, set[str]] = {}  # the lifts each week's sessions hold
        for s in strength:
            week = problem.week_of(problem.local_day(s.start))
            if week is not None:
                counts[week.index] += 1
                heavy[week.index] += s.heavy
                holds.setdefault(week.index, set()).update(s.exercise_ids())
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
            wanted = heavy_wanted(problem, week, content)
            done = heavy.get(week.index, 0)
            if done < wanted:
                lift = heavy_on_offer(problem, week, content)
                if lift:
                    found.append(
                        Violation(
                            self.name,
                            f"T1 heavy_sessions[week {week.index + 1}]",
                            f"week {week.index + 1} ({week.phase.value}): {done} heavy "
                            f"session(s), {wanted} wanted, "
                            f"though the ladder is at {lift}{pain_in_the_way(problem, week, content)}",
                            penalty=self.missing_heavy_weight * (wanted - done),
                            when=week.start,
                        )
                    )
        for s in strength:
            week = problem.week_of(problem.local_day(s.start))
            if week is None:
                continue
            missing = stand_in_for(problem, s, content)
            if not missing or excused_by_build_up(problem, missing, holds[week.index]):
                continue
            held = ", ".join(p.name for p in s.prescriptions if p.heavy) or "a lower rung"
            names = " and ".join(p.name for p in missing)
            if any(p.exercise_id in problem.new_exposures for p in missing):
                why = (
                    f"in place of the first {names} (H9 keeps a first exposure "
                    f"{problem.settings.first_exposure_gap_h} h clear of key rides, and out of "
                    "an A race's taper and a B race's week)"
                )
            else:
                why = (
                    f"in place of the {names}, and no session of week {week.index + 1} holds "
                    "it (its build-up wants it once a week)"
                )
            found.append(
                Violation(
                    self.name,
                    f"T1 stand_in[{problem.local_day(s.start).isoformat()}]",
                    f"heavy session {local(s.start, problem.zone)} holds {held} {why}",
                    penalty=self.stand_in_weight,
                    when=s.start,
                )
            )
        return found
