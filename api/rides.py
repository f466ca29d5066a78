"""The ride calendar: replace (JSON), add, list, delete, and import an .ics export."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel

from api import clock
from api.convert import athlete_from_row, ride_from_row
from api.db import AthleteRow, RideRow
from api.errors import (
    JSON_BODY,
    OWNED,
    Conflict,
    TooLarge,
    Unprocessable,
    UnsupportedType,
    check_date,
    invalid,
)
from api.repository import CoachData
from planner.calendar_in import CalendarError, read_calendar
from planner.domain import Ride
from planner.errors import PlannerInputError
from planner.problem import check_rides_do_not_overlap, rides_overlap

IMPORT_BACK = timedelta(days=30)
IMPORT_AHEAD = timedelta(weeks=53)
DATE_FILTER: dict[str, Any] = {
    "required": False,
    "schema_extra": {"format": "date"},
    "description": "YYYY-MM-DD in the athlete's time zone; rides starting on or after (from) / on or before (to) that day",
}


@dataclass
class CalendarUpload(Operation):
    """The import's body is an .ics file (text/calendar), read by hand, so it is described here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "text/calendar": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, description="an iCalendar (.ics) export")
                )
            },
            required=True,
            description="An .ics export (Google Calendar, TrainingPeaks, intervals.icu), up to 5 MiB",
        )


class RideOut(BaseModel):
    id: uuid.UUID
    start: datetime
    end: datetime
    duration_min: int
    kind: str
    priority: str | None
    title: str | None
    external_id: str | None


class SkippedOut(BaseModel):
    uid: str
    title: str
    reason: str


class ImportCounts(BaseModel):
    created: int
    updated: int
    unchanged: int
    skipped: int
    skipped_events: list[SkippedOut]


def ride_out(row: RideRow, zone: ZoneInfo) -> RideOut:
    ride = ride_from_row(row, zone)
    return RideOut(
        id=row.id,
        start=ride.start,
        end=ride.end,
        duration_min=ride.duration_min,
        kind=ride.kind.value,
        priority=ride.priority.value if ride.priority else None,
        title=ride.title,
        external_id=ride.external_id,
    )


