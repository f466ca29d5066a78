"""Rows to planner objects and back: the only place that knows both shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.db import AthleteRow, PlanRow, RideRow, SessionRow
from planner.domain import STORED, Athlete, ProgressionState, Ride, Session
from planner.problem import Problem


def athlete_from_row(row: AthleteRow) -> Athlete:
    # read as stored: a row written under older, looser rules stays readable (domain.STORED)
    return Athlete.model_validate(
        {"name": row.name, "timezone": row.timezone, **row.profile}, context=STORED
    )


def profile_of(athlete: Athlete) -> dict[str, Any]:
    return athlete.model_dump(mode="json", exclude={"name", "timezone"})


# Ladder numbering 1 -> 2: the hinge technique rungs (dowel hinge, light kettlebell RDL) came in
# as levels 6 and 7, so the kickstand RDL, the Romanian deadlift and the deadlift moved up two.
HINGE_LEVELS_V1_TO_V2 = {6: 8, 7: 9, 8: 10}


def upgrade_ladders(data: dict[str, Any]) -> dict[str, Any]:
    """A stored progression state on the first numbering, moved to the current one: the athlete
    stays on the same exercise, and the history reads in the same numbers."""
    if data.get("ladders", 1) >= 2:
        return data

    def moved(level: int) -> int:
        return HINGE_LEVELS_V1_TO_V2.get(level, level)

    patterns = dict(data.get("patterns", {}))
    if "hinge" in patterns:
        hinge = dict(patterns["hinge"])
        hinge["level"] = moved(hinge.get("level", 1))
        patterns["hinge"] = hinge
    history = [
        {**c, "from_level": moved(c["from_level"]), "to_level": moved(c["to_level"])}
        if c.get("pattern") == "hinge"
        else c
        for c in data.get("history", [])
    ]
    return {**data, "patterns": patterns, "history": history, "ladders": 2}


def progression_of(row: AthleteRow, athlete: Athlete) -> ProgressionState:
    if row.progression:
        return ProgressionState.model_validate(upgrade_ladders(row.progression))
    return ProgressionState.starting(athlete)


def problem_of_plan(
    athlete: AthleteRow, rides: list[RideRow], plan_row: PlanRow, now: datetime
) -> Problem:
    """The stored plan's problem as of `now` (its start and weeks, the rides and pain state
    stored): what the solver-free checks of a kept plan read (planner.safety, api.staleness)."""
    person = athlete_from_row(athlete)
    zone = ZoneInfo(person.timezone)
    return Problem(
        athlete=person,
        rides=[ride_from_row(r, zone) for r in rides],
        start=plan_row.start,
        weeks=plan_row.weeks,
        state=progression_of(athlete, person),
        now=now,
    )


def ride_from_row(row: RideRow, zone: ZoneInfo) -> Ride:
    # stored: read as it is, whatever rule came later (a ride stored at a time now refused)
    return Ride.model_validate(
        {
            "id": str(row.id),
            "start": row.start.astimezone(zone),
            "duration_min": row.duration_min,
            "kind": row.kind,
            "priority": row.priority,
            "title": row.title,
            "external_id": row.external_id,
        },
        context={"stored": True},
    )


def session_from_row(row: SessionRow, zone: ZoneInfo) -> Session:
    return Session.model_validate(
        {
            **row.body,
            "uid": row.uid,
            "kind": row.kind,
            "start": row.start.astimezone(zone),
            "end": row.end.astimezone(zone),
            "heavy": row.heavy,
            "sequence": row.sequence,
            "changed_at": row.changed_at,
        }
    )


def session_body(session: Session) -> dict[str, Any]:
    return session.model_dump(mode="json", include={"prescriptions", "after_ride", "notes"})


def apply_session(row: SessionRow, session: Session, changed_at: datetime) -> None:
    row.uid = session.uid
    row.kind = session.kind.value
    row.start = session.start
    row.end = session.end
    row.heavy = session.heavy
    row.body = session_body(session)
    row.sequence = session.sequence
    row.changed_at = session.changed_at or changed_at
