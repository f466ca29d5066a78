"""Plans: (re)plan off the event loop, store sessions with stable UIDs, read the plan and its feed."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api import clock
from api.athletes import check_if_match
from api.bodies import StrictBody
from api.cache import Rendered
from api.convert import (
    apply_session,
    athlete_from_row,
    problem_of_plan,
    progression_of,
    ride_from_row,
    session_from_row,
)
from api.db import AthleteRow, FeedbackRow, PlanRow, SessionRow
from api.deps import bearer_key_hash
from api.errors import (
    JSON_BODY,
    OWNED,
    Conflict,
    PreconditionFailed,
    Unprocessable,
    check_date,
    invalid,
)
from api.plan_models import (
    PLAN_READS,
    LoggedOut,
    PlanOut,
    SessionReadOut,
    logged_outcome,
    plan_json,
    session_json,
)
from api.repository import (
    HOT_READS,
    NOT_FOUND,
    CoachData,
    plan_of,
    sessions_fast,
    sessions_of,
)
from api.rides import query_days
from api.settings import Settings
from api.web.signing import CheckinLinks
from planner.calendar_out import to_ical
from planner.domain import Day, Plan, ProgressionState, Session
from planner.errors import PlannerFailure, PlannerInputError
from planner.problem import MAX_WEEKS
from planner.progression import apply_missed_training
from planner.safety import withdraw_loading
from planner.solve import SolverSettings, plan
from planner.stability import carry_over

FEED_BACK = timedelta(days=30)
NOT_MODIFIED = {
    304: ResponseSpec(
        data_container=None,
        description="Not modified: the If-None-Match ETag is current, or nothing changed "
        "since If-Modified-Since",
    )
}
NOT_MODIFIED_PLAN = {
    304: ResponseSpec(
        data_container=None, description="Not modified: the If-None-Match ETag is current"
    )
}
SESSION_DAYS: dict[str, Any] = {
    "required": False,
    "schema_extra": {"format": "date"},
    "description": "YYYY-MM-DD in the athlete's time zone: only sessions starting on or after "
    "(from) / on or before (to) that day",
}


class PlanRequest(StrictBody):
    start: Day | None = None
    weeks: int = Field(12, ge=1, le=MAX_WEEKS)


async def plan_response(
    row: PlanRow,
    load_sessions: Callable[[], Awaitable[list[SessionRow]]],
    zone: ZoneInfo,
    *,
    status_code: int = 200,
    days: tuple[date | None, date | None] = (None, None),
) -> Response[PlanOut]:
    """The plan's JSON from its rows (api.plan_models: no pydantic per session), cached per plan
    version and date range; only sessions whose local day lies in `days` (both ends included).
    Sessions are loaded only when the cache has no bytes for this version."""
    key = (row.athlete_id, row.version, row.updated_at, zone.key, days)
    body = PLAN_READS.get(key)
    if body is None:
        since, until = days
        sessions = await load_sessions()
        chosen = [
            s
            for s in sessions
            if (since is None or s.start.astimezone(zone).date() >= since)
            and (until is None or s.start.astimezone(zone).date() <= until)
        ]
        body = plan_json(row, chosen, zone)
        PLAN_READS.put(key, body)
    return Response(  # type: ignore[return-value]  # the bytes are a PlanOut, encoded
        body,
        status_code=status_code,
        media_type=MediaType.JSON,
        headers={"ETag": plan_etag(row, zone)},
    )


def _loaded(sessions: list[SessionRow]) -> Callable[[], Awaitable[list[SessionRow]]]:
    async def load() -> list[SessionRow]:
        return sessions

    return load


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison (W/ prefixes ignored), `*` matches any."""
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def plan_etag(row: PlanRow | Any, zone: ZoneInfo) -> str:
    """The plan's version, and the zone its times are written in: a PATCH of the athlete's
    time zone rewrites every session's offset without a re-plan, and a client holding the
    old bytes must not be told they are current."""
    digest = hashlib.sha256(zone.key.encode()).hexdigest()[:8]
    return f'"plan-{row.athlete_id}-v{row.version}-{digest}"'


