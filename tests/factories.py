"""Test data: athletes, rides, sessions and problems with sensible defaults."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from planner.content import ContentBuilder
from planner.domain import (
    Athlete,
    ProgressionState,
    Ride,
    RideKind,
    Session,
    SessionKind,
)
from planner.problem import Problem

ZONE = "Europe/London"
MONDAY = date(2027, 1, 4)  # a Monday in winter, no DST change nearby
ALL_DAY = [{"start": "06:00", "end": "22:00"}]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def athlete(**overrides: object) -> Athlete:
    data: dict[str, object] = {
        "name": "Test Rider",
        "timezone": ZONE,
        "availability": {day: ALL_DAY for day in WEEKDAYS},
        "equipment": ["bodyweight", "band", "ball", "box", "dumbbell", "barbell", "bench"],
    }
    data.update(overrides)
    return Athlete.model_validate(data)


def lifter(**overrides: object) -> Athlete:
    """An athlete already on heavy rungs (Romanian deadlift, Nordic curl)."""
    return athlete(starting_levels={"hinge": 9, "knee_flexion": 4}, **overrides)


def at(day: date, hour: int, minute: int = 0, zone: str = ZONE) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def ride(
    day: date,
    hour: int,
    minutes: int = 90,
    kind: str = "endurance",
    priority: str | None = None,
    title: str | None = None,
) -> Ride:
    return Ride(
        start=at(day, hour),
        duration_min=minutes,
        kind=RideKind(kind),
        priority=priority,
        title=title,
    )


def problem(
    who: Athlete | None = None,
    rides: list[Ride] | None = None,
    weeks: int = 2,
    start: date = MONDAY,
    state: ProgressionState | None = None,
    previous: list[Session] | None = None,
    now: datetime | None = None,
    skipped: frozenset[str] = frozenset(),
) -> Problem:
    who = who or athlete()
    return Problem(
        athlete=who,
        rides=rides or [],
        start=start,
        weeks=weeks,
        state=state or ProgressionState.starting(who),
        previous=previous or [],
        now=now,
        skipped=skipped,
    )


def strength(prob: Problem, start: datetime, heavy: bool = False, minutes: int = 45) -> Session:
    """A strength session with the content the planner would give it on that day."""
    built = ContentBuilder(prob).strength(prob.local_day(start), heavy)
    assert built is not None, "no such session variant for this athlete on that day"
    prescriptions, notes = built
    return Session(
        kind=SessionKind.strength,
        start=start,
        end=start + timedelta(minutes=minutes),
        heavy=heavy,
        prescriptions=list(prescriptions),
        notes=list(notes),
    )


def mobility(prob: Problem, start: datetime, minutes: int = 15) -> Session:
    prescriptions, notes = ContentBuilder(prob).mobility(prob.local_day(start))
    return Session(
        kind=SessionKind.mobility,
        start=start,
        end=start + timedelta(minutes=minutes),
        prescriptions=list(prescriptions),
        notes=list(notes),
    )
