"""A plan the coach's later changes have made wrong says so.

Changing rides by hand (PUT, POST, DELETE, an .ics upload) or the athlete's availability re-plans
nothing: POST .../plan does that (a calendar source's refresh re-plans by itself). Until then the
published sessions ahead may break a hard rule: a race added over a strength session (H2, H5),
a window taken away (H1). Each such change checks the sessions ahead with the rules' solver-free
checks, and where one breaks, the plan's warnings name the breaches and ask for a re-plan; the
plan's version rises, so its ETag changes and a polling client sees the warning.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from api import clock
from api.convert import problem_of_plan, session_from_row
from api.db import AthleteRow
from api.repository import HOT_READS, CoachData, plan_of, sessions_of
from constraints._time import local
from planner.errors import PlannerInputError
from planner.problem import Problem
from planner.solve import hard_violations

STALE = "the rides or the availability changed after this plan was made"
LISTED = 5  # breaches named in the warning; the count says them all


async def flag_stale_plan(data: CoachData, athlete: AthleteRow) -> None:
    """Warn on the plan where its sessions still ahead break a hard rule now (and drop an
    earlier such warning that no longer holds)."""
    plan_row = await plan_of(data.db, athlete)
    if plan_row is None:
        return
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    try:
        problem = problem_of_plan(athlete, await data.rides(athlete), plan_row, now)
    except PlannerInputError:
        return  # rides the planner refuses: the next POST .../plan names them
    sessions = [session_from_row(r, zone) for r in await sessions_of(data.db, athlete)]
    breaks = [
        f"{local(v.when, zone)}: {v.message} ({v.rule})"
        for v in hard_violations(problem, sessions)
        if isinstance(v.when, datetime) and v.when >= now
    ]
    report = dict(plan_row.report or {})
    before = list(report.get("warnings", []))
    warnings = [w for w in before if not w.startswith(STALE)]
    if breaks:
        more = f" (and {len(breaks) - LISTED} more)" if len(breaks) > LISTED else ""
        warnings.append(
            f"{STALE}: the sessions ahead now break the hard rules {len(breaks)} "
            f"{'time' if len(breaks) == 1 else 'times'}: "
            + "; ".join(breaks[:LISTED])
            + more
            + ". Re-plan to fit them (the dashboard's Re-plan, or POST .../plan)"
        )
    phases = _phase_changes(report, problem, now.astimezone(zone).date())
    if phases:
        warnings.append(
            f"{STALE}: the season's phases changed ("
            + "; ".join(phases[:LISTED])
            + (f", and {len(phases) - LISTED} more" if len(phases) > LISTED else "")
            + "), with an A race moved, added or removed or the athlete's phase changed: the "
            "sessions ahead still follow the old ones. Re-plan to follow the new ones (the "
            "dashboard's Re-plan, or POST .../plan)"
        )
    if warnings != before:
        report["warnings"] = warnings
        plan_row.report = report
        plan_row.version += 1
        await data.db.flush()
        HOT_READS.forget(athlete.id)


def _phase_changes(report: dict, problem: Problem, today: date) -> list[str]:
    """The weeks not yet over whose phase the current rides give otherwise than the plan has
    (an A race moved, added or removed): 'week 10 (from 2027-03-13): race, now transition'."""
    changes = []
    for stored, week in zip(report.get("week_reports", []), problem.week_list, strict=False):
        if week.end <= today:
            continue
        was = stored.get("phase")
        if was is not None and was != week.phase.value:
            changes.append(
                f"week {week.index + 1} (from {week.start.isoformat()}): {was}, now "
                f"{week.phase.value}"
            )
    return changes