def not_done(report: dict[str, Any]) -> bool:
    """A feedback report (as stored: FeedbackIn's JSON) saying the session was not done, with
    no set of any exercise logged. A session stopped part way (sets logged) still counts, rest
    and all: the work done is work to recover from."""
    # an entry left out as invalid keeps the sets it gave where they read as a count
    return not report.get("completed") and not any(
        (e.get("sets") or 0) > 0 for e in report.get("exercises") or []
    )


async def sessions_reported(db: AsyncSession, athlete: AthleteRow, uids: list[str]) -> set[str]:
    """Which of these sessions have a report (done, not done, or pain sent with them): history
    a re-plan keeps however old. No query when there are none to ask about (the usual case)."""
    if not uids:
        return set()
    rows = await db.scalars(
        select(FeedbackRow.session_uid)
        .where(FeedbackRow.athlete_id == athlete.id, FeedbackRow.session_uid.in_(uids))
        .distinct()
    )
    return {uid for uid in rows.all() if uid}


async def sessions_not_done(
    db: AsyncSession, athlete: AthleteRow, uids: list[str]
) -> frozenset[str]:
    """Which of these sessions the athlete reported as not done (`not_done`). They stay in the
    calendar's history but hold no place in the week: the re-plan may use their time and their
    share of the week's target."""
    if not uids:
        return frozenset()
    rows = await db.execute(
        select(FeedbackRow.session_uid, FeedbackRow.body).where(
            FeedbackRow.athlete_id == athlete.id,
            FeedbackRow.kind == "skipped",
            FeedbackRow.session_uid.in_(uids),
        )
    )
    return frozenset(uid for uid, body in rows if uid and not_done(body))


