"""Calendar sources: an athlete's iCal URL that the service fetches by itself (ETag and
If-Modified-Since, 5 MB, 10 s, no private addresses), imports with the .ics import's rules and
re-plans with S4 stability when it changed."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import clock
from api.bodies import StrictBody
from api.convert import session_from_row
from api.db import AthleteRow, CalendarSourceRow, Coach, JobRunRow, RideRow
from api.errors import JSON_BODY, OWNED, Conflict, Unprocessable, invalid
from api.feedback import describe_plan_changes
from api.metrics import observe_solver
from api.plans import replan
from api.repository import CoachData, plan_of, sessions_of
from api.rides import NoRidesRead, import_calendar
from api.runner import JobAccepted, Runner, queued_or_503
from api.settings import Settings
from api.staleness import flag_stale_plan
from planner.domain import Ride, RideKind, Text
from planner.errors import PlannerFailure, PlannerInputError

FETCH_LIMIT_BYTES = 5 * 1024 * 1024
FETCH_TIME_S = 10.0
MAX_REDIRECTS = 3
PAUSE_AFTER_FAILURES = 5
MAX_SOURCES = 10  # per athlete
log = logging.getLogger("planner.sources")


# --- fetching -----------------------------------------------------------------------------


class SourceRefused(ValueError):
    """The URL may not be fetched (scheme, or an address it resolves to); nothing was sent."""


class FetchFailed(Exception):
    """The source answered badly or not at all; the reason is safe to show and to log."""


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None

    def __post_init__(self) -> None:
        # a validator longer than its column is not kept (the next fetch is a whole one): it
        # failed every refresh on PostgreSQL, and cut short it would be a wrong one
        for name in ("etag", "last_modified"):
            value = getattr(self, name)
            if value is not None and len(value) > _COLUMN_LENGTHS[name]:
                object.__setattr__(self, name, None)


def _length(column: str) -> int:
    return CalendarSourceRow.__table__.c[column].type.length  # type: ignore[no-any-return]


_COLUMN_LENGTHS = {name: _length(name) for name in ("etag", "last_modified", "reason")}


def fits_reason(text: str) -> str:
    """A failure reason cut to its column (an import refusal can quote a long UID)."""
    limit = _COLUMN_LENGTHS["reason"]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_url(url: str) -> SplitResult:
    """http(s) with a host, or SourceRefused naming what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SourceRefused(f"not a URL: {exc}") from None
    if not parts.scheme:
        raise SourceRefused("not a URL: give the calendar's address, https://...")
    if parts.scheme not in ("http", "https"):
        raise SourceRefused(f"only http and https sources are fetched, not {parts.scheme!r}")
    if not parts.hostname:
        raise SourceRefused("the URL has no host")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise SourceRefused("the URL holds a space or a control character")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:  # a name, not an address: each label 1-63 characters (IDNA)
        try:
            parts.hostname.encode("idna")
        except UnicodeError:
            raise SourceRefused(
                f"not a host name: {parts.hostname[:100]!r} (empty or over-long label)"
            ) from None
    if port == 0:
        raise SourceRefused("port 0 is not a port")
    return parts


def calendar_key(url: str) -> tuple[str, int, str]:
    """What makes two source addresses one calendar: the host in any case, http or https, the
    default port written or not, the path and query as given (a fragment never reaches the
    server). A coach who pasted the same feed twice, once from a webcal:// link, had it
    imported twice."""
    parts = urlsplit(url)
    port = parts.port or (80 if parts.scheme == "http" else 443)
    if port in (80, 443):
        port = 0  # either scheme's default: the same calendar
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return (parts.hostname or "").rstrip("."), port, target


NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never public
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (a review)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by it: Python calls NAT64, 6to4 and
        # IPv4-compatible addresses global, and through NAT64 [64:ff9b::a9fe:a9fe] is the
        # cloud's metadata service (a hostile trial)
        if ip in NAT64_LOCAL:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and any(ip in net for net in (NAT64, IPV4_COMPATIBLE, IPV4_TRANSLATED)):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    # is_global is false for private, loopback, link-local, shared (CGNAT), reserved and
    # unspecified ranges; multicast is no web server either
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """Every address `host` resolves to, each checked; SourceRefused if any is not public.

    All are checked, not only the first: the connection then goes to a checked address, never
    to a second lookup's answer, so a name that re-resolves to 127.0.0.1 (DNS rebinding) is of
    no use."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        found = [str(literal)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise FetchFailed(f"could not resolve {host!r}: {exc.strerror or exc}") from None
        found = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not found:
        raise FetchFailed(f"{host!r} resolves to no address")
    if not allow_private:
        for address in found:
            if not _public(ipaddress.ip_address(address)):
                raise SourceRefused(
                    f"{host!r} resolves to {address}, a private, loopback or link-local "
                    "address (set ALLOW_PRIVATE_SOURCES=1 to allow them)"
                )
    return found


async def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    limit_bytes: int = FETCH_LIMIT_BYTES,
    time_s: float = FETCH_TIME_S,
) -> Fetched:
    """GET the calendar, conditionally, streaming and stopping at `limit_bytes` and `time_s`
    (the whole exchange, redirects included). Redirects are followed by hand, each checked
    like the first URL."""
    try:
        async with asyncio.timeout(time_s):
            return await _fetch(url, etag, last_modified, allow_private, limit_bytes, time_s)
    except TimeoutError:
        raise FetchFailed(f"no complete answer within {time_s:g} s") from None


async def _fetch(
    url: str,
    etag: str | None,
    last_modified: str | None,
    allow_private: bool,
    limit_bytes: int,
    time_s: float,
) -> Fetched:
    async with httpx.AsyncClient(
        trust_env=False,  # a proxy from the environment would connect where we did not check
        follow_redirects=False,
        timeout=time_s,
        headers={"User-Agent": "periodization-planner (calendar source)"},
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = check_url(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = (await resolve(host, port, allow_private))[0]
            shown = f"[{address}]" if ":" in address else address
            userinfo = parts.netloc.rpartition("@")[0]
            netloc = f"{userinfo}@{shown}:{port}" if userinfo else f"{shown}:{port}"
            headers = {
                "Host": parts.netloc.rpartition("@")[2],
                "Accept": "text/calendar, */*;q=0.5",
            }
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            request = client.build_request(
                "GET",
                urlunsplit(parts._replace(netloc=netloc, fragment="")),
                headers=headers,
                # TLS names and checks the host, while TCP goes to the checked address
                extensions={"sni_hostname": host} if parts.scheme == "https" else {},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise FetchFailed(f"could not fetch: {type(exc).__name__}") from None
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code == 304:
                    return Fetched(
                        True,
                        etag=response.headers.get("etag", etag),
                        last_modified=response.headers.get("last-modified", last_modified),
                    )
                if response.status_code != 200:
                    raise FetchFailed(f"the source answered HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit_bytes:
                    raise FetchFailed(f"the calendar is over {limit_bytes // (1024 * 1024)} MB")
                chunks: list[bytes] = []
                size = 0
                try:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit_bytes:
                            raise FetchFailed(
                                f"the calendar is over {limit_bytes // (1024 * 1024)} MB"
                            )
                        chunks.append(chunk)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"the answer broke off: {type(exc).__name__}") from None
                return Fetched(
                    False,
                    b"".join(chunks),
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
            finally:
                await response.aclose()
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


# --- kinds --------------------------------------------------------------------------------

KindWord = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def relabel(kinds: dict[str, str]) -> Callable[[Ride], Ride]:
    """The source's mapping applied to a ride read from it: the first title word (case does
    not matter) found in the title sets the kind; a race keeps the priority its title gave."""
    lowered = [(word.lower(), RideKind(kind)) for word, kind in kinds.items()]

    def adjust(ride: Ride) -> Ride:
        title = (ride.title or "").lower()
        for word, kind in lowered:
            if word in title:
                if kind == ride.kind:
                    return ride
                priority = ride.priority if kind == RideKind.race else None
                return ride.model_copy(update={"kind": kind, "priority": priority})
        return ride

    return adjust


# --- the refresh --------------------------------------------------------------------------


async def replan_current(
    db: AsyncSession,
    athlete: AthleteRow,
    settings: Settings,
    job: str,
    changes: list[str] | None = None,
) -> bool:
    """Re-plan the athlete's current plan (its start and weeks) keeping what is published
    (S4); False when there is no plan, or it has ended. Raises the planner's errors.
    `changes` gets what the re-plan changed ahead, in the words the feedback answers use, and
    the weeks whose phase moved (an A race added, moved or removed)."""
    plan_row = await plan_of(db, athlete)
    if plan_row is None:
        return False
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    if plan_row.start + timedelta(weeks=plan_row.weeks) <= today:
        return False
    rides = list(
        (
            await db.scalars(
                select(RideRow).where(RideRow.athlete_id == athlete.id).order_by(RideRow.start)
            )
        ).all()
    )
    if changes is not None:  # only a refresh asks: a roster job's re-plans read nothing more
        ahead_before = await sessions_of(db, athlete)
        before = [session_from_row(r, zone) for r in ahead_before if r.start >= now]
        phases = [(w.get("start"), w.get("end"), w.get("phase")) for w in _weeks(plan_row.report)]
    row, after = await replan(db, athlete, rides, settings, plan_row.start, plan_row.weeks)
    observe_solver(row.report, job)
    if changes is not None:
        ahead = [session_from_row(r, zone) for r in after if r.start >= now]
        changes += [
            f"week {index + 1} (from {start}): {was}, now {week.get('phase')}"
            for index, ((start, end, was), week) in enumerate(
                zip(phases, _weeks(row.report), strict=False)
            )
            if end is not None
            and end >= today.isoformat()
            and week.get("start") == start
            and was != week.get("phase")
        ]
        changes += describe_plan_changes(before, ahead, "")
    return True


def _weeks(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((report or {}).get("week_reports", []))


def _retry_in(settings: Settings, failures: int) -> float:
    return min(
        settings.source_retry_s * 2 ** max(failures - 1, 0), settings.source_refresh_min * 60
    )


async def refresh_source(
    make_session: async_sessionmaker[AsyncSession],
    settings: Settings,
    source_id: uuid.UUID,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Fetch one source and, when it changed, import it and re-plan, in one transaction under
    the athlete's lock (the lock feedback takes). Returns what happened; `retry_in` (seconds)
    when the caller should try again sooner than the next scheduled refresh.

    Idempotent: the validators and the content's hash are stored with the import, so a repeat
    finds nothing new."""
    async with make_session() as db:
        source = await db.get(CalendarSourceRow, source_id)
        if source is None:
            return {"outcome": "gone"}
        if source.status == "paused" and not force:
            return {"outcome": "paused"}
        url, etag, modified = source.url, source.etag, source.last_modified
        known_hash, kinds = source.content_hash, dict(source.kinds or {})
        pending = bool((source.last_result or {}).get("replan_pending"))
    fetched: Fetched | None = None
    failure: str | None = None
    try:
        fetched = await fetch(
            url,
            etag=etag,
            last_modified=modified,
            allow_private=settings.allow_private_sources,
        )
    except (SourceRefused, FetchFailed) as exc:
        failure = str(exc)
    now = clock.now()
    async with make_session() as db, db.begin():
        source = await db.get(CalendarSourceRow, source_id)
        if source is None:
            return {"outcome": "gone"}
        athlete_row = await db.get(AthleteRow, source.athlete_id)
        coach = await db.get(Coach, athlete_row.coach_id) if athlete_row else None
        if athlete_row is None or coach is None:
            return {"outcome": "gone"}
        data = CoachData(db, coach)
        athlete = await data.athlete(athlete_row.id, lock=True)
        # read again under the lock: a ride deleted meanwhile has dismissed its event, and a
        # list read before the lock would bring the ride back (and forget the dismissal)
        await db.refresh(source)
        source.checked_at = now
        result: dict[str, Any] = {"outcome": "not_modified"}
        if failure is None and fetched is not None:
            digest = hashlib.sha256(fetched.body).hexdigest() if not fetched.not_modified else None
            if (fetched.not_modified or digest == known_hash) and not pending:
                source.status, source.reason, source.failures = "not_modified", None, 0
                source.etag = fetched.etag or source.etag
                source.last_modified = fetched.last_modified or source.last_modified
            elif fetched.not_modified or digest == known_hash:
                result = await _replan_pending(db, athlete, settings, source)
                failure = result.pop("failure", None)
            else:
                result, failure = await _import(data, db, athlete, settings, source, fetched, kinds)
                if failure is None:
                    source.content_hash = digest
        if failure is not None:
            source.failures += 1
            source.status, source.reason = "error", fits_reason(failure)
            result = {"outcome": "error", "reason": failure}
            if source.failures >= PAUSE_AFTER_FAILURES:
                source.status = "paused"
                source.reason = fits_reason(
                    f"paused after {source.failures} failures in a row; the last: {failure}"
                )
                result["outcome"] = "paused"
            else:
                result["retry_in"] = _retry_in(settings, source.failures)
        result["failures"] = source.failures
        return result


