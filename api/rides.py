"""The ride calendar: replace (JSON), add, list, delete, and import an .ics export."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import clock
from api.convert import athlete_from_row, ride_from_row
from api.db import AthleteRow, CalendarSourceRow, RideRow
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
from api.staleness import flag_stale_plan
from planner.calendar_in import (
    MAX_CONCURRENT_IMPORTS,
    CalendarError,
    CalendarOverBudget,
    CalendarTooSlow,
    ImportedRide,
    ImportResult,
    read_calendar_bounded,
    says_not_a_ride,
)
from planner.domain import Athlete, Priority, Ride, RideKind
from planner.errors import PlannerInputError
from planner.problem import ByStart, check_rides_do_not_overlap, ride_conflicts, rides_overlap

# Calendar reads wait (for a slot, then for their child process) in threads of their own: in
# the event loop's default pool (6 threads on 2 cores) six slow imports held every thread, and
# every plan request queued behind them (a hostile-input trial). Beyond the slots, a few wait
# their turn; more are told to come back.
_READERS = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_IMPORTS, thread_name_prefix="ics-read")
MAX_WAITING_IMPORTS = 8
_reading = 0  # imports reading or waiting to, in this process (its event loop's thread only)


async def _read(body: bytes, start: datetime, end: datetime, person: Athlete) -> ImportResult:
    global _reading
    if _reading >= MAX_CONCURRENT_IMPORTS + MAX_WAITING_IMPORTS:
        raise HTTPException(
            status_code=503,
            detail=f"{_reading} calendar imports are under way or waiting; try again in a minute",
            headers={"Retry-After": "60"},
        )
    _reading += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(
            _READERS,
            partial(read_calendar_bounded, body, start, end, person.settings, person.timezone),
        )
    finally:
        _reading -= 1


_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def as_utf8(body: bytes, content_type: str) -> bytes:
    """The body in UTF-8, from the charset its content type names (text/calendar;
    charset=iso-8859-1: a Latin-1 export was refused as "not UTF-8", a trial); 400 naming a
    charset Python does not know or the body does not fit."""
    found = _CHARSET.search(content_type)
    charset = found.group(1).lower() if found else ""
    if charset in ("", "utf-8", "utf8", "us-ascii", "ascii"):
        return body
    try:
        body.decode("utf-8")
        return body  # UTF-8 whatever the label says (ISO-8859-1, an old default of HTTP's)
    except UnicodeDecodeError:
        pass
    try:
        return body.decode(charset).encode("utf-8")
    except LookupError:
        raise HTTPException(
            status_code=400, detail=f"unknown charset {charset!r} in the content type"
        ) from None
    except UnicodeError as exc:  # a codec that decodes nothing ("undefined") raises its base
        raise HTTPException(
            status_code=400, detail=f"the body is not {charset} text ({exc})"
        ) from None


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


class ImportNote(BaseModel):
    uid: str
    title: str
    note: str = Field(description="How the event was read where it did not say (an all-day race)")


class ImportCounts(BaseModel):
    created: int
    updated: int
    unchanged: int
    # occurrences of a recurring series the calendar no longer holds (from now on)
    removed: int = 0
    skipped: int
    skipped_events: list[SkippedOut]
    notes: list[ImportNote] = Field(
        default_factory=list,
        description="Events read with an assumption, one entry per event: a race given as a "
        "whole day is kept clear from 07:00 to 19:00",
    )


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


YMD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def query_date(key: str, value: str | None) -> date | None:
    """A `from` / `to` filter: a YYYY-MM-DD date in the athlete's zone, or 422 naming it."""
    if value is None:
        return None
    try:
        # only the contract's form: date.fromisoformat also reads "2027-W10" and "20270310"
        if not YMD.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        message = f"not a date (YYYY-MM-DD): {value[:40]!r}"
        raise invalid(
            f"invalid input: {key}: {message}", [{"key": key, "message": message}]
        ) from None
    check_date(key, day)
    return day