async def replan(
    db: AsyncSession,
    athlete: AthleteRow,
    rides: list[Any],
    settings: Settings,
    start: date | None,
    weeks: int,
    *,
    now: datetime | None = None,
    backfill: bool = False,
) -> tuple[PlanRow, list[SessionRow]]:
    """Solve, then write the new sessions over the published ones keeping UIDs and SEQUENCE.

    Sessions before `now` (the service's clock unless given) are history: kept as published.
    `backfill`: the caller found (`backfills`) that the start lies in the past and no plan
    covered those days: they are planned as they would have been on the start day, for the
    coach to log a block already under way (api.md).
    """
    person = athlete_from_row(athlete)
    zone = ZoneInfo(person.timezone)
    now = now or clock.now()
    today = now.astimezone(zone).date()
    start = start or today
    existing = await sessions_of(db, athlete)
    published = [session_from_row(r, zone) for r in existing]
    state = progression_of(athlete, person)
    # what already happened stays; what lies ahead of `now` is the solver's to rearrange
    plan_from = datetime.combine(start, datetime.min.time(), zone)
    history = [s for s in published if s.start < max(now, plan_from)]
    skipped = await sessions_not_done(db, athlete, [s.uid for s in history])
    plan_row = await plan_of(db, athlete)
    # decided by the caller (make_plan), before missed training: planned as of the start, the
    # past days get their sessions; the rest is as of now
    planned_at = plan_from if backfill else now
    result: Plan = await sync_to_thread(
        plan,
        person,
        [ride_from_row(r, zone) for r in rides],
        start,
        weeks,
        state=state,
        previous=published,
        now=planned_at,
        skipped=skipped,
        settings=SolverSettings(
            time_limit_s=settings.solver_time_limit_s, workers=settings.solver_workers
        ),
    )
    fresh = [s for s in result.sessions if s.start >= max(planned_at, plan_from)]
    # history within 30 days of the start stays, and any session with a report however old (a
    # re-plan far ahead deleted logged sessions: their reports no longer reachable by session)
    older = [s.uid for s in history if s.start < plan_from - FEED_BACK]
    reported = await sessions_reported(db, athlete, older)
    kept_history = [s for s in history if s.start >= plan_from - FEED_BACK or s.uid in reported]
    future_published = [s for s in published if s.start >= max(now, plan_from)]
    merged = carry_over(future_published, fresh, owner=str(athlete.id), now=now)
    by_uid = {r.uid: r for r in existing}
    keep_uids = {s.uid for s in merged} | {s.uid for s in kept_history}
    for row in existing:
        if row.uid not in keep_uids:
            await db.delete(row)
    rows: list[SessionRow] = []
    for session in merged:
        row = by_uid.get(session.uid)
        if row is None:
            row = SessionRow(athlete_id=athlete.id)
            db.add(row)
        apply_session(row, session, now)
        rows.append(row)
    rows.extend(by_uid[s.uid] for s in kept_history if s.uid in by_uid)
    report = result.model_dump(mode="json", include={"week_reports", "solver", "warnings"})
    _name_stored_sessions(report, fresh, merged)
    if backfill:
        report["warnings"] = _backfill_warnings(report["warnings"], state, fresh, now, start, zone)
    ahead = sorted(s.start.astimezone(zone).date() for s in kept_history if s.start >= now)
    gone = sorted(
        s.start.astimezone(zone).date() for s in history if now <= s.start < plan_from - FEED_BACK
    )
    if gone:
        report["warnings"].append(
            f"{len(gone)} published session(s) from {gone[0].isoformat()} to "
            f"{gone[-1].isoformat()} were removed: they lie more than {FEED_BACK.days} days "
            "before this plan's start"
        )
    if ahead:
        # published, not yet done, before the new start: they stay, and the coach is told
        report["warnings"].append(
            f"{len(ahead)} session(s) published before this plan's start "
            f"({ahead[0].isoformat()} to {ahead[-1].isoformat()}) stay in the calendar; "
            "re-plan from an earlier start to rearrange them"
        )
    if plan_row is None:
        plan_row = PlanRow(
            athlete_id=athlete.id, start=start, weeks=weeks, report=report, version=1
        )
        db.add(plan_row)
    else:
        report["warnings"] += _span_changes(plan_row, start, weeks, future_published, zone)
        report["warnings"] += _deloads_moved(plan_row, start, weeks, report, today)
        plan_row.start, plan_row.weeks, plan_row.report = start, weeks, report
        plan_row.version += 1
    await db.flush()
    HOT_READS.forget(athlete.id)
    await db.refresh(plan_row)
    return plan_row, sorted(rows, key=lambda r: r.start)


async def backfills(
    db: AsyncSession, athlete: AthleteRow, current: PlanRow | None, start: date, now: datetime
) -> bool:
    """Whether a plan from `start` plans its past days: the start lies before today and
    nothing covers those days yet: no plan (the current one ran before them or starts after
    today), no published session and no report. A re-plan keeping a plan's start, or one that
    moves the start back over days some plan already held, plans nothing in the past: a day
    whose sessions were never published did not have them. (A report there means some plan
    held the day, though its sessions may be gone: a re-plan far ahead drops history older
    than 30 days before its start.)"""
    zone = ZoneInfo(athlete.timezone)
    if start >= now.astimezone(zone).date():
        return False
    if current is not None:
        current_end = current.start + timedelta(weeks=current.weeks)
        if current_end > start and current.start <= now.astimezone(zone).date():
            return False
    plan_from = datetime.combine(start, datetime.min.time(), zone)
    held = await db.scalar(
        select(func.count())
        .select_from(SessionRow)
        .where(
            SessionRow.athlete_id == athlete.id,
            SessionRow.start >= plan_from,
            SessionRow.start < now,
        )
    )
    if held:
        return False
    told = await db.scalar(
        select(func.count())
        .select_from(FeedbackRow)
        .where(FeedbackRow.athlete_id == athlete.id, FeedbackRow.at >= plan_from)
    )
    return not told


