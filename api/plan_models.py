"""The plan as the API shows it: typed, described models, and a fast path from stored rows.

The models are the contract of GET/POST .../plan and GET .../sessions/{id} (api.md, Revision
2). They are written out here rather than reused from planner.domain so that a change inside
the planner cannot silently change what coaches' scripts read.

Reading a plan is the hot path (dashboards and scripts poll it), so `session_json` builds each
session's JSON straight from its row (the row's body is already stored as JSON) instead of
validating every session and prescription through pydantic; the handler caches the encoded
bytes per plan version (PLAN_READS). tests/api/test_plan_read.py checks that the fast path validates
against these models and says the same as the planner's own serialization.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from api.cache import Rendered
from api.db import PlanRow, SessionRow
from planner.domain import Pattern, Phase, Region, SessionKind


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrescriptionOut(Out):
    """One exercise of a session, as prescribed."""

    exercise_id: str = Field(description="Library id of the exercise (GET /api/v1/exercises)")
    name: str = Field(description="The exercise's name")
    pattern: Pattern = Field(description="Movement pattern (ladder) the exercise belongs to")
    level: int = Field(description="Rung of the pattern's ladder this exercise sits on")
    sets: int = Field(description="Working sets")
    reps: str | None = Field(
        None, description="Repetitions per set, a number or a range such as '6-8'"
    )
    hold_s: int | None = Field(None, description="Seconds per hold, for holds and stretches")
    load_hint: str = Field(description="How heavy, in words (bodyweight, a load in kg, RPE)")
    rest_s: int = Field(description="Rest between sets, in seconds")
    side: str = Field(description="'both', 'each_leg' or 'each_side'")
    cue: str = Field(description="The key coaching cue")
    heavy: bool = Field(False, description="Heavy posterior-chain work (the H3/H4 rules apply)")
    regions: list[Region] = Field(
        default_factory=list, description="Body regions this exercise loads (pain zones, H10)"
    )


class SessionOut(Out):
    """A planned strength or mobility session."""

    id: uuid.UUID = Field(description="The session's id, for feedback and GET .../sessions/{id}")
    uid: str = Field(description="The calendar UID: fixed for the life of the session")
    kind: SessionKind = Field(description="'strength' or 'mobility'")
    start: datetime = Field(description="Start, in the athlete's time zone")
    end: datetime = Field(description="End, in the athlete's time zone")
    heavy: bool = Field(description="Holds heavy posterior-chain work")
    prescriptions: list[PrescriptionOut] = Field(description="The exercises, in order")
    after_ride: str | None = Field(
        None, description="For mobility after a ride: the ride it follows"
    )
    notes: list[str] = Field(
        default_factory=list, description="Notes for the athlete (deload, taper, pain advice)"
    )
    sequence: int = Field(description="iCalendar SEQUENCE: rises each time the session changes")
    changed_at: datetime | None = Field(None, description="When the session last changed")


class LoggedOut(Out):
    """A report sent for a session: what the athlete logged, as sent."""

    at: datetime = Field(description="When it was reported")
    outcome: str = Field(
        description="'done', 'skipped', 'unsaid' (pain sent without saying whether the "
        "session was done), or 'checkin' (pain sent for the session after its report, or "
        "before it started: kept as a check-in, the report is the pain entry)"
    )
    report: dict[str, Any] = Field(
        description="The report as sent (completed, rpe, pain, flags, exercises)"
    )


def logged_outcome(kind: str) -> str:
    """A stored report's kind (api.db.FeedbackRow) as LoggedOut.outcome."""
    return {"session": "done", "mobility": "done"}.get(kind, kind)


class SessionReadOut(SessionOut):
    """One session, with the reports the athlete or coach sent for it."""

    feedback: list[LoggedOut] = Field(
        default_factory=list, description="The reports sent for this session, oldest first"
    )


class TargetOut(Out):
    """A weekly target (T1-T4) and whether the plan meets it."""

    rule: str = Field(description="Rule id of domain.md: T1 strength, T2 mobility, T3, T4")
    met: bool = Field(description="Whether the week meets the target")
    wanted: str = Field(description="What the target asks for, in words")
    planned: int = Field(description="How many the plan holds")
    reason: str = Field("", description="Why it is missed, when it is")
    blocked_by: list[str] = Field(
        default_factory=list, description="Hard rule ids that stood in the way of a miss"
    )


class BrokenRideOut(Out):
    """The ride a paid soft term concerns."""

    label: str = Field(description="The ride's title, or its kind when it has none")
    start: datetime = Field(description="When the ride starts")


class BrokenOut(Out):
    """One soft term the plan paid this week: a missed target or a broken preference."""

    rule: str = Field(description="Rule id of domain.md: T1-T4 (targets) or S1-S5 (preferences)")
    term: str = Field(
        "", description="The solver's penalty term, as in solver.penalties, e.g. 'S1 ...[date]'"
    )
    session_id: str | None = Field(
        None, description="Calendar UID of the session concerned (SessionOut.uid), if any"
    )
    ride: BrokenRideOut | None = Field(None, description="The ride concerned, if any")
    detail: str = Field(
        description="What was given up, in a sentence: which session, which ride, hours between"
    )
    blocked_by: list[str] = Field(
        default_factory=list, description="Hard rule ids that kept the plan from avoiding it"
    )
    suggestion: str = Field(
        "", description="One change that would make room, e.g. 'same_day_gap_h 4'"
    )


