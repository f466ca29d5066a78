"""Reads the CLI's input files: the athlete (POST /api/v1/athletes body) and rides (JSON or .ics)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from planner.calendar_in import CalendarError, Skipped, read_calendar
from planner.domain import Athlete, Ride
from planner.errors import PlannerInputError

RIDES = TypeAdapter(list[Ride])


def describe_validation(error: ValidationError, source: str) -> str:
    """One line per problem: where it is and what is wrong, without pydantic's noise."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where}: {message}")
    return "\n".join(lines)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise PlannerInputError(f"{path}: no such file") from exc
    except OSError as exc:  # a directory, no permission, ...
        raise PlannerInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlannerInputError(f"{path}: not valid JSON ({exc})") from exc


def load_athlete(path: Path) -> Athlete:
    try:
        return Athlete.model_validate(_read_json(path))
    except ValidationError as exc:
        raise PlannerInputError(describe_validation(exc, str(path))) from exc


def load_rides(path: Path, athlete: Athlete, start: date, weeks: int) -> list[Ride]:
    return load_calendar(path, athlete, start, weeks)[0]


def load_calendar(
    path: Path, athlete: Athlete, start: date, weeks: int
) -> tuple[list[Ride], list[Skipped], list[Skipped]]:
    """The rides of a JSON list or an .ics calendar, the .ics entries not used, with why, and
    those read with an assumption, with it (an all-day race), one per event."""
    if path.suffix.lower() in (".ics", ".ical", ".ifb", ".icalendar"):
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise PlannerInputError(f"{path}: no such file") from exc
        except OSError as exc:
            raise PlannerInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        zone = ZoneInfo(athlete.timezone)
        window_start = datetime.combine(start - timedelta(days=7), time(), tzinfo=zone)
        window_end = datetime.combine(start + timedelta(days=7 * weeks + 7), time(), tzinfo=zone)
        try:
            result = read_calendar(
                data, window_start, window_end, athlete.settings, default_tz=athlete.timezone
            )
        except CalendarError as exc:
            raise PlannerInputError(f"{path}: {exc}") from exc
        notes = {
            item.uid: Skipped(item.uid, item.ride.title or "", item.note)
            for item in result.rides
            if item.note
        }
        return [item.ride for item in result.rides], list(result.skipped), list(notes.values())
    try:
        return RIDES.validate_python(_read_json(path)), [], []
    except ValidationError as exc:
        raise PlannerInputError(describe_validation(exc, str(path))) from exc
