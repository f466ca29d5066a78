"""The athlete's check-in: /checkin/{signed} for one session, /checkin/{signed}/morning for the day.

The link is the only credential (api.web.signing): it names a session by UID and carries an
HMAC keyed with the athlete's current feed token hash, so the athlete is the session's owner
and nobody else, and a rotated feed token turns every earlier link into a friendly 404. The
pages write through the same service functions as POST .../feedback and POST .../pain, as the
athlete's coach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Template
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import clock
from api.convert import session_from_row
from api.db import AthleteRow, Coach, SessionRow
from api.repository import CoachData
from api.settings import Settings
from api.web.forms import (
    Outcome,
    Problem,
    SentAlready,
    new_form_id,
    problem_of,
    submit_feedback,
    submit_morning,
)
from api.web.signing import checkin_target, checkin_valid
from api.web.views import (
    PAIN_FIELDS,
    SESSION_TIMINGS,
    exercise_fields,
    logged_uids,
    when,
    words,
)
from planner.calendar_out import summary
from planner.domain import PainTiming, SessionKind

STALE = "no such check-in link (it may be old: the calendar link was renewed)"


# a link whose session a re-plan removed: the morning check-in still works through it
GONE = (
    "This session is no longer in your plan: the plan changed after your calendar last "
    "updated. You can still tell how you feel here."
)


@dataclass
class Visit:
    """A verified link: the session (None: a re-plan removed it), its athlete, and the
    athlete's coach's scope."""

    token: str
    session: SessionRow | None
    athlete: AthleteRow
    data: CoachData


async def visit(db: AsyncSession, settings: Settings, token: str) -> Visit:
    """The link's session and athlete, or 404 for a link that is wrong, stale or rotated. A
    link that names its athlete still verifies once its session is gone (session None)."""
    target = checkin_target(token)
    if target is None:
        raise NotFoundException(STALE)
    session = await db.scalar(select(SessionRow).where(SessionRow.uid == target.uid))
    athlete_id = target.athlete_id
    if session is not None and athlete_id is not None and session.athlete_id != athlete_id:
        raise NotFoundException(STALE)
    if athlete_id is None:
        if session is None:
            raise NotFoundException(STALE)
        athlete_id = session.athlete_id
    athlete = await db.scalar(select(AthleteRow).where(AthleteRow.id == athlete_id))
    if athlete is None or not checkin_valid(settings.secret_key, athlete.feed_token_hash, token):
        raise NotFoundException(STALE)
    coach = await db.scalar(select(Coach).where(Coach.id == athlete.coach_id))
    if coach is None:
        raise NotFoundException(STALE)
    return Visit(token, session, athlete, CoachData(db, coach))


def page(name: str, status: int = 200, **context: Any) -> Template:
    return Template(name, context=context, status_code=status, media_type=MediaType.HTML)


async def session_page(
    found: Visit,
    *,
    form: Any = None,
    problem: Problem | None = None,
    outcome: Outcome | None = None,
    already: datetime | None = None,
    status: int = 200,
) -> Template:
    if found.session is None:
        return morning_page(found, form=form, problem=problem, outcome=outcome, status=status)
    zone = ZoneInfo(found.athlete.timezone)
    session = session_from_row(found.session, zone)
    logged = found.session.uid in await logged_uids(found.data, found.athlete)
    return page(
        "checkin.html",
        status,
        athlete_name=found.athlete.name,
        session=session,
        title=summary(session),
        when=when(session.start, zone),
        started=session.start <= clock.now(),
        logged=logged,
        strength=session.kind == SessionKind.strength,
        exercises=exercise_fields(session),
        action=f"/checkin/{found.token}",
        morning=f"/checkin/{found.token}/morning",
        form=form,
        form_id=new_form_id(),
        problem=problem,
        outcome=outcome,
        already=when(already, zone) if already else None,
        **PAIN_FIELDS,
        timings=SESSION_TIMINGS,
        words=words,
    )


def morning_page(
    found: Visit,
    *,
    form: Any = None,
    problem: Problem | None = None,
    outcome: Outcome | None = None,
    already: datetime | None = None,
    status: int = 200,
) -> Template:
    zone = ZoneInfo(found.athlete.timezone)
    today = clock.now().astimezone(zone).date()
    return page(
        "morning.html",
        status,
        athlete_name=found.athlete.name,
        day=f"{today:%A} {today.day} {today:%B}",
        action=f"/checkin/{found.token}/morning",
        back=f"/checkin/{found.token}" if found.session is not None else None,
        notice=GONE if found.session is None else None,
        form=form,
        form_id=new_form_id(),
        problem=problem,
        outcome=outcome,
        already=when(already, zone) if already else None,
        **PAIN_FIELDS,
    )


async def refused(
    db_session: AsyncSession, settings: Settings, token: str, exc: Exception
) -> tuple[Visit, Problem]:
    """A refused submission: the problem in words, and the visit read afresh for the page (the
    error status rolls the transaction back, so nothing of the refused write is shown)."""
    problem = problem_of(exc)
    db_session.expunge_all()
    return await visit(db_session, settings, token), problem


class CheckinPages(Controller):
    path = "/checkin"
    include_in_schema = False
    # pages of one person's data: no copy kept by the browser or anything between (Back after
    # signing out showed the roster again)
    cache_control = CacheControlHeader(no_store=True)

    @get("/{token:str}", media_type=MediaType.HTML)
    async def session(
        self, token: str, db_session: NamedDependency[AsyncSession], settings: Settings
    ) -> Template:
        return await session_page(await visit(db_session, settings, token))

    @post("/{token:str}", media_type=MediaType.HTML)
    async def log_session(
        self,
        token: str,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: Settings,
    ) -> Template:
        found = await visit(db_session, settings, token)
        form = await request.form()
        if found.session is None:
            # the session's form, sent after a re-plan removed the session: its pain still
            # counts (as check-ins with the timings given), the rest has nothing to attach to
            return await pain_page(
                db_session,
                settings,
                found,
                form,
                timing=None,
                nothing=Problem(404, "This session is no longer in your plan: nothing was saved."),
                refill=False,
            )
        try:
            outcome = await submit_feedback(
                found.data, settings, found.athlete, found.session.uid, form
            )
        except SentAlready as sent:
            # read afresh: a sending that raced this one rolled the transaction back
            return await session_page(await visit(db_session, settings, token), already=sent.at)
        except (HTTPException, ValidationError) as exc:
            found, problem = await refused(db_session, settings, token, exc)
            return await session_page(found, form=form, problem=problem, status=problem.status)
        return await session_page(found, outcome=outcome)

    @get("/{token:str}/morning", media_type=MediaType.HTML)
    async def morning(
        self, token: str, db_session: NamedDependency[AsyncSession], settings: Settings
    ) -> Template:
        return morning_page(await visit(db_session, settings, token))

    @post("/{token:str}/morning", media_type=MediaType.HTML)
    async def log_morning(
        self,
        token: str,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: Settings,
    ) -> Template:
        found = await visit(db_session, settings, token)
        form = await request.form()
        return await pain_page(
            db_session,
            settings,
            found,
            form,
            timing=PainTiming.next_morning,
            nothing=Problem(422, "Give a score (0 to 10) for at least one place."),
            refill=True,
        )


async def pain_page(
    db_session: AsyncSession,
    settings: Settings,
    found: Visit,
    form: Any,
    *,
    timing: PainTiming | None,
    nothing: Problem,
    refill: bool,
) -> Template:
    """The morning page after a form's pain went in as check-ins (submit_morning, at `timing`;
    None: each region's own): its outcome, or the problem, or `nothing` when no place was
    scored (with the form as sent when `refill`)."""
    try:
        outcome = await submit_morning(found.data, settings, found.athlete, form, timing=timing)
    except SentAlready as sent:
        return morning_page(await visit(db_session, settings, found.token), already=sent.at)
    except (HTTPException, ValidationError) as exc:
        found, problem = await refused(db_session, settings, found.token, exc)
        return morning_page(found, form=form, problem=problem, status=problem.status)
    if outcome is None:
        return morning_page(
            found, form=form if refill else None, problem=nothing, status=nothing.status
        )
    return morning_page(found, outcome=outcome)


def todays_session(sessions: list[SessionRow], zone: ZoneInfo) -> SessionRow | None:
    """The session a check-in link "for today" names: today's first, else the latest that has
    started, else the next one."""
    now = clock.now()
    today = now.astimezone(zone).date()
    ordered = sorted(sessions, key=lambda s: s.start)
    todays = [s for s in ordered if s.start.astimezone(zone).date() == today]
    started = [s for s in ordered if s.start <= now]
    chosen = todays or started[-1:] or ordered[:1]
    return chosen[0] if chosen else None


async def demo_checkin_url(settings: Settings, athlete_id: str, base_url: str) -> str | None:
    """The check-in link of the athlete's session today, for `planner demo` to print."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.web.signing import checkin_url

    engine = create_async_engine(settings.database_url, connect_args=settings.connect_args)
    try:
        async with engine.connect() as conn:
            athlete = (
                await conn.execute(
                    select(AthleteRow.timezone, AthleteRow.feed_token_hash).where(
                        AthleteRow.id == uuid.UUID(athlete_id)
                    )
                )
            ).one()
            rows = (
                await conn.execute(
                    select(SessionRow.uid, SessionRow.start).where(
                        SessionRow.athlete_id == uuid.UUID(athlete_id)
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    chosen = todays_session(list(rows), ZoneInfo(athlete.timezone))  # type: ignore[arg-type]
    if chosen is None:
        return None
    return checkin_url(
        base_url, settings.secret_key, athlete.feed_token_hash, chosen.uid, uuid.UUID(athlete_id)
    )