def _backfill_warnings(
    warnings: list[str],
    state: ProgressionState,
    fresh: list[Session],
    now: datetime,
    start: date,
    zone: ZoneInfo,
) -> list[str]:
    """A backfilled plan's warnings: the pain state's as of today (the solver judged it as of
    the start), and what the coach is to do with the sessions already in the past."""
    today = now.astimezone(zone).date()
    as_of_start = set(state.pain_warnings(start))
    kept = [w for w in warnings if w not in as_of_start]
    past = [s for s in fresh if s.start < now]
    told = []
    if past:
        first, last = (s.start.astimezone(zone).date().isoformat() for s in (past[0], past[-1]))
        told.append(
            f"{len(past)} session(s) from {first} to {last} lie in the past: planned as they "
            f"would have been on {start.isoformat()}, for the block already under way: log "
            "each as done or not done (its page on the dashboard, or POST "
            ".../sessions/{session_id}/feedback) so that progression starts from what happened"
        )
    return state.pain_warnings(today) + kept + told


def _span_changes(
    old: PlanRow, start: date, weeks: int, ahead: list[Session], zone: ZoneInfo
) -> list[str]:
    """What a re-plan changed in the plan's span, for its warnings: a `POST .../plan {}` plans
    from today for 12 weeks, which may move where the weeks begin and cut off the end of the
    plan it replaces (a new user's trial saw both happen without a word)."""
    found = []
    end = start + timedelta(weeks=weeks)
    old_end = old.start + timedelta(weeks=old.weeks)
    cut = [s for s in ahead if s.start.astimezone(zone).date() >= end]
    if cut:
        found.append(
            f"{len(cut)} published session(s) after this plan's last day "
            f"({(end - timedelta(days=1)).isoformat()}) were removed: the plan it replaces ran "
            f"to {(old_end - timedelta(days=1)).isoformat()}; give `weeks` (and `start`) to "
            "keep that stretch planned"
        )
    # an old plan that ended before this one starts has no weeks to keep
    if start.weekday() != old.start.weekday() and old_end > start:
        first, last = start.strftime("%A"), (start - timedelta(days=1)).strftime("%A")
        found.append(
            f"this plan's weeks run {first} to {last} (from its start, {start.isoformat()}); "
            f"the plan it replaces began them on {old.start.strftime('%A')}s: give `start` to "
            "keep its weeks"
        )
    return found


def _deloads_moved(
    old: PlanRow, start: date, weeks: int, report: dict[str, Any], today: date
) -> list[str]:
    """T3's deload weeks count from the plan's start: a re-plan from another start (`{}` plans
    from today) moves them, and a deload week under way could turn full volume (a new user's
    trial saw it happen without a word). Compared over the weeks both plans hold that are not
    over yet."""
    if start == old.start or not old.report:
        return []
    until = min(start + timedelta(weeks=weeks), old.start + timedelta(weeks=old.weeks))

    def deloads(reports: list[dict[str, Any]]) -> list[str]:
        return [
            w["start"]
            for w in reports
            if w.get("deload")
            and date.fromisoformat(w["end"]) >= today
            and date.fromisoformat(w["start"]) < until
        ]

    was, now = deloads(old.report.get("week_reports", [])), deloads(report["week_reports"])
    if was == now:
        return []
    return [
        "the deload weeks moved with the new start: the plan it replaces had them from "
        f"{', '.join(was) or 'none'}, this one from {', '.join(now) or 'none'} (weeks count "
        f"from the start); re-plan from {old.start.isoformat()} to keep them"
    ]