async def _replan_pending(
    db: AsyncSession, athlete: AthleteRow, settings: Settings, source: CalendarSourceRow
) -> dict[str, Any]:
    """The calendar is as imported, but the re-plan after that import failed: try it again."""
    try:
        replanned = await replan_current(db, athlete, settings, "refresh")
    except (PlannerFailure, PlannerInputError) as exc:
        return {"outcome": "error", "failure": f"the re-plan failed: {exc}"}
    source.status, source.reason, source.failures = "ok", None, 0
    source.last_result = {**(source.last_result or {}), "replan_pending": False}
    source.last_result["replanned"] = replanned
    return {"outcome": "ok", "replanned": replanned}


SKIPPED_SHOWN = 20  # skipped events a source's last_result names (the count says them all)


async def _brought_by_others(db: AsyncSession, source: CalendarSourceRow) -> set[str]:
    """The event ids the athlete's other followed calendars bring: their rides stay when this
    calendar drops them (a refresh, or a DELETE with ?rides=remove)."""
    others = await db.scalars(
        select(CalendarSourceRow).where(
            CalendarSourceRow.athlete_id == source.athlete_id, CalendarSourceRow.id != source.id
        )
    )
    return {event for other in others for event in other.event_ids or ()}


async def _import(
    data: CoachData,
    db: AsyncSession,
    athlete: AthleteRow,
    settings: Settings,
    source: CalendarSourceRow,
    fetched: Fetched,
    kinds: dict[str, str],
) -> tuple[dict[str, Any], str | None]:
    seen: list[str] = []
    mapped = relabel(kinds)

    def adjust(ride: Ride) -> Ride:
        if ride.external_id:
            seen.append(ride.external_id)
        return mapped(ride)

    try:
        imported = await import_calendar(
            data,
            athlete.id,
            fetched.body,
            adjust=adjust,
            release=False,
            dismissed=frozenset(source.dismissed or ()),
            # an event another followed calendar of the athlete still brings keeps its ride
            known=frozenset(source.event_ids or ()) - await _brought_by_others(db, source),
            clash="skip",
        )
    except NoRidesRead as exc:
        # a calendar that comes back with no ride (empty, or only all-day events and notes)
        # is far likelier a hiccup of the publisher, or the wrong calendar, than a season given
        # up (a new user's trial saw an empty answer, then a lone all-day event, remove every
        # ride, the A race with them): nothing is removed, and the coach is told
        return {}, str(exc)
    except HTTPException as exc:  # the import's own answers: 400, 413, 422
        return {}, f"the import was refused ({exc.status_code}): {exc.detail}"
    counts = imported.counts
    changed = counts.created + counts.updated + counts.removed
    source.event_ids = sorted(set(seen) | set(imported.kept))
    # an event gone from the source is no longer left out; one moved keeps its dismissal
    source.dismissed = imported.dismissed
    source.etag, source.last_modified = fetched.etag, fetched.last_modified
    result: dict[str, Any] = {
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "skipped": counts.skipped,
        # what was skipped and why (an all-day event: where a day off belongs instead)
        "skipped_events": [e.model_dump() for e in counts.skipped_events[:SKIPPED_SHOWN]],
        "notes": [n.model_dump() for n in counts.notes[:SKIPPED_SHOWN]],
        "removed": counts.removed,
        "replanned": False,
        "replan_pending": False,
    }
    failure = None
    if changed:
        await db.flush()
        try:
            changes: list[str] = []
            result["replanned"] = await replan_current(db, athlete, settings, "refresh", changes)
            # what the coach would otherwise hunt for in the weeks' reports (a coach's trial)
            result["plan_changes"] = changes
        except (PlannerFailure, PlannerInputError) as exc:
            result["replan_pending"] = True
            failure = f"imported, but the re-plan failed: {exc}"
    source.last_result = result
    source.changed_at = clock.now()
    if failure is None:
        source.status, source.reason, source.failures = "ok", None, 0
    return {"outcome": "ok", **result}, failure


