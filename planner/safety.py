"""When the solver cannot re-plan, the published plan must still obey the new pain state.

`withdraw_loading` keeps every future session at its time and takes out what H10 now forbids:
the patterns and exercises of a red-flagged region (all strength for a red flag in `other`)
and heavy work on a red region's no-heavy days. A strength session left with nothing is
dropped; one left with no heavy exercise becomes light. Taking work out only makes a plan
lighter, but it can make a later session the first to hold a Nordic curl or a deadlift (H9),
so the result goes through every hard rule's solver-free check and a session still in breach
is dropped too. Levels are not stepped down here: that needs the solver, so the caller tells
the coach to re-plan. A red on the easiest rung (half the sets) and a red region's mobility
holds need none: those are applied, with their notes.
"""

from __future__ import annotations

from datetime import datetime

from constraints.h10_pain_regions import H10PainRegions
from planner.content import ContentBuilder, clearance_note
from planner.domain import Prescription, Session, SessionKind
from planner.problem import Problem
from planner.solve import hard_violations


def _allowed(problem: Problem, session: Session, item: Prescription) -> bool:
    no_heavy = problem.state.no_heavy_regions(problem.local_day(session.start))
    if session.kind != SessionKind.strength:
        # mobility stays under a red or a red flag, but not a hold that stretches or bears on
        # the painful area (planner.content leaves the same out)
        return not set(item.regions) & no_heavy
    return H10PainRegions.forbids(problem, item, no_heavy) is None


def _halved(
    problem: Problem, content: ContentBuilder, session: Session, items: list[Prescription]
) -> tuple[list[Prescription], list[str]]:
    """A red on the easiest rung halves its patterns' sets, and a red region's holds are left
    out: no solver needed, so the kept sessions take the day's own prescriptions and notes for
    them (what a re-plan would give that day; the published dose may be halved already)."""
    day = problem.local_day(session.start)
    if session.kind == SessionKind.strength:
        reduced = problem.state.reduced_patterns(day)
        if not reduced or not any(p.pattern in reduced for p in items):
            return items, []
        built = content.strength(day, session.heavy) or content.strength(day, False)
        if built is None:
            return items, []
        fresh = {p.exercise_id: p for p in built[0]}
        items = [fresh.get(p.exercise_id, p) if p.pattern in reduced else p for p in items]
        return items, [n for n in built[1] if "half the usual sets" in n]
    if len(items) < len(session.prescriptions):  # a red region's holds came out
        return items, [n for n in content.mobility(day)[1] if "are left out through" in n]
    return items, []


def withdraw_loading(problem: Problem, sessions: list[Session], now: datetime) -> list[Session]:
    """The sessions from `now` on, with what the progression state forbids taken out.

    Sessions before `now` are history and come back untouched. A changed session keeps its UID
    and its SEQUENCE rises, as after any re-plan.
    """
    note = clearance_note(problem.state) if problem.state.flagged_regions() else None
    content = ContentBuilder(problem)
    kept: list[Session] = []
    for session in sessions:
        if session.start < now:
            kept.append(session)
            continue
        items = [p for p in session.prescriptions if _allowed(problem, session, p)]
        if not items:
            continue
        notes = list(session.notes)
        if note and note not in notes:
            notes.append(note)
        items, said = _halved(problem, content, session, items)
        notes += [n for n in said if n not in notes]
        heavy = session.heavy and any(p.heavy for p in items)
        if items == session.prescriptions and notes == session.notes and heavy == session.heavy:
            kept.append(session)
            continue
        kept.append(
            session.model_copy(
                update={
                    "prescriptions": items,
                    "notes": notes,
                    "heavy": heavy,
                    "sequence": session.sequence + 1,
                    "changed_at": now,
                }
            )
        )
    while True:
        breaches = {
            v.when
            for v in hard_violations(problem, kept)
            if isinstance(v.when, datetime) and v.when >= now
        }
        if not breaches:
            return kept
        fewer = [s for s in kept if s.start not in breaches]
        if len(fewer) == len(kept):  # a breach named no session's start: keep no future at all
            return [s for s in kept if s.start < now]
        kept = fewer