def _name_stored_sessions(
    report: dict[str, Any], fresh: list[Session], stored: list[Session]
) -> None:
    """The weekly reports name sessions by the planner's UIDs; the calendar keeps the UID of
    the published session each one replaces (carry_over). Name them as stored."""
    at = {(s.kind, s.start.timestamp()): s.uid for s in stored}
    renamed = {f.uid: at.get((f.kind, f.start.timestamp()), f.uid) for f in fresh}
    for week in report.get("week_reports", []):
        for entry in week.get("broken", []):
            uid = entry.get("session_id")
            if uid in renamed:
                entry["session_id"] = renamed[uid]


def feed_bytes(
    athlete: AthleteRow,
    plan_row: PlanRow,
    sessions: list[SessionRow],
    today: date,
    links: CheckinLinks | None = None,
) -> bytes:
    zone = ZoneInfo(athlete.timezone)
    window_start = datetime.combine(today - FEED_BACK, datetime.min.time(), zone)
    window_end = datetime.combine(
        plan_row.start + timedelta(weeks=plan_row.weeks), datetime.min.time(), zone
    )
    chosen: list[Session] = [
        session_from_row(r, zone)
        for r in sessions
        if window_start <= r.start.astimezone(zone) < window_end
    ]
    return to_ical(
        chosen,
        name=athlete.name,
        timezone=athlete.timezone,
        stamp_default=plan_row.created_at,
        checkin_links={s.uid: links(s.uid) for s in chosen} if links else None,
    )


async def drop_for_missed_training(
    data_scope: CoachData, athlete: AthleteRow, *, on: date | None = None
) -> list[str]:
    """Missed training is judged whenever a plan is made, not only at the next feedback: after
    2 weeks with no strength logged the new plan starts each pattern one level lower. Returns
    the changes in words, for the plan's warnings. `on`: the day to judge it on (today unless
    given: a block already under way is judged on its first day)."""
    _, last = await data_scope.strength_logged(athlete)
    if last is None:
        return []
    now = clock.now()
    last, due = await data_scope.missed_training_clock(athlete, last, now)
    zone = ZoneInfo(athlete.timezone)
    person = athlete_from_row(athlete)
    state, missed = apply_missed_training(
        progression_of(athlete, person),
        last.astimezone(zone).date(),
        on or now.astimezone(zone).date(),
        due=due.astimezone(zone).date() if due is not None else None,
        athlete=person,  # a step down keeps a load: 10 % under the last one
    )
    if missed:
        athlete.progression = state.model_dump(mode="json")
    return [f"{c.pattern.value.replace('_', ' ')} stepped down: {c.reason}" for c in missed]


async def withdraw_after_failure(
    db: AsyncSession, athlete: AthleteRow, rides: list[Any], failure: Exception
) -> list[SessionRow]:
    """The re-plan after feedback failed: keep the published times, take out what the new pain
    state forbids (planner.safety), so a red flag never stays in the calendar for want of a
    solution. The feedback itself is stored by the caller; the coach is told to re-plan."""
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    plan_row = await plan_of(db, athlete)
    existing = await sessions_of(db, athlete)
    if plan_row is None:
        return existing
    problem = problem_of_plan(athlete, rides, plan_row, now)
    kept = {
        s.uid: s
        for s in withdraw_loading(problem, [session_from_row(r, zone) for r in existing], now)
    }
    rows = []
    for row in existing:
        session = kept.get(row.uid)
        if session is None:
            await db.delete(row)
            continue
        if session.sequence != row.sequence:
            apply_session(row, session, now)
        rows.append(row)
    report = dict(plan_row.report or {})
    report["warnings"] = [
        *report.get("warnings", []),
        f"re-plan after feedback failed ({failure}); sessions kept at their times with the "
        "work the pain state forbids taken out: POST .../plan to re-plan",
    ]
    plan_row.report = report
    plan_row.version += 1
    await db.flush()
    HOT_READS.forget(athlete.id)
    return sorted(rows, key=lambda r: r.start)


# rendered feeds by (athlete, plan version, local day): sessions only change with the plan
FEEDS: Rendered[tuple[bytes, str, datetime]] = Rendered(256)