# --- the API ------------------------------------------------------------------------------


class SourceIn(StrictBody):
    url: str = Field(
        max_length=2000,
        description="The calendar's http(s) iCal address; a webcal:// link is taken as https",
    )
    kinds: dict[KindWord, RideKind] = Field(
        default_factory=dict,
        max_length=50,
        description="Title word -> ride kind, over the import's guess: the first word found "
        "in an event's title (any case) sets its kind",
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        # calendar apps hand out webcal:// links: the same address over https (RFC-less but
        # universal: Apple, Google, Outlook and TrainingPeaks all mean it so)
        if value[:9].lower() == "webcal://":
            value = "https://" + value[9:]
        try:
            check_url(value)
        except SourceRefused as exc:
            raise ValueError(str(exc)) from None
        return value


class SourceOut(BaseModel):
    id: uuid.UUID
    url: str
    kinds: dict[str, str]
    status: str = Field(
        description="pending (not fetched yet), ok (imported), not_modified, error or paused"
    )
    reason: str | None = Field(description="Why, for error and paused")
    checked_at: datetime | None = Field(description="The last refresh")
    changed_at: datetime | None = Field(description="The last refresh that found a change")
    failures: int = Field(description="Failed refreshes in a row; 5 pause the source")
    last_result: dict[str, Any] = Field(
        description="The last import: created, updated, unchanged, skipped, removed, replanned"
    )
    dismissed: list[str] = Field(
        default_factory=list,
        description="Event UIDs whose rides the coach deleted: refreshes leave them out "
        "(DELETE .../dismissed brings them back)",
    )


class RefreshAccepted(JobAccepted):
    source: SourceOut


def source_out(row: CalendarSourceRow) -> SourceOut:
    return SourceOut(
        id=row.id,
        url=row.url,
        kinds=dict(row.kinds or {}),
        status=row.status,
        reason=row.reason,
        checked_at=row.checked_at,
        changed_at=row.changed_at,
        failures=row.failures,
        last_result=dict(row.last_result or {}),
        dismissed=list(row.dismissed or []),
    )


async def sources_of(db: AsyncSession, athlete: AthleteRow) -> list[CalendarSourceRow]:
    query = (
        select(CalendarSourceRow)
        .where(CalendarSourceRow.athlete_id == athlete.id)
        .order_by(CalendarSourceRow.created_at)
    )
    return list((await db.scalars(query)).all())


async def _source(db: AsyncSession, athlete: AthleteRow, source_id: uuid.UUID) -> CalendarSourceRow:
    row = await db.scalar(
        select(CalendarSourceRow).where(
            CalendarSourceRow.id == source_id, CalendarSourceRow.athlete_id == athlete.id
        )
    )
    if row is None:
        raise NotFoundException("calendar source not found")
    return row


# coach refreshes waiting or running at once, counted over the last REFRESH_WINDOW (a row
# left running by a crash stops counting then)
COACH_REFRESHES = 5
REFRESH_WINDOW = timedelta(minutes=10)


async def refreshes_waiting(db: AsyncSession, coach: Coach) -> list[JobRunRow]:
    """The coach's refresh rows waiting or running (queued in the last REFRESH_WINDOW)."""
    recent = select(JobRunRow).where(
        JobRunRow.coach_id == coach.id,
        JobRunRow.kind == "refresh",
        JobRunRow.state.in_(("queued", "running")),
        JobRunRow.queued_at >= clock.now() - REFRESH_WINDOW,
    )
    return list((await db.scalars(recent)).all())


def check_refresh_room(waiting: list[JobRunRow]) -> None:
    """429 when COACH_REFRESHES of the coach's refreshes are waiting or running."""
    if len(waiting) >= COACH_REFRESHES:
        raise HTTPException(
            status_code=429,
            detail=f"{len(waiting)} calendar refreshes of yours are waiting or running: try "
            "again once they are done",
            headers={"Retry-After": "30"},
        )


async def enqueue_refresh(
    runner: Runner,
    db: AsyncSession,
    coach: Coach,
    athlete: AthleteRow,
    source: CalendarSourceRow,
    *,
    bounded: bool = True,
    merge: bool = True,
) -> RefreshAccepted:
    """Commit what the request wrote (the worker reads it), then queue a refresh of this one
    source, paused or not (a success resumes it). The answer shows the source as committed.

    A refresh of the same source still waiting is answered instead of queuing another (it
    reads the source when it starts); `bounded`: a coach with COACH_REFRESHES refreshes
    waiting or running gets 429 (a hostile trial: six refreshes of a source that hung held
    another coach's re-plan for a minute)."""
    out = source_out(source)  # before the commit, which expires the row
    tag = f"refresh of source {source.id}"
    waiting = await refreshes_waiting(db, coach)
    same = next((r for r in waiting if r.state == "queued" and r.detail == tag), None)
    if same is not None and merge:
        await db.commit()  # what the request wrote: the waiting refresh reads it
        return RefreshAccepted(job_id=same.job_id, state="queued", source=out)
    if bounded:
        check_refresh_room(waiting)
    job_id = await runner.record(db, coach, [athlete.id], "refresh", detail=tag)
    await db.commit()
    await queued_or_503(
        db,
        job_id,
        "refresh_athlete",
        runner.enqueue_refresh(athlete.id, job_id=job_id, force=True, source_id=source.id),
        "the change is saved, but the job queue could not take the refresh: the source is "
        "fetched at the next scheduled refresh, or refresh it in a minute",
    )
    return RefreshAccepted(job_id=job_id, state="queued", source=out)


class SourceController(Controller):
    path = "/api/v1/athletes/{athlete_id:uuid}/calendar-sources"
    tags = ["calendar sources"]

    @post("/", status_code=HTTP_201_CREATED, raises=OWNED + JSON_BODY + [Conflict])
    async def add(
        self,
        athlete_id: uuid.UUID,
        data: SourceIn,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
        jobs: NamedDependency[Runner],
    ) -> RefreshAccepted:
        """Follow an athlete's published calendar. The first fetch runs at once as a job
        (`job_id`); later ones every SOURCE_REFRESH_MIN minutes. Only http(s); private,
        loopback and link-local addresses are refused unless ALLOW_PRIVATE_SOURCES=1."""
        # no athlete lock: this request commits before it enqueues, and a duplicate URL is
        # refused by the table's unique constraint
        athlete = await data_scope.athlete(athlete_id)
        parts = check_url(data.url)
        try:
            await resolve(parts.hostname or "", parts.port or 443, settings.allow_private_sources)
        except SourceRefused as exc:
            message = str(exc)
            raise invalid(
                f"invalid input: url: {message}", [{"key": "url", "message": message}]
            ) from None
        except FetchFailed:
            pass  # a name that does not resolve today may tomorrow: the refresh will say
        existing = await sources_of(data_scope.db, athlete)
        same = next((r for r in existing if calendar_key(r.url) == calendar_key(data.url)), None)
        if same is not None:
            raise HTTPException(
                status_code=409,
                detail=f"this calendar is already a source: {same.id}",
            )
        if len(existing) >= MAX_SOURCES:
            raise HTTPException(
                status_code=409, detail=f"at most {MAX_SOURCES} calendar sources per athlete"
            )
        # a new source's first read is a refresh too: with the coach's refreshes at their
        # bound, the source is not added (a review: adds went round the bound)
        check_refresh_room(await refreshes_waiting(data_scope.db, data_scope.coach))
        row = CalendarSourceRow(
            athlete_id=athlete.id,
            url=data.url,
            kinds={word: kind.value for word, kind in data.kinds.items()},
            event_ids=[],
            status="pending",
            failures=0,
            last_result={},
        )
        data_scope.db.add(row)
        await data_scope.db.flush()
        # a new source's first read is never refused: the source would stay pending
        return await enqueue_refresh(
            jobs, data_scope.db, data_scope.coach, athlete, row, bounded=False
        )

    @get("/", raises=OWNED)
    async def list_sources(
        self, athlete_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> list[SourceOut]:
        """The athlete's sources with each one's last refresh: status, reason, time."""
        athlete = await data_scope.athlete(athlete_id)
        return [source_out(row) for row in await sources_of(data_scope.db, athlete)]

    @get("/{source_id:uuid}", raises=OWNED)
    async def read(
        self, athlete_id: uuid.UUID, source_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> SourceOut:
        athlete = await data_scope.athlete(athlete_id)
        return source_out(await _source(data_scope.db, athlete, source_id))

    @delete("/{source_id:uuid}", status_code=HTTP_204_NO_CONTENT, raises=OWNED + [Unprocessable])
    async def remove(
        self,
        athlete_id: uuid.UUID,
        source_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        rides: Annotated[
            str | None,
            Parameter(
                query="rides",
                required=False,
                description="keep (the default): the rides it brought stay, as history and "
                "plan; remove: its rides from now on go too (past rides stay), except those "
                "another of the athlete's calendars also brings",
            ),
        ] = None,
    ) -> None:
        """Stop following the calendar. The rides it brought stay, unless `?rides=remove`."""
        if rides not in (None, "keep", "remove"):
            message = f"{rides[:50]!r}: keep or remove"
            raise invalid(
                f"invalid input: rides: {message}", [{"key": "rides", "message": message}]
            )
        athlete = await data_scope.athlete(athlete_id, lock=True)
        row = await _source(data_scope.db, athlete, source_id)
        if rides == "remove" and row.event_ids:
            # a coach who stops following a calendar had about fifty future rides a series
            # left in the plan, removable one at a time (a coach's trial)
            others = await _brought_by_others(data_scope.db, row)
            gone = [event for event in row.event_ids if event not in others]
            for start in range(0, len(gone), 500):  # bound each statement's parameters
                await data_scope.db.execute(
                    sql_delete(RideRow).where(
                        RideRow.athlete_id == athlete.id,
                        RideRow.external_id.in_(gone[start : start + 500]),
                        RideRow.start >= clock.now(),
                    )
                )
        await data_scope.db.delete(row)
        await data_scope.db.flush()
        if rides == "remove":
            await flag_stale_plan(data_scope, athlete)

    @delete("/{source_id:uuid}/dismissed", status_code=HTTP_202_ACCEPTED, raises=OWNED)
    async def undismiss(
        self,
        athlete_id: uuid.UUID,
        source_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        jobs: NamedDependency[Runner],
    ) -> RefreshAccepted:
        """Bring back the events whose rides you deleted: the list is cleared and the source
        is read again in full now (a job, as POST .../refresh)."""
        athlete = await data_scope.athlete(athlete_id, lock=True)
        row = await _source(data_scope.db, athlete, source_id)
        row.dismissed = []
        # the calendar itself may not have changed: the next fetch must not answer "as before"
        row.content_hash = row.etag = row.last_modified = None
        await data_scope.db.flush()
        # a refresh of its own: one already waiting may have read the list before it changed
        return await enqueue_refresh(
            jobs, data_scope.db, data_scope.coach, athlete, row, merge=False
        )

    @post("/{source_id:uuid}/refresh", status_code=HTTP_202_ACCEPTED, raises=OWNED)
    async def refresh(
        self,
        athlete_id: uuid.UUID,
        source_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        jobs: NamedDependency[Runner],
    ) -> RefreshAccepted:
        """Refresh this source now, a paused one too (a success resumes it); the athlete's
        other sources keep their own schedule."""
        athlete = await data_scope.athlete(athlete_id)
        row = await _source(data_scope.db, athlete, source_id)
        return await enqueue_refresh(jobs, data_scope.db, data_scope.coach, athlete, row)