def query_date(key: str, value: str | None) -> date | None:
    """A `from` / `to` filter: a YYYY-MM-DD date in the athlete's zone, or 422 naming it."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        message = f"not a date (YYYY-MM-DD): {value[:40]!r}"
        raise invalid(
            f"invalid input: {key}: {message}", [{"key": key, "message": message}]
        ) from None
    check_date(key, day)
    return day


def new_row(athlete: AthleteRow, ride: Ride) -> RideRow:
    return RideRow(
        athlete_id=athlete.id,
        start=ride.start,
        duration_min=ride.duration_min,
        kind=ride.kind.value,
        priority=ride.priority.value if ride.priority else None,
        title=ride.title,
        external_id=ride.external_id,
    )


class RideController(Controller):
    path = "/api/v1/athletes/{athlete_id:uuid}/rides"
    tags = ["rides"]

    @put("/", raises=OWNED + JSON_BODY)
    async def replace(
        self, athlete_id: uuid.UUID, data: list[Ride], data_scope: NamedDependency[CoachData]
    ) -> list[RideOut]:
        athlete = await data_scope.athlete(athlete_id, lock=True)
        for index, item in enumerate(data):
            check_date(f"{index}.start", item.start)
        try:
            check_rides_do_not_overlap(data)
        except PlannerInputError as exc:
            raise invalid(exc.message, [{"key": "rides", "message": exc.message}]) from exc
        externals = [r.external_id for r in data if r.external_id]
        if len(externals) != len(set(externals)):
            raise invalid("external_id must be unique within the calendar")
        await data_scope.clear_rides(athlete)
        rows = [new_row(athlete, ride) for ride in data]
        data_scope.db.add_all(rows)
        await data_scope.db.flush()
        zone = ZoneInfo(athlete.timezone)
        return [ride_out(row, zone) for row in sorted(rows, key=lambda r: r.start)]

    @post("/", status_code=HTTP_201_CREATED, raises=OWNED + JSON_BODY + [Conflict])
    async def add(
        self, athlete_id: uuid.UUID, data: Ride, data_scope: NamedDependency[CoachData]
    ) -> RideOut:
        athlete = await data_scope.athlete(athlete_id, lock=True)
        check_date("start", data.start)
        zone = ZoneInfo(athlete.timezone)
        for row in await data_scope.rides(athlete, data.start - timedelta(days=1), data.end):
            existing = ride_from_row(row, zone)
            if rides_overlap(data, [existing]) is not None:
                raise HTTPException(
                    status_code=409,
                    detail=f"the ride overlaps {existing.label()!r} at {existing.start.isoformat()} (id {row.id})",
                )
        row = new_row(athlete, data)
        data_scope.db.add(row)
        await data_scope.db.flush()
        return ride_out(row, zone)

    @get("/", raises=OWNED + [Unprocessable])
    async def list_rides(
        self,
        athlete_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        from_: Annotated[str | None, Parameter(query="from", **DATE_FILTER)] = None,
        to: Annotated[str | None, Parameter(query="to", **DATE_FILTER)] = None,
    ) -> list[RideOut]:
        athlete = await data_scope.athlete(athlete_id)
        since, until = query_date("from", from_), query_date("to", to)
        zone = ZoneInfo(athlete.timezone)
        lo = datetime.combine(since, time(), zone) if since else None
        hi = datetime.combine(until + timedelta(days=1), time(), zone) if until else None
        return [ride_out(row, zone) for row in await data_scope.rides(athlete, lo, hi)]

    @delete("/{ride_id:uuid}", status_code=HTTP_204_NO_CONTENT, raises=OWNED)
    async def remove(
        self, athlete_id: uuid.UUID, ride_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> None:
        athlete = await data_scope.athlete(athlete_id, lock=True)
        await data_scope.db.delete(await data_scope.ride(athlete, ride_id))

    @post(
        "/import",
        status_code=200,
        request_max_body_size=5 * 1024 * 1024,
        raises=OWNED + [TooLarge, UnsupportedType],
        operation_class=CalendarUpload,
    )
    async def import_ics(
        self, athlete_id: uuid.UUID, request: Request, data_scope: NamedDependency[CoachData]
    ) -> ImportCounts:
        athlete = await data_scope.athlete(athlete_id, lock=True)
        body = await request.body()
        person = athlete_from_row(athlete)
        now = clock.now()
        try:
            result = read_calendar(
                body,
                now - IMPORT_BACK,
                now + IMPORT_AHEAD,
                person.settings,
                default_tz=person.timezone,
            )
        except CalendarError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        zone = ZoneInfo(athlete.timezone)
        existing = {
            row.external_id: row for row in await data_scope.rides(athlete) if row.external_id
        }
        others = [
            ride_from_row(r, zone) for r in await data_scope.rides(athlete) if not r.external_id
        ]
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        skipped = [SkippedOut(uid=s.uid, title=s.title, reason=s.reason) for s in result.skipped]
        accepted: list[Ride] = list(others)
        for item in result.rides:
            ride = item.ride
            clash = rides_overlap(ride, accepted)
            if clash is not None:
                skipped.append(
                    SkippedOut(
                        uid=item.uid,
                        title=ride.title or "",
                        reason=f"overlaps {clash.label()!r} at {clash.start.isoformat()}",
                    )
                )
                continue
            accepted.append(ride)
            row = existing.get(ride.external_id)
            if row is None:
                data_scope.db.add(new_row(athlete, ride))
                counts["created"] += 1
                continue
            fresh = new_row(athlete, ride)
            same = (
                row.start == ride.start
                and row.duration_min == fresh.duration_min
                and row.kind == fresh.kind
                and row.priority == fresh.priority
                and row.title == fresh.title
            )
            if same:
                counts["unchanged"] += 1
            else:
                row.start, row.duration_min, row.kind = ride.start, fresh.duration_min, fresh.kind
                row.priority, row.title = fresh.priority, fresh.title
                counts["updated"] += 1
        await data_scope.db.flush()
        return ImportCounts(**counts, skipped=len(skipped), skipped_events=skipped)