async def feed_response(
    request: Request,
    athlete: AthleteRow,
    plan_row: PlanRow | None,
    load_sessions: Callable[[], Awaitable[list[SessionRow]]],
    links: CheckinLinks | None = None,
) -> Response[bytes]:
    """The feed; each session's event carries its check-in link when `links` is given."""
    if plan_row is None:
        raise NotFoundException("no plan yet: POST /api/v1/athletes/{id}/plan first")
    today = clock.now().astimezone(ZoneInfo(athlete.timezone)).date()
    key = (
        athlete.id,
        athlete.name,
        athlete.timezone,
        plan_row.version,
        plan_row.updated_at,
        today,
        links.cache_key if links else None,  # the links name the host and the feed token
    )
    cached = FEEDS.get(key)
    if cached is None:
        sessions = await load_sessions()
        body = feed_bytes(athlete, plan_row, sessions, today, links)
        newest = max([plan_row.updated_at] + [s.changed_at for s in sessions])
        cached = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', newest)
        FEEDS.put(key, cached)
    body, etag, newest = cached
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(newest.astimezone(UTC), usegmt=True),
        "Cache-Control": "private, max-age=300",
    }
    if not_modified(request, etag, newest):
        return Response(b"", status_code=304, headers=headers, media_type="text/calendar")
    if request.method == "HEAD":
        # the headers a GET would send (Content-Length included), without the body
        headers["Content-Length"] = str(len(body))
        return Response(b"", headers=headers, media_type="text/calendar")
    return Response(body, headers=headers, media_type="text/calendar")