def query_days(from_: str | None, to: str | None) -> tuple[date | None, date | None]:
    """The `from` and `to` filters together: `to` before `from` is a 422 naming `to` (it would
    only ever answer nothing)."""
    since, until = query_date("from", from_), query_date("to", to)
    if since is not None and until is not None and until < since:
        message = f"{until.isoformat()} is before from ({since.isoformat()})"
        raise invalid(f"invalid input: to: {message}", [{"key": "to", "message": message}])
    return since, until


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
        await flag_stale_plan(data_scope, athlete)
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
        await flag_stale_plan(data_scope, athlete)
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
        since, until = query_days(from_, to)
        zone = ZoneInfo(athlete.timezone)
        lo = datetime.combine(since, time(), zone) if since else None
        hi = datetime.combine(until + timedelta(days=1), time(), zone) if until else None
        return [ride_out(row, zone) for row in await data_scope.rides(athlete, lo, hi)]

    @delete("/{ride_id:uuid}", status_code=HTTP_204_NO_CONTENT, raises=OWNED)
    async def remove(
        self, athlete_id: uuid.UUID, ride_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> None:
        """Delete a ride. One a calendar source brought stays deleted: the source's next
        refreshes leave its event out (the source's `dismissed` lists it)."""
        athlete = await data_scope.athlete(athlete_id, lock=True)
        ride = await data_scope.ride(athlete, ride_id)
        if ride.external_id:
            await dismiss_event(data_scope.db, athlete, ride.external_id)
        await data_scope.db.delete(ride)
        await data_scope.db.flush()
        await flag_stale_plan(data_scope, athlete)

    @post(
        "/import",
        status_code=200,
        request_max_body_size=5 * 1024 * 1024,
        raises=OWNED + [Conflict, TooLarge, UnsupportedType, Unprocessable],
        operation_class=CalendarUpload,
    )
    async def import_ics(
        self, athlete_id: uuid.UUID, request: Request, data_scope: NamedDependency[CoachData]
    ) -> ImportCounts:
        body = as_utf8(await request.body(), request.headers.get("content-type", ""))
        imported = await import_calendar(data_scope, athlete_id, body)
        await flag_stale_plan(data_scope, await data_scope.athlete(athlete_id))
        return imported.counts


async def dismiss_event(db: AsyncSession, athlete: AthleteRow, external_id: str) -> None:
    """The coach deleted the ride of this event: each source listing it leaves it out from
    now on (before, the source's next change brought the ride back)."""
    sources = await db.scalars(
        select(CalendarSourceRow).where(CalendarSourceRow.athlete_id == athlete.id)
    )
    for source in sources:
        if external_id in (source.event_ids or []):
            source.dismissed = sorted({*(source.dismissed or []), external_id})


DISMISSED = (
    # a series' occurrences share their UID: the day tells them apart
    "its ride on {day} was deleted by the coach; DELETE .../calendar-sources/{{id}}/dismissed "
    "brings the "
    "deleted events back"
)


class NoRidesRead(Exception):
    """A followed calendar read no ride at all this time (empty, or only all-day events and
    notes): nothing is removed, since a publisher's hiccup is likelier than a season given up."""


@dataclass
class Imported:
    counts: ImportCounts
    # the events left out because the coach deleted their rides, under their ids of this read
    # (a series moved to another time gives its occurrences new ids: the dismissal follows)
    dismissed: list[str]
    # stored rides' ids kept because their event could not be read this time: still the
    # calendar's (a source keeps them among its events, to remove once the event is gone)
    kept: list[str] = field(default_factory=list)


# what weighs more for the plan, of two events of one calendar at the same time
_PRIORITY_WEIGHT = {Priority.A: 3, Priority.B: 2, Priority.C: 1}


def _weight(ride: Ride) -> tuple[bool, int, bool, int]:
    return (
        ride.kind == RideKind.race,
        _PRIORITY_WEIGHT.get(ride.priority, 0),
        ride.kind == RideKind.long,
        ride.duration_min,
    )


def _kept_over(kept: Ride, dropped: Ride, zone: ZoneInfo) -> str:
    """Why `kept` stays where two events of the calendar overlap, in a coach's words."""
    at = f"{kept.label()!r} at {kept.start.astimezone(zone).isoformat()}"
    if _weight(kept) <= _weight(dropped):
        return f"overlaps {at}, an earlier event of this calendar"
    if kept.kind == RideKind.race and dropped.kind != RideKind.race:
        why = "a race before a training ride"
    elif kept.kind == RideKind.race and kept.priority != dropped.priority:
        why = "the race of higher priority"
    elif kept.kind == RideKind.race:
        why = "the longer race"
    elif kept.kind == RideKind.long and dropped.kind != RideKind.long:
        why = "a long ride before a shorter session"
    else:
        why = "the longer ride"
    return f"overlaps {at}, which is kept ({why})"


def _occurrence_day(external_id: str | None, zone: ZoneInfo) -> tuple[str, date] | None:
    """A series occurrence's (series UID, local day of its RECURRENCE-ID) from its id
    `UID#RECURRENCE-ID`: the day it was first planned for, however it moved since."""
    series, _, recurrence = (external_id or "").rpartition("#")
    if not series:
        return None
    try:
        moment = datetime.fromisoformat(recurrence)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return series, moment.date()


async def import_calendar(
    data_scope: CoachData,
    athlete_id: uuid.UUID,
    body: bytes,
    *,
    adjust: Callable[[Ride], Ride] | None = None,
    release: bool = True,
    dismissed: frozenset[str] = frozenset(),
    known: frozenset[str] | None = None,
    clash: str = "refuse",
) -> Imported:
    """Upsert the rides of an .ics export (POST .../rides/import, the dashboard's upload and a
    calendar source's refresh). `adjust` sees every ride read, before the import's checks (a
    source's kind mapping). Raises the API's errors: 400 not a calendar, 409 overlaps, 413/422
    over budget. `release`: end the request's read-only transaction before the file is read,
    so no pooled database connection waits with it (up to 20 s for a slot and the read); a
    caller holding locks or unwritten changes (a source's refresh) keeps it. `dismissed`: event
    UIDs left out (a source's events whose rides the coach deleted).

    A followed calendar (a source) passes `known`, the events it brought before: their rides
    from now on go when the calendar no longer holds them, and a read with no ride at all
    raises NoRidesRead instead; and `clash="skip"`: an event overlapping a stored ride it does
    not rewrite is left out, named in `skipped_events`, instead of refusing the whole calendar
    (409) as an upload does: nobody reads a refresh's 409, and one clash kept an A race out."""
    # read without the athlete's lock: other writes for the athlete need not wait on it
    person = athlete_from_row(await data_scope.athlete(athlete_id))
    if release and not (data_scope.db.new or data_scope.db.dirty or data_scope.db.deleted):
        # sixty slow imports held sixty connections: other coaches' requests waited out the
        # pool's timeout and got 500s (a hostile-input trial); nothing is written yet
        await data_scope.db.commit()
    now = clock.now()
    try:
        # a child process with a time and memory budget; one of the readers' threads waits
        result = await _read(body, now - IMPORT_BACK, now + IMPORT_AHEAD, person)
    except CalendarOverBudget as exc:
        raise over_budget(exc) from exc
    except CalendarError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    athlete = await data_scope.athlete(athlete_id, lock=True)
    zone = ZoneInfo(athlete.timezone)
    rows = await data_scope.rides(athlete)
    produced = {item.ride.external_id for item in result.rides}
    if known and not result.rides:
        # a followed calendar with no ride left in it would take every ride ahead it brought
        # (an emptied export, the wrong calendar: a lone all-day event removed a season, a
        # coach's trial); a season over, with none ahead, removes nothing and is no failure
        ahead = [r for r in rows if r.external_id in known and r.start >= now]
        if ahead:
            raise NoRidesRead(
                "the calendar came back with no ride to import (its events, if any, are all-day "
                f"or not rides); the {len(ahead)} ride(s) ahead it brought are kept. If it was "
                "emptied on purpose, delete the rides (DELETE .../rides/{ride_id}) or this "
                "source (DELETE .../calendar-sources/{id}?rides=remove)"
            )
    skipped = [SkippedOut(uid=s.uid, title=s.title, reason=s.reason) for s in result.skipped]
    # a dismissal holds for its occurrence's day when its series moved to another time: each
    # occurrence then has a new id (its RECURRENCE-ID), and the deleted ride came back (a
    # coach's trial); a dismissed id still in the calendar keeps to itself
    dismissed_days = {
        day
        for e in dismissed
        if e not in produced and (day := _occurrence_day(e, zone)) is not None
    }
    still_dismissed: list[str] = []
    accepted: list[ImportedRide] = []
    # the calendar's own events left out for an overlap with one that weighs more: by the
    # winner's id(), the losers (their stored rides go, or the winner takes one, if it is
    # written; if it is not, they stay as they were)
    displaced: dict[int, list[ImportedRide]] = {}
    loser_skips: dict[int, SkippedOut] = {}
    seen: set[str | None] = set()
    for item in result.rides:  # sorted by start
        if adjust is not None:
            item = replace(item, ride=adjust(item.ride))
        external = item.ride.external_id
        moved = _occurrence_day(external, zone) if external in produced else None
        if external in dismissed or (moved is not None and moved in dismissed_days):
            on = item.ride.start.astimezone(zone).date()
            reason = DISMISSED.format(day=f"{on:%a} {on.day} {on:%b} {on.year}")
            skipped.append(SkippedOut(uid=item.uid, title=item.ride.title or "", reason=reason))
            still_dismissed.append(external or item.uid)
            continue
        if external in seen:  # one event twice: a second row could not be stored
            skipped.append(
                SkippedOut(uid=item.uid, title=item.ride.title or "", reason="the same event twice")
            )
            continue
        seen.add(external)
        # the calendar's own events overlapping: the one that weighs more for the plan stays
        # (an A race put on the long ride's Sunday, the series' occurrence not deleted)
        before = accepted[-1] if accepted else None
        if before is not None and item.ride.start.timestamp() < before.ride.end.timestamp():
            kept, dropped = (
                (item, before) if _weight(item.ride) > _weight(before.ride) else (before, item)
            )
            if kept is item:
                accepted[-1] = item
            loser_skips[id(dropped)] = SkippedOut(
                uid=dropped.uid,
                title=dropped.ride.title or "",
                reason=_kept_over(kept.ride, dropped.ride, zone),
            )
            skipped.append(loser_skips[id(dropped)])
            displaced.setdefault(id(kept), []).extend([dropped, *displaced.pop(id(dropped), [])])
            continue
        accepted.append(item)
    # rides that go from now on (past rides are history): a series' occurrences the calendar
    # no longer holds (an EXDATE, a changed RRULE: a race moved onto such a date was refused
    # with a 409 against that ride), and a source's events gone from it; before the overlaps
    # are judged, so none stands in the way
    # an event the calendar still holds but that could not be read at all (a series re-exported
    # without its DTEND) says nothing of its rides: they stay (a hostile-input trial saw ten
    # go), and its entry in skipped_events says so
    unread = {s.uid for s in result.skipped if not says_not_a_ride(s.reason)} - {
        item.uid for item in result.rides
    }
    kept_rows = [
        row
        for row in rows
        if row.external_id and (row.external_id in unread or _event_uid(row.external_id) in unread)
    ]
    kept_unread = {row.id for row in kept_rows}
    stale = [
        row
        for row in stale_occurrences(result, rows, now - IMPORT_BACK, now + IMPORT_AHEAD, now)
        if row.id not in kept_unread
    ]
    stale_ids = {row.id for row in stale}
    if known:
        stale += [
            row
            for row in rows
            if row.external_id in known
            and row.external_id not in produced
            and row.start >= now
            and row.id not in stale_ids
            and row.id not in kept_unread
        ]
    # an event the calendar now says is no ride (cancelled, made all-day, retitled a run)
    # takes its rides ahead away, a race's days too, as a series' occurrences go (a cancelled A
    # race kept its ride, and the plan tapered for it: a trial)
    no_ride_now = {s.uid for s in result.skipped if says_not_a_ride(s.reason)} - {
        item.uid for item in result.rides
    }
    if no_ride_now:
        stale_ids = {row.id for row in stale}
        stale += [
            row
            for row in rows
            if row.external_id
            and _event_uid(row.external_id) in no_ride_now
            and row.start >= now
            and row.id not in stale_ids
            and row.id not in kept_unread
        ]
    if kept_unread:
        for entry in skipped:
            if entry.uid in unread:
                entry.reason += "; the rides stored for it are kept"
    stale_ids = {row.id for row in stale}
    rows = [row for row in rows if row.id not in stale_ids]
    by_external = {row.external_id: row for row in rows if row.external_id}
    # the stored rides of the events a written winner displaced: taken over by the winner when
    # it has none of its own (an A race takes the Sunday long ride's row), else removed
    losers_of = {
        key: [by_external[d.ride.external_id] for d in items if d.ride.external_id in by_external]
        for key, items in displaced.items()
    }
    matches = match_stored(accepted, rows, zone, losers_of)
    # each event that would overlap a ride that stays (entered by hand, from another calendar,
    # or the stored ride of an event left out) is left out in turn, until none does: a
    # followed calendar skips them, an upload is refused whole (409). A row an event left out
    # had taken over stays as it was, and is judged in its turn: each event and row once, so
    # a chain of moved events costs no more than the calendar's size
    taken_by = {row.id: key for key, row in matches.items()}
    going = {row.id for losers in losers_of.values() for row in losers if row.id not in taken_by}
    ride_of = {row.id: ride_from_row(row, zone) for row in rows}
    staying = [ride_of[row.id] for row in rows if row.id not in taken_by and row.id not in going]
    conflicts = ride_conflicts([item.ride for item in accepted], staying)
    if conflicts and clash != "skip":
        raise overlapping_import(conflicts, accepted, zone)
    by_ride = {id(item.ride): item for item in accepted}
    by_start = ByStart(accepted, lambda item: item.ride)
    blocked: dict[int, Ride] = {}
    freed: list[RideRow] = []

    def block(item: ImportedRide, stored: Ride) -> None:
        if id(item) in blocked:
            return
        blocked[id(item)] = stored
        own = matches.get(id(item))
        freed.extend([own] if own is not None else [])
        freed.extend(
            r for r in losers_of.get(id(item), []) if taken_by.get(r.id, id(item)) == id(item)
        )

    for ride, stored in conflicts:
        block(by_ride[id(ride)], stored)
    while freed:
        ride = ride_of[freed.pop().id]
        for item in by_start.overlapping(ride):
            block(item, ride)
    live = [item for item in accepted if id(item) not in blocked]
    written = {id(item) for item in live}
    going = {
        row.id
        for key, losers in losers_of.items()
        if key in written
        for row in losers
        if taken_by.get(row.id) not in written
    }
    for item in accepted:
        stored = blocked.get(id(item))
        if stored is not None:
            skipped.append(
                SkippedOut(
                    uid=item.uid,
                    title=item.ride.title or "",
                    reason=f"overlaps the stored ride {stored.label()!r} at "
                    f"{stored.start.astimezone(zone).isoformat()} (id {stored.id}), which "
                    "stays: delete or move one of them to bring this event in",
                )
            )
        for loser in displaced.get(id(item), []) if stored is not None else []:
            loser_skips[id(loser)].reason += (
                "; that event is left out too (it overlaps a stored ride), so this one's "
                "stored ride stays as it was"
            )
    accepted = live
    matches = {key: row for key, row in matches.items() if key in written}
    stale += [row for row in rows if row.id in going]
    for row in stale:
        await data_scope.db.delete(row)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": len(stale)}
    for item in accepted:
        fresh = new_row(athlete, item.ride)
        row = matches.get(id(item))
        if row is None:
            data_scope.db.add(fresh)
            counts["created"] += 1
            continue
        fields = ("start", "duration_min", "kind", "priority", "title", "external_id")
        if all(getattr(row, name) == getattr(fresh, name) for name in fields):
            counts["unchanged"] += 1
            continue
        for name in fields:
            setattr(row, name, getattr(fresh, name))
        counts["updated"] += 1
    await data_scope.db.flush()
    notes = {
        item.uid: ImportNote(uid=item.uid, title=item.ride.title or "", note=item.note)
        for item in accepted
        if item.note
    }
    return Imported(
        ImportCounts(
            **counts, skipped=len(skipped), skipped_events=skipped, notes=list(notes.values())
        ),
        sorted(set(still_dismissed)),
        sorted({row.external_id for row in kept_rows if row.external_id}),
    )


def _event_uid(external_id: str) -> str:
    """The UID of the event a stored ride came from (an occurrence's id is UID#RECURRENCE-ID)."""
    uid, hash_sign, _ = external_id.rpartition("#")
    return uid if hash_sign else external_id


def stale_occurrences(
    result: ImportResult, rows: list[RideRow], start: datetime, end: datetime, now: datetime
) -> list[RideRow]:
    """Stored rides from now on, inside the window the import read (`start`, `end`), that were
    occurrences of a series whose master event the calendar holds (`ImportResult.series`), but
    which the series no longer produces. Only a whole series says what it holds: a file with one
    edited occurrence (an invitation update) removes nothing."""
    if not result.series:
        return []
    produced = {item.ride.external_id for item in result.rides}
    return [
        row
        for row in rows
        if row.external_id
        and max(now, start) <= row.start < end
        and row.external_id not in produced
        and row.external_id.rpartition("#")[0] in result.series
    ]


def match_stored(
    accepted: list[ImportedRide],
    rows: list[RideRow],
    zone: ZoneInfo,
    losers_of: dict[int, list[RideRow]] | None = None,
) -> dict[int, RideRow]:
    """The stored row each incoming event rewrites, by id() of the ImportedRide.

    First by external_id (the event was imported before, maybe at another time), then by slot:
    a stored ride with the same start and duration is the same ride, entered by hand or
    imported under another UID, so it takes the event's UID and title instead of a second row;
    then a series' occurrence by the day of its RECURRENCE-ID, among the rows of ids the
    calendar no longer holds: a series moved to another time ("all events" in Google Calendar)
    gives each occurrence a new id, and its past occurrences, kept as history, were refused as
    overlapping their own old times (a coach's trial); last, the row of an event of the
    calendar it displaced (`losers_of`, by the event's id()): an A race over the Sunday long
    ride takes that ride's row.
    """
    by_external = {row.external_id: row for row in rows if row.external_id}
    by_slot: dict[tuple[float, int], RideRow] = {}
    by_day: dict[tuple[str, date], RideRow] = {}
    produced = {item.ride.external_id for item in accepted}
    for row in rows:
        by_slot.setdefault((row.start.timestamp(), row.duration_min), row)
        if row.external_id not in produced:
            day = _occurrence_day(row.external_id, zone)
            if day is not None:
                by_day.setdefault(day, row)
    losers = losers_of or {}
    matches: dict[int, RideRow] = {}
    claimed: set[uuid.UUID] = set()
    passes = (
        lambda item: [by_external.get(item.ride.external_id)],
        lambda item: [by_slot.get((item.ride.start.timestamp(), item.ride.duration_min))],
        lambda item: (
            [by_day.get(day)]
            if (day := _occurrence_day(item.ride.external_id, zone)) is not None
            else []
        ),
        lambda item: losers.get(id(item), []),
    )
    for stored in passes:
        for item in accepted:
            if id(item) in matches:
                continue
            for row in stored(item):
                if row is not None and row.id not in claimed:
                    matches[id(item)] = row
                    claimed.add(row.id)
                    break
    return matches


# conflicts listed one by one in a 409; a calendar clashing everywhere names the first ones
CONFLICTS_LISTED = 50


def overlapping_import(
    conflicts: list[tuple[Ride, Ride]], accepted: list[ImportedRide], zone: ZoneInfo
) -> HTTPException:
    """409: the incoming events that overlap stored rides which are not the same ride."""
    uids = {id(item.ride): item.uid for item in accepted}
    extra = [
        {
            "key": "rides",
            "message": (
                f"event UID {uids[id(ride)]!r} ({ride.label()!r} at {ride.start.isoformat()}) "
                f"overlaps the stored ride {stored.label()!r} at "
                f"{stored.start.astimezone(zone).isoformat()} (id {stored.id})"
            ),
            "uid": uids[id(ride)],
            "ride_id": stored.id,
            "title": stored.title,
            "start": stored.start.astimezone(zone).isoformat(),
        }
        for ride, stored in conflicts[:CONFLICTS_LISTED]
    ]
    more = len(conflicts) - len(extra)
    detail = (
        f"the calendar overlaps {len(conflicts)} stored ride{'s' if len(conflicts) > 1 else ''} "
        f"that {'are' if len(conflicts) > 1 else 'is'} not the same ride (same start and "
        f"duration): {extra[0]['message']}"
        + (f", and {len(conflicts) - 1} more in `extra`" if len(conflicts) > 1 else "")
        + (f" ({more} not listed)" if more else "")
        + ". Nothing was imported: delete or move the stored rides, or fix the calendar"
    )
    return HTTPException(status_code=409, detail=detail, extra=extra)


def over_budget(exc: CalendarOverBudget) -> HTTPException:
    """413 for a calendar too big to read (events, memory), 422 for one too slow to read."""
    status = 422 if isinstance(exc, CalendarTooSlow) else 413
    item: dict[str, Any] = {"key": "calendar", "message": str(exc)}
    if exc.uid is not None:
        item |= {"uid": exc.uid, "summary": exc.title}
    return HTTPException(status_code=status, detail=str(exc), extra=[item])
