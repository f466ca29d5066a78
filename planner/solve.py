"""Composes the rules into one CP-SAT model, solves it, and turns the answer into a Plan.

Steps: offer candidate sessions, let every rule encode (per-candidate hard rules first, so a
forbidden candidate never gets a variable), minimize the weighted soft terms, map the solver
status, report every target per week, and explain missed targets with the hard rules that
stood in the way (CP-SAT assumptions on the rules' enforcement literals).
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh
from pydantic import Field

from constraints import all_rules, hard_rules
from constraints.t1_strength_per_week import content_of
from planner.candidates import CandidateFactory, thin
from planner.content import ContentBuilder
from planner.domain import (
    Athlete,
    Model,
    Plan,
    Priority,
    ProgressionState,
    Ride,
    RideKind,
    Session,
    SessionKind,
    SolverReport,
    TargetResult,
    WeekReport,
)
from planner.errors import PlannerFailure
from planner.explain import Diagnosis, broken_entries, explain_target, late_reason
from planner.problem import Problem
from planner.stability import new_uid
from planner.variables import (
    CONTEXT_WEEK,
    Candidate,
    ModelContext,
    Penalty,
    Rule,
    SlotRule,
    Violation,
)

RULE_TITLES = {
    rule.name: rule.title for rule in all_rules(Athlete(name="x", timezone="UTC").settings)
}


class SolverSettings(Model):
    time_limit_s: float = Field(10.0, gt=0, le=120)
    workers: int = Field(1, ge=1, le=16)
    seed: int = 0
    presolve: bool = False


def _add_structure(ctx: ModelContext) -> None:
    """Not a coaching rule, just physics: one mobility a day, and sessions never overlap.

    Sessions of neighbouring days are compared too: one may run past midnight (a session just
    before the plan's start, late windows)."""
    mobility_by_day = ctx.by_day(SessionKind.mobility)
    strength_by_day = ctx.by_day(SessionKind.strength)
    model, x = ctx.model, ctx.x
    one_day = timedelta(days=1)

    def clash(first: Candidate, second: Candidate) -> None:
        # both pinned: what happened stays, clash or not
        if not (first.fixed and second.fixed):
            model.add_bool_or([x[first.index].Not(), x[second.index].Not()])

    # instants: wall clocks sharing a ZoneInfo compare wrongly when DST ends
    strength_times = {
        day: [(st.start.timestamp(), st.end.timestamp(), st) for st in cands]
        for day, cands in strength_by_day.items()
    }
    mobility_times = {
        day: [(mob.start.timestamp(), mob.end.timestamp(), mob) for mob in cands]
        for day, cands in mobility_by_day.items()
    }
    for day, times in mobility_times.items():
        ctx.at_most_one(mobility_by_day[day])
        first = min(start for start, _, _ in times)
        last = max(end for _, end, _ in times)
        # the day's strength, and the neighbours' that reach into the day's mobility hours
        strength = strength_times.get(day, []) + [
            entry
            for near in (day - one_day, day + one_day)
            for entry in strength_times.get(near, ())
            if first < entry[1] and entry[0] < last
        ]
        tomorrow = [entry for entry in mobility_times.get(day + one_day, ()) if entry[0] < last]
        for mob_start, mob_end, mob in times:
            for st_start, st_end, st in strength:
                if mob_start < st_end and st_start < mob_end:
                    clash(mob, st)
            for other_start, other_end, other in tomorrow:
                if mob_start < other_end and other_start < mob_end:
                    clash(mob, other)


def _minimize(model: cp_model.CpModel, penalties: list[Penalty]) -> None:
    """Minimize the weighted penalties: the objective CP-SAT's own `minimize` writes for their
    weighted sum (one coefficient per variable, by variable index, constants in the offset),
    written into the model's proto in one go instead of one call per term."""
    weights: dict[int, int] = {}
    offset = 0
    for penalty in penalties:
        var, weight = penalty.var, penalty.weight
        if isinstance(var, int):
            offset += weight * var
        elif isinstance(var, cmh.IntVar):
            weights[var.index] = weights.get(var.index, 0) + weight
        else:  # an expression (S4: 1 - the sessions at a published time)
            flat = cmh.FlatIntExpr(var)
            offset += weight * flat.offset
            for term, coeff in zip(flat.vars, flat.coeffs, strict=True):
                weights[term.index] = weights.get(term.index, 0) + weight * coeff
    indices = sorted(index for index, coeff in weights.items() if coeff)
    model.clear_objective()
    objective = model.proto.objective
    objective.vars.extend(indices)
    objective.coeffs.extend([weights[index] for index in indices])
    objective.offset = offset
    objective.scaling_factor = 1.0


def build_model(
    problem: Problem,
    rules: list[Rule],
    *,
    explain: bool = False,
    fixed: list[Session] | None = None,
    days: list[date] | None = None,
    content: ContentBuilder | None = None,
    screen: bool = True,
) -> ModelContext:
    """`screen`: leave out the starts the per-session hard rules forbid before any candidate
    is made (the same model as judging each candidate, built faster; off only to compare)."""
    factory = CandidateFactory(problem, content)
    keep = [] if explain else [s for s in problem.previous]
    per_candidate = sorted((r for r in rules if isinstance(r, SlotRule)), key=lambda r: r.cost_rank)
    candidates = factory.build(
        explain=explain,
        keep=keep,
        fixed=fixed,
        days=days,
        screen=per_candidate if screen else None,
    )
    ctx = ModelContext(problem=problem, candidates=candidates, explain=explain, rules=rules)
    if explain:
        ctx.create_variables()
    others = [r for r in rules if not isinstance(r, SlotRule)]
    if explain or not screen:
        # screened, the factory made no candidate these rules forbid (and pinned sessions are
        # never forbidden); unscreened, each candidate is judged here
        for rule in per_candidate:
            rule.encode(ctx)
    if not explain:
        thin(ctx)
        ctx.create_variables()
    _add_structure(ctx)
    for rule in others:
        if explain and not rule.hard:
            continue
        rule.encode(ctx)
    if not explain:
        _minimize(ctx.model, ctx.penalties)
        # hint: no session unless a published one sits there (S4 adds those)
        if problem.previous:
            # complete the hint: S4 hinted the published sessions to 1, pinned ones are 1,
            # the rest are 0
            pinned = {c.index for c in ctx.candidates if c.fixed}
            for index, var in ctx.x.items():
                if index not in ctx.hinted:
                    ctx.model.add_hint(var, 1 if index in pinned else 0)
    return ctx


def _solver(settings: SolverSettings, *, explain: bool = False) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    solver.parameters.num_workers = 1 if explain else settings.workers
    solver.parameters.random_seed = settings.seed
    # these models are small and loose (mostly at-most-one rows): presolve and symmetry
    # detection cost more than the search they save (bench/plan_bench.py shows about 2x)
    solver.parameters.cp_model_presolve = settings.presolve
    solver.parameters.symmetry_level = 0
    return solver


def plan(
    athlete: Athlete,
    rides: list[Ride],
    start: date,
    weeks: int,
    *,
    state: ProgressionState | None = None,
    previous: list[Session] | None = None,
    now: datetime | None = None,
    skipped: frozenset[str] = frozenset(),
    settings: SolverSettings | None = None,
    explain_misses: bool = True,
) -> Plan:
    """`skipped`: UIDs of published sessions the athlete reported as not done."""
    settings = settings or SolverSettings()
    problem = Problem(
        athlete=athlete,
        rides=rides,
        start=start,
        weeks=weeks,
        state=state or ProgressionState.starting(athlete),
        previous=previous or [],
        now=now,
        skipped=frozenset(skipped),
    )
    return solve_problem(problem, settings, explain_misses=explain_misses)


def solve_problem(
    problem: Problem, settings: SolverSettings, *, explain_misses: bool = True
) -> Plan:
    rules = all_rules(problem.settings)
    began = clock.perf_counter()
    content = content_of(problem)
    # sessions that already started are history: pinned, not re-planned; those of the days
    # just before the start are context for the rules between two sessions (Problem.context)
    # (a session reported as not done is neither: it left nothing to work round)
    pinned = [
        s
        for s in problem.previous
        if problem.now is not None and s.start < problem.now and not problem.was_skipped(s)
    ]
    already = {id(s) for s in pinned}
    pinned += [s for s in problem.context if id(s) not in already]
    ctx = build_model(problem, rules, fixed=pinned, content=content)
    built = clock.perf_counter()
    solver = _solver(settings)
    status = solver.solve(ctx.model)
    solved = clock.perf_counter()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlannerFailure(
            f"the solver found no plan ({solver.status_name(status)}) within "
            f"{settings.time_limit_s} s; try fewer weeks or a longer time limit"
        )
    chosen = [
        c for c in ctx.live() if c.week != CONTEXT_WEEK and solver.boolean_value(ctx.x[c.index])
    ]
    sessions = [_to_session(problem, c) for c in chosen]
    penalties: dict[str, int] = {}
    bookkeeping = 0
    for p in ctx.penalties:
        value = solver.value(p.var) if not isinstance(p.var, int) else p.var
        if value and p.bookkeeping:
            bookkeeping += p.weight * int(value)
        elif value:
            penalties[p.term] = penalties.get(p.term, 0) + p.weight * int(value)
    objective = solver.objective_value
    bound = solver.best_objective_bound
    gap = 0.0 if status == cp_model.OPTIMAL else abs(objective - bound) / max(1.0, abs(objective))
    reports = week_reports(problem, sessions, rules)
    explain_began = clock.perf_counter()
    broken_entries(problem, sessions, rules, reports, content, diagnose=explain_misses)
    if explain_misses:
        explain(problem, reports, sessions, settings, content)
    finished = clock.perf_counter()
    result = Plan(
        athlete=problem.athlete.name,
        timezone=problem.athlete.timezone,
        start=problem.start,
        weeks=problem.weeks,
        sessions=sessions,
        week_reports=reports,
        solver=SolverReport(
            status=solver.status_name(status),
            build_ms=round((built - began) * 1000, 2),
            solve_ms=round((solved - built) * 1000, 2),
            explain_ms=round((finished - explain_began) * 1000, 2),
            objective=objective,
            best_bound=bound,
            gap=gap,
            penalties=penalties,
            bookkeeping=bookkeeping,
        ),
        # what the pain state keeps out, and low-grade pain on 7 days running that asks the
        # coach to look (domain.md, Revision 2)
        warnings=problem.state.pain_warnings(
            problem.local_day(problem.now) if problem.now is not None else problem.start
        )
        + problem.state.review_warnings()
        + _ride_warnings(problem),
    )
    # checked with the context before the start: H7's rest and H9 reach across it
    # by instant: two wall clocks of one zone compare equal across the night clocks go back
    pinned_starts = {s.start.timestamp() for s in pinned}
    checked = problem.context + sessions
    breaks = [
        v.message
        for rule in rules
        if rule.hard
        for v in rule.check(problem, checked)
        if not (isinstance(v.when, datetime) and v.when.timestamp() in pinned_starts)
    ]
    breaks += [
        f"{late.start.isoformat()} overlaps {early.start.isoformat()}"
        for early, late in _overlaps(checked)
        if late.start.timestamp() not in pinned_starts
        or early.start.timestamp() not in pinned_starts
    ]
    if breaks:  # the model and the spec disagree: never hand out such a plan
        raise PlannerFailure("internal error, plan breaks " + "; ".join(breaks))
    return result


def _ride_warnings(problem: Problem) -> list[str]:
    """Rides whose priority says nothing to the planner: a race without one is kept clear of
    heavy work as a long ride but tapered for by no rule; a priority on another kind of ride
    is not read (a new user's trial saw both taken without a word)."""
    found = []
    for ride in problem.rides:
        day = problem.local_day(ride.start)
        if not problem.start <= day < problem.end:
            continue
        if ride.kind == RideKind.race and ride.priority is None:
            found.append(
                f"race {ride.label()!r} on {day.isoformat()} has no priority: it is kept clear "
                "of heavy work as a long ride and of strength in the "
                f"{problem.settings.clear_before_C_h} h before it as a C race, but no taper or "
                "race-week rule plans for it; give it priority A, B or C"
            )
        elif ride.kind != RideKind.race and ride.priority is not None:
            found.append(
                f"{ride.kind.value} ride {ride.label()!r} on {day.isoformat()} has priority "
                f"{ride.priority}: priorities count only on rides of kind race"
            )
    return found


def _race_lines(problem: Problem, monday: date, next_monday: date) -> list[str]:
    """The week's races, each with what it does to the strength work before it."""
    settings = problem.settings
    lines = []
    # a stage race: one line for its days running with one priority and title, not one a stage
    # repeating the same rules (a coach's review)
    stages: list[list[Ride]] = []
    for ride in sorted(problem.race_rides, key=lambda r: r.start):
        before = stages[-1][-1] if stages else None
        if (
            before is not None
            and (before.priority, before.title) == (ride.priority, ride.title)
            and (problem.local_day(ride.start) - problem.local_day(before.start)).days == 1
        ):
            stages[-1].append(ride)
        else:
            stages.append([ride])
    for stage in stages:
        ride = stage[0]
        day = problem.local_day(ride.start)
        if not any(monday <= problem.local_day(r.start) < next_monday for r in stage):
            continue
        kind = f"{ride.priority} race" if ride.priority else "race"
        named = f"{kind} {day:%a %d %b} {ride.start.astimezone(problem.zone):%H:%M}"
        if len(stage) > 1:
            named += f" to {problem.local_day(stage[-1].start):%a %d %b} ({len(stage)} days)"
        if ride.title:
            named += f" ({ride.title})"
        if ride.priority == Priority.A:
            what = (
                f"no heavy work in the {settings.taper_days_A} days before it (H8), strength "
                "volume cut 30-70 % in the 14 days before it (T4)"
            )
        elif ride.priority == Priority.B:
            what = (
                f"about half the strength sets from {day - timedelta(days=6):%a %d %b}, no heavy "
                f"work in the {settings.taper_days_B} days before it and no strength in the "
                f"{settings.clear_before_B_h} h before it (H8)"
            )
        elif ride.priority == Priority.C:
            what = f"no strength in the {settings.clear_before_C_h} h before it (H8)"
        else:
            what = (
                "no priority given: kept clear as a long ride is (H3-H5), and no strength in "
                f"the {settings.clear_before_C_h} h before it as before a C race (H8); give "
                "it A, B or C for its race week"
            )
        lines.append(f"{named}: {what}")
    return lines


def _taper_span(days: list[date], monday: date) -> str:
    """'taper', or which of the week's days it covers: the 14 days before an A race may begin
    mid-week, and end mid-week on race day (which is not part of it)."""
    first, last = days[0], days[-1]
    if first == monday and last == monday + timedelta(days=6):
        return "taper"
    if first == monday:
        return f"taper until {last:%a %d %b}"
    if last == monday + timedelta(days=6):
        return f"taper from {first:%a %d %b}"
    return f"taper {first:%a %d %b} to {last:%a %d %b}"


def _overlaps(sessions: list[Session]) -> list[tuple[Session, Session]]:
    """Pairs of sessions that overlap in time (the structure the model keeps: never two at once)."""
    ordered = sorted(sessions, key=lambda s: s.start.timestamp())
    found = []
    for i, early in enumerate(ordered):
        ends = early.end.timestamp()
        for late in ordered[i + 1 :]:
            if late.start.timestamp() >= ends:
                break
            found.append((early, late))
    return found


def _to_session(problem: Problem, cand: Candidate) -> Session:
    session = cand.to_session(problem.zone)
    previous = problem.published.get((cand.kind, cand.start.astimezone(UTC), cand.heavy))
    if previous is not None and (cand.fixed or (problem.now and previous.start < problem.now)):
        return previous
    session.uid = new_uid(problem.athlete.name, session)
    return session


def week_reports(problem: Problem, sessions: list[Session], rules: list[Rule]) -> list[WeekReport]:
    by_week: dict[int, list[Session]] = defaultdict(list)
    for s in sessions:
        week = problem.week_of(problem.local_day(s.start))
        if week is not None:
            by_week[week.index].append(s)
    misses: dict[str, list[Violation]] = defaultdict(list)
    for rule in rules:
        if rule.name in ("T1", "T2"):
            for v in rule.check(problem, sessions):
                misses[v.term].append(v)
    settings = problem.settings
    reports = []
    for week in problem.week_list:
        planned = by_week.get(week.index, [])
        strength = [s for s in planned if s.kind == SessionKind.strength]
        mobility_days = {
            problem.local_day(s.start) for s in planned if s.kind == SessionKind.mobility
        }
        low, high = week.strength_range
        t1_miss = misses.get(f"T1 strength_sessions[week {week.index + 1}]")
        t2_miss = misses.get(f"T2 mobility_days[week {week.index + 1}]")
        taper_days = [
            day for i in range(7) if problem.in_taper(day := week.start + timedelta(days=i))
        ]
        taper = bool(taper_days)
        targets = [
            TargetResult(
                rule="T1",
                met=not t1_miss,
                wanted=f"{low}-{high} strength" if low != high else f"{low} strength",
                planned=len(strength),
                reason=t1_miss[0].message if t1_miss else "",
            ),
            TargetResult(
                rule="T2",
                met=not t2_miss,
                wanted=f"mobility on {settings.mobility_days_min}+ days",
                planned=len(mobility_days),
                reason=t2_miss[0].message if t2_miss else "",
            ),
        ]
        if week.deload:
            targets.append(
                TargetResult(
                    rule="T3", met=True, wanted="deload: about half volume", planned=len(strength)
                )
            )
        if taper:
            targets.append(
                TargetResult(
                    rule="T4",
                    met=True,
                    # T4 judges by day: a week only partly in the 14 days says which days
                    wanted=f"{_taper_span(taper_days, week.start)}: volume cut 30-70 %",
                    planned=len(strength),
                )
            )
        reports.append(
            WeekReport(
                index=week.index + 1,
                start=week.start,
                end=week.end - timedelta(days=1),
                phase=week.phase,
                deload=week.deload,
                taper=taper,
                races=_race_lines(problem, week.start, week.end),
                strength_min=low,
                strength_max=high,
                strength_planned=len(strength),
                heavy_planned=sum(1 for s in strength if s.heavy),
                mobility_planned=len(mobility_days),
                targets=targets,
            )
        )
    # soft T3/T4 terms are per session; fold any into their week's line
    for rule in rules:
        if rule.name in ("T3", "T4"):
            for v in rule.check(problem, sessions):
                if isinstance(v.when, datetime):
                    week = problem.week_of(problem.local_day(v.when))
                else:  # a day (T4's heavy part: the first day that could hold it)
                    week = problem.week_of(v.when) if v.when is not None else None
                if week is None:
                    continue
                for target in reports[week.index].targets:
                    if target.rule == rule.name:
                        target.met = False
                        target.reason = v.message
    return reports


# the weekly targets a core can explain: term prefix -> (target, kind, heavy)
WEEKLY_TARGETS = {
    "T1 strength_sessions": ("T1", SessionKind.strength, False),
    "T1 heavy_sessions": ("T1", SessionKind.strength, True),
    "T2 mobility_days": ("T2", SessionKind.mobility, False),
}


def explain(
    problem: Problem,
    reports: list[WeekReport],
    sessions: list[Session],
    settings: SolverSettings,
    content: ContentBuilder,
) -> None:
    """For each missed weekly target, find the hard rules without which it could be met (the
    CP-SAT core), then the closest time tried among those rules and one change to make room."""
    rules = hard_rules(problem.settings)
    diagnosis = Diagnosis(problem, problem.context + sessions, all_rules(problem.settings), content)
    for report in reports:
        for entry in report.broken:
            prefix = entry.term.split("[", 1)[0]
            if prefix not in WEEKLY_TARGETS:
                continue
            target_id, kind, heavy = WEEKLY_TARGETS[prefix]
            blocked = _blocking_rules(
                problem, report, target_id, sessions, rules, settings, content, heavy=heavy
            )
            explain_target(diagnosis, entry, report.index - 1, kind, heavy, blocked)
            if heavy:
                continue
            target = next(t for t in report.targets if t.rule == target_id)
            target.blocked_by = blocked
            if blocked:
                names = ", ".join(f"{r} ({RULE_TITLES.get(r, r)})" for r in blocked)
                target.reason += f"; in the way: {names}"
            elif problem.now is not None and problem.local_day(problem.now) > report.start:
                target.reason += f"; {late_reason(problem, report.start, kind)}"
            else:
                target.reason += (
                    "; no single hard rule blocks it: it was traded against other weeks"
                )
            tried = entry.detail.partition("; tried ")[2]
            if tried:
                target.reason += f"; tried {tried}"
            if entry.suggestion:
                target.reason += f"; to make room: {entry.suggestion}"


def _blocking_rules(
    problem: Problem,
    report: WeekReport,
    target: str,
    sessions: list[Session],
    rules: list[Rule],
    settings: SolverSettings,
    content: ContentBuilder,
    *,
    heavy: bool = False,
) -> list[str]:
    week_days = [report.start + timedelta(days=i) for i in range(7)]
    kind = SessionKind.strength if target == "T1" else SessionKind.mobility
    # the neighbours' sessions stay where the plan put them
    neighbours = [
        s
        for s in sessions
        if problem.local_day(s.start) not in week_days
        and abs((problem.local_day(s.start) - report.start).days) <= 10
    ]
    # the week's sessions before now happened (or stay): pinned here too, and counted
    done = [
        s
        for s in sessions
        if problem.now is not None
        and s.start < problem.now
        and problem.local_day(s.start) in week_days
    ]
    ctx = build_model(
        problem,
        rules,
        explain=True,
        fixed=neighbours + problem.context + done,
        days=week_days,
        content=content,
    )
    wanted = report.strength_min if target == "T1" else problem.settings.mobility_days_min
    in_week = [
        c
        for c in ctx.candidates
        if c.kind == kind and c.day in week_days and c.week != CONTEXT_WEEK
    ]
    if heavy:
        # the heavy part: one heavy session more, without giving up the sessions the week has
        ctx.model.add(ctx.total(c for c in in_week if c.heavy) >= report.heavy_planned + 1)
        wanted = report.strength_planned
    ctx.model.add(ctx.total(in_week) >= wanted)
    # the week keeps what the plan achieved for the other target: time is not freed by dropping it
    other_kind = SessionKind.mobility if kind == SessionKind.strength else SessionKind.strength
    achieved = report.mobility_planned if kind == SessionKind.strength else report.strength_planned
    others = [
        c
        for c in ctx.candidates
        if c.kind == other_kind and c.day in week_days and c.week != CONTEXT_WEEK
    ]
    ctx.model.add(ctx.total(others) >= achieved)
    literals = list(ctx.enforce.values())
    names = {lit.index: name for name, lit in ctx.enforce.items()}
    ctx.model.add_assumptions(literals)
    solver = _solver(settings, explain=True)
    status = solver.solve(ctx.model)
    if status != cp_model.INFEASIBLE:
        return []
    core = solver.sufficient_assumptions_for_infeasibility()
    return sorted({names[i] for i in core if i in names}, key=_rule_order)


def _rule_order(name: str) -> tuple[str, int]:
    return (name[0], int(name[1:]))


def hard_violations(problem: Problem, sessions: list[Session]) -> list[Violation]:
    """Every breach of a hard rule in a finished plan, found without the solver."""
    return [v for rule in hard_rules(problem.settings) for v in rule.check(problem, sessions)]