class WeekReportOut(Out):
    """One week of the plan: its phase, its targets and every soft term paid."""

    index: int = Field(description="Week number, from 0")
    start: date = Field(description="First day (Monday) in the athlete's time zone")
    end: date = Field(description="Last day (Sunday)")
    phase: Phase = Field(description="Season phase of the week")
    deload: bool = Field(False, description="A deload week (T3)")
    taper: bool = Field(False, description="A taper week before an A race (T4)")
    races: list[str] = Field(
        default_factory=list,
        description="The week's races, each with what it does to the strength work before it "
        "(H8, T4; a B race's week: about half the sets)",
    )
    strength_min: int = Field(description="Strength sessions wanted, at least (T1)")
    strength_max: int = Field(description="Strength sessions wanted, at most (T1)")
    strength_planned: int = Field(0, description="Strength sessions planned")
    heavy_planned: int = Field(0, description="Heavy sessions planned")
    mobility_planned: int = Field(0, description="Mobility sessions planned")
    targets: list[TargetOut] = Field(default_factory=list, description="Targets, met or missed")
    broken: list[BrokenOut] = Field(
        default_factory=list,
        description="Every soft term paid this week; the week is ok only when this is empty",
    )


class SolverOut(Out):
    """How the CP-SAT solve went."""

    status: str = Field(description="OPTIMAL, FEASIBLE, or the fallback's status")
    build_ms: float = Field(description="Time to build the model, ms")
    solve_ms: float = Field(description="Time in the solver, ms")
    explain_ms: float = Field(0.0, description="Time spent naming the rules behind misses, ms")
    objective: float = Field(0.0, description="Objective value (weighted penalties)")
    best_bound: float = Field(0.0, description="Solver's best bound on the objective")
    gap: float = Field(0.0, description="Relative gap between objective and bound")
    penalties: dict[str, int] = Field(
        default_factory=dict,
        description="Soft terms paid, by name, e.g. 'S1 ...[2027-03-14]': each is an entry of "
        "its week's `broken` list",
    )
    bookkeeping: int = Field(
        0,
        description="The rest of the objective: small costs that only keep the plan from asking "
        "for more than a target (each mobility session, T2), no preference given up",
    )


class PlanOut(Out):
    """The athlete's current plan."""

    athlete_id: uuid.UUID = Field(description="The athlete")
    start: date = Field(description="First day of the plan")
    weeks: int = Field(description="Length in weeks")
    version: int = Field(description="Rises with every re-plan; the ETag carries it")
    updated_at: datetime = Field(description="When the plan last changed")
    sessions: list[SessionOut] = Field(
        description="Sessions in time order (only those in ?from=..&to= when given)"
    )
    weeks_report: list[WeekReportOut] = Field(description="One report per week")
    solver: SolverOut = Field(description="The solve behind this version")
    warnings: list[str] = Field(description="What the coach should know about this plan")


# --- the fast path ----------------------------------------------------------------------------


def iso(value: datetime) -> str:
    """ISO 8601 as pydantic writes it (UTC as 'Z'), so both paths say the same."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def session_json(row: SessionRow | Any, zone: ZoneInfo) -> dict[str, Any]:
    """A session's JSON from its row, without pydantic: the body is stored as JSON already."""
    body = row.body
    changed = row.changed_at
    return {
        "id": str(row.id),
        "uid": row.uid,
        "kind": row.kind,
        "start": iso(row.start.astimezone(zone)),
        "end": iso(row.end.astimezone(zone)),
        "heavy": row.heavy,
        "prescriptions": body.get("prescriptions", []),
        "after_ride": body.get("after_ride"),
        "notes": body.get("notes", []),
        "sequence": row.sequence,
        "changed_at": iso(changed.astimezone(UTC)) if changed is not None else None,
    }


def plan_json(row: PlanRow | Any, sessions: list[SessionRow] | list[Any], zone: ZoneInfo) -> bytes:
    report = row.report or {}
    return msgspec.json.encode(
        {
            "athlete_id": str(row.athlete_id),
            "start": row.start.isoformat(),
            "weeks": row.weeks,
            "version": row.version,
            "updated_at": iso(row.updated_at.astimezone(UTC)),
            "sessions": [session_json(s, zone) for s in sessions],
            "weeks_report": report.get("week_reports", []),
            "solver": report.get("solver", {}),
            "warnings": report.get("warnings", []),
        }
    )


# encoded plans by (athlete, version, update time, zone, date range): a plan's bytes change
# only when it is re-planned, and every re-plan raises the version
PLAN_READS: Rendered[bytes] = Rendered(512)