def not_modified(request: Request, etag: str, newest: datetime) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only without it."""
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag_matches(match, etag)
    since = request.headers.get("if-modified-since")
    if not since:
        return False
    try:
        stamp = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unreadable date is ignored, as the RFC says
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    # Last-Modified has whole seconds: compare at that precision
    return newest.astimezone(UTC).replace(microsecond=0) <= stamp


async def make_plan(
    data_scope: CoachData,
    settings: Settings,
    athlete_id: uuid.UUID,
    body: PlanRequest,
    *,
    precondition: Callable[[str], None] | None = None,
) -> tuple[PlanRow, list[SessionRow], ZoneInfo]:
    """(Re)plan the coach's athlete (POST .../plan and the dashboard's re-plan form):
    `precondition` sees the current plan's ETag first (If-Match). Raises the API's errors."""
    if body.start is not None:
        check_date("start", body.start)
    athlete = await data_scope.athlete(athlete_id, lock=True)
    if body.start is not None:
        # a plan wholly in the past holds nothing that can still happen, and would replace
        # the published calendar with nothing
        today = clock.now().astimezone(ZoneInfo(athlete.timezone)).date()
        ends = body.start + timedelta(weeks=body.weeks)
        if ends <= today:
            message = (
                f"a plan of {body.weeks} week(s) from {body.start.isoformat()} ends on "
                f"{(ends - timedelta(days=1)).isoformat()}, before today ({today.isoformat()}) "
                "in the athlete's time zone: "
                + ("start later" if body.weeks >= MAX_WEEKS else "start later or plan more weeks")
            )
            raise invalid(
                f"invalid input: start: {message}", [{"key": "start", "message": message}]
            )
    current = await data_scope.plan(athlete)
    if current is not None and precondition is not None:
        precondition(plan_etag(current, ZoneInfo(athlete.timezone)))
    # a block already under way: its days gone by are planned, and count as training until
    # logged, so missed training is judged on its first day (a returning athlete whose last
    # log came three days before it lost a level on every ladder, its past planned lower)
    back = body.start is not None and await backfills(
        data_scope.db, athlete, current, body.start, clock.now()
    )
    missed = await drop_for_missed_training(data_scope, athlete, on=body.start if back else None)
    rides = await data_scope.rides(athlete)
    try:
        row, sessions = await replan(
            data_scope.db,
            athlete,
            rides,
            settings,
            body.start,
            body.weeks,
            backfill=back,
        )
    except PlannerInputError as exc:
        raise HTTPException(
            status_code=422,
            detail=exc.message,
            extra=[{"key": exc.field or "", "message": exc.message}],
        ) from exc
    except PlannerFailure as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    if missed:
        row.report = {**row.report, "warnings": [*row.report.get("warnings", []), *missed]}
        await data_scope.db.flush()
    return row, sessions, ZoneInfo(athlete.timezone)


class PlanController(Controller):
    path = "/api/v1/athletes/{athlete_id:uuid}"
    tags = ["plans"]

    @post(
        "/plan",
        status_code=HTTP_201_CREATED,
        raises=OWNED + JSON_BODY + [Conflict, PreconditionFailed],
    )
    async def make_plan(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
        data: PlanRequest | None = None,
    ) -> Response[PlanOut]:
        row, sessions, zone = await make_plan(
            data_scope,
            settings,
            athlete_id,
            data or PlanRequest(),
            precondition=lambda etag: check_if_match(request, etag, what="plan"),
        )
        return await plan_response(row, _loaded(sessions), zone, status_code=201)

    @get("/plan", raises=OWNED + [Unprocessable], responses=NOT_MODIFIED_PLAN)
    async def read_plan(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        db_engine: NamedDependency[AsyncEngine],
        from_: Annotated[str | None, Parameter(query="from", **SESSION_DAYS)] = None,
        to: Annotated[str | None, Parameter(query="to", **SESSION_DAYS)] = None,
    ) -> Response[PlanOut]:
        """The current plan: its sessions (all, or those of `from` .. `to`), the weekly reports
        with targets met or missed and why, the solver's figures and the warnings.
        `If-None-Match` with the plan's ETag answers 304."""
        # dashboards and scripts poll this: one Core query for key, athlete and plan, and the
        # plan's bytes cached per version, so a repeat read costs about what a feed poll does
        days = query_days(from_, to)
        known, row = await HOT_READS.plan(db_engine, bearer_key_hash(request), athlete_id)
        if not known:
            raise NotAuthorizedException("unknown coach key")
        if row is None:
            raise NotFoundException(NOT_FOUND)
        if row.plan_id is None:
            raise NotFoundException("no plan yet: POST /api/v1/athletes/{id}/plan first")
        zone = ZoneInfo(row.timezone)
        etag = plan_etag(row, zone)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(b"", status_code=304, headers={"ETag": etag})  # type: ignore[arg-type]
        return await plan_response(
            row, lambda: sessions_fast(db_engine, athlete_id), zone, days=days
        )

    @get("/sessions/{session_id:str}", raises=OWNED)
    async def read_session(
        self, athlete_id: uuid.UUID, session_id: str, data_scope: NamedDependency[CoachData]
    ) -> SessionReadOut:
        """One session of the plan, by its id or its calendar UID, with what was logged for it."""
        athlete = await data_scope.athlete(athlete_id)
        row = await data_scope.session(athlete, session_id)
        return SessionReadOut.model_validate(
            {
                **session_json(row, ZoneInfo(athlete.timezone)),
                "feedback": [
                    LoggedOut(at=f.at, outcome=logged_outcome(f.kind), report=f.body)
                    for f in await data_scope.session_feedback(athlete, row.uid, checkins=True)
                ],
            }
        )

    @get("/plan.ics", media_type="text/calendar", raises=OWNED, responses=NOT_MODIFIED)
    async def read_plan_ics(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        athlete = await data_scope.athlete(athlete_id)
        links = CheckinLinks(
            settings.base_url(str(request.base_url)),
            settings.secret_key,
            athlete.feed_token_hash,
            athlete.id,
        )
        return await feed_response(
            request,
            athlete,
            await data_scope.plan(athlete),
            lambda: data_scope.sessions(athlete),
            links,
        )
