"""The coach's pages under /app/: sign-in, the roster, an athlete's page and its forms."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from pydantic import BaseModel, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from api import clock
from api.athletes import new_feed_token, patch_athlete
from api.convert import athlete_from_row, session_from_row
from api.db import Coach
from api.feedback import (
    ApprovalIn,
    ClearanceIn,
    approve_exercise,
    clear_red_flag,
    describe_plan_changes,
    progression_report,
)
from api.plans import PlanRequest, make_plan
from api.repository import CoachData, coach_by_key_hash
from api.rides import import_calendar
from api.security import digest
from api.settings import Settings
from api.sources import sources_of
from api.staleness import STALE
from api.web.forms import (
    Problem,
    SentAlready,
    check_form_id,
    new_form_id,
    problem_of,
    submit_feedback,
    take_form_id,
    texts,
    unsent_form_id,
    upcoming,
)
from api.web.routes import secure
from api.web.signing import SESSION_COOKIE, SESSION_MAX_AGE_S, read_session, sign_session
from api.web.views import (
    PAIN_FIELDS,
    REGION_WORDS,
    SESSION_TIMINGS,
    UNLOGGED_DAYS,
    chart_legend,
    exercise_fields,
    feedback_since,
    fortnight,
    logged_lines,
    logged_uids,
    pain_chart,
    roster,
    sessions_between,
    source_host,
    source_lines,
    when,
    words,
)
from planner.calendar_out import summary
from planner.domain import AvailabilityException
from planner.library import load_library

DATE_TYPED = re.compile(r"\d{4}-\d{2}-\d{2}")
# the lifts a coach signs off before their first session (domain.md Revision 2)
SIGN_OFF = ("romanian_deadlift", "deadlift")
# the sessions to log listed on the athlete page, oldest first (progression reads reports in
# the order the sessions happened); the count of the rest follows
TO_LOG_LISTED = 40


def page(name: str, status: int = 200, **context: Any) -> Template:
    return Template(name, context=context, status_code=status, media_type=MediaType.HTML)


class DayOffIn(BaseModel):
    """The days-off form: a date, and whether it becomes a day off or follows the week again."""

    date: date
    action: Literal["add", "remove"]

    @field_validator("date", mode="before")
    @classmethod
    def _written_as_a_date(cls, value: object) -> object:
        # what the page's date field sends: a number read as a Unix time, or a time of day
        # cut off, made a day the coach never typed (a hostile-input trial)
        if not isinstance(value, str) or not DATE_TYPED.fullmatch(value):
            raise ValueError("a date, please (YYYY-MM-DD)")
        return value


def safe_next(target: str | None) -> str:
    """Only a page of this dashboard: never an open redirect."""
    if target and target.startswith("/app/") and not target.startswith("//"):
        return target
    return "/app/"


async def athlete_page(
    web: CoachData,
    athlete_id: uuid.UUID,
    *,
    notice: dict[str, Any] | None = None,
    problems: dict[str, Problem] | None = None,
    status: int = 200,
) -> Template:
    athlete = await web.athlete(athlete_id)
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    plan_row = await web.plan(athlete)
    report = (plan_row.report or {}) if plan_row else {}
    reports = report.get("week_reports", [])
    logged = await logged_uids(web, athlete)
    days = await fortnight(web, athlete, reports, logged)
    progression = await progression_report(athlete_id, web)
    pains = await feedback_since(web, [athlete.id], now - timedelta(weeks=8))
    sessions = await web.sessions(athlete)
    # the last two weeks' sessions without a report, and those of a block already under way
    # (planned after they began) however old: the plan's warning sends the coach here for them
    recent = [
        (str(r.id), when(r.start, zone), summary(session_from_row(r, zone)))
        for r in sessions
        if r.start <= now
        and r.uid not in logged
        and (r.start >= now - timedelta(days=UNLOGGED_DAYS) or r.changed_at > r.start)
    ]
    flagged = sorted(progression.regions.items())
    races = await races_by_week(web, athlete, reports, zone)
    library = load_library()
    signed = {a.exercise_id for a in progression.approvals}
    person = athlete_from_row(athlete)
    # a barbell lift the athlete has no barbell for is never prescribed: nothing to sign off
    to_approve = [
        (exercise_id, library.by_id[exercise_id].name, exercise_id in progression.awaiting_approval)
        for exercise_id in SIGN_OFF
        if exercise_id not in signed and person.has_equipment(library.by_id[exercise_id].equipment)
    ]
    return page(
        "athlete.html",
        status,
        athlete=athlete,
        today=today,
        days=days,
        weeks=reports,
        races=races,
        this_week=next(
            (w["index"] for w in reports if w["start"] <= today.isoformat() <= w["end"]), None
        ),
        warnings=report.get("warnings", []),
        plan=plan_row,
        ladders=progression.patterns,
        review=progression.review,
        awaiting=[library.by_id[e].name for e in progression.awaiting_approval],
        to_approve=to_approve,
        approvals=[(library.by_id[a.exercise_id].name, a) for a in progression.approvals],
        flagged=[r for r, s in flagged if s.get("needs_clearance")],
        region_status=flagged,
        chart=pain_chart(pains, zone, today),
        legend=chart_legend(pains),
        to_log=recent[:TO_LOG_LISTED],
        to_log_more=max(0, len(recent) - TO_LOG_LISTED),
        notice=notice,
        problems=problems or {},
        words=words,
        region_words={r.value: w for r, w in REGION_WORDS.items()},
        # the current plan's span while it lasts: a re-plan from today would move where its
        # weeks begin (and so its race week) and stretch its end (a new user's trial)
        default_start=(
            plan_row.start if plan_row and _plan_end(plan_row) > today else today
        ).isoformat(),
        default_weeks=plan_row.weeks if plan_row else 12,
        link_of=link_of(athlete),
        days_off=sorted(
            e.date
            for e in athlete_from_row(athlete).availability.exceptions
            if not e.windows and e.date >= today
        ),
        # followed calendars and their last refresh (issue 11, api.sources)
        sources=await sources_of(web.db, athlete),
        source_host=source_host,
        source_lines=source_lines,
        # the page's forms' one-time id: sent again (a reload of the answer), a form is told so
        # instead of done twice ("knee has no red flag waiting", a trial)
        form_id=new_form_id(),
    )


def link_of(athlete: Any) -> str:
    """Names the athlete's current calendar link in the renewal form, so a form sent twice
    does not renew twice (a digest of the token's digest: nothing of the token itself)."""
    return digest(f"link-of:{athlete.feed_token_hash}")[:16]


def _plan_end(plan_row: Any) -> date:
    """The day after a stored plan's last day."""
    return plan_row.start + timedelta(weeks=plan_row.weeks)


async def races_by_week(
    web: CoachData, athlete: Any, reports: list[dict[str, Any]], zone: ZoneInfo
) -> dict[str, list[str]]:
    """Each report week's races by its start ("B race 'Club race' Sat 24"): the weekly table
    showed a B-race week only as its phase (a new user's trial)."""
    # each day of the reports -> its week's start (ISO dates, as the stored reports keep them)
    week_of = {
        (date.fromisoformat(week["start"]) + timedelta(days=offset)).isoformat(): week["start"]
        for week in reports
        for offset in range(7)
    }
    found: dict[str, list[str]] = {}
    for ride in await web.rides(athlete):
        local = ride.start.astimezone(zone)
        week = week_of.get(local.date().isoformat()) if ride.kind == "race" else None
        if week is not None:
            grade = f"{ride.priority} race" if ride.priority else "race"
            title = f" {ride.title!r}" if ride.title else ""
            found.setdefault(week, []).append(f"{grade}{title} {local:%a} {local.day}")
    return found


async def rolled_back(web: CoachData) -> None:
    """Forget a refused form's changes before the page is drawn again. The response's error
    status makes the session's handler roll the transaction back, so nothing the API would
    refuse is written; an explicit rollback here would end the transaction (and its SQLite
    writer lock) under the request's feet."""
    web.db.expunge_all()


class CoachPages(Controller):
    path = "/app"
    include_in_schema = False
    # pages of one person's data: no copy kept by the browser or anything between (Back after
    # signing out showed the roster again)
    cache_control = CacheControlHeader(no_store=True)

    @get("/", media_type=MediaType.HTML)
    async def home(self, web: NamedDependency[CoachData]) -> Template:
        return page("roster.html", coach=web.coach, lines=await roster(web))

    @get("/sign-in", media_type=MediaType.HTML)
    async def sign_in_form(
        self,
        next_: Annotated[str | None, Parameter(query="next")] = None,
        lost: str | None = None,
    ) -> Template:
        problem = (
            "You were signed out, so what you sent was not saved: sign in, then send it again."
            if lost
            else None
        )
        return page("sign_in.html", next=safe_next(next_), notice=problem)

    @post("/sign-in", media_type=MediaType.HTML)
    async def sign_in(
        self, request: Request, db_session: NamedDependency[AsyncSession], settings: Settings
    ) -> Response[Any]:
        form = await request.form()
        key = str(form.get("key") or "").strip()
        target = safe_next(str(form.get("next") or ""))
        coach = await coach_by_key_hash(db_session, digest(key)) if key else None
        if coach is None:
            return page(
                "sign_in.html",
                401,
                next=target,
                problem="That key is not known. Paste the coach key printed by "
                "`planner coach create` (or `make serve`).",
            )
        response = Redirect(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sign_session(settings.secret_key, coach.id, coach.key_hash),
            max_age=SESSION_MAX_AGE_S,
            path="/app",
            httponly=True,
            samesite="lax",
            secure=secure(request, settings),
        )
        return response

    @post("/sign-out", media_type=MediaType.HTML)
    async def sign_out(
        self, request: Request, db_session: NamedDependency[AsyncSession], settings: Settings
    ) -> Redirect:
        """The browser's cookie goes, and every session of the coach issued before now is
        refused (a copy of the cookie signed in for the rest of its 14 days): signing out signs
        the coach out of every browser."""
        session = read_session(settings.secret_key, request.cookies.get(SESSION_COOKIE))
        if session is not None:
            coach = await db_session.get(Coach, session.coach_id)
            if coach is not None:
                # the clock sessions are issued by (sign_session), not the service's
                coach.signed_out_at = datetime.now(UTC)
                await db_session.commit()  # a redirect: the autocommit handler would not
        response = Redirect("/app/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/app")
        return response

    @get("/athletes/{athlete_id:uuid}", media_type=MediaType.HTML)
    async def athlete(self, athlete_id: uuid.UUID, web: NamedDependency[CoachData]) -> Template:
        return await athlete_page(web, athlete_id)

    async def _session_page(
        self,
        web: CoachData,
        athlete_id: uuid.UUID,
        session_id: str,
        *,
        form: Any = None,
        problem: Problem | None = None,
        outcome: Any = None,
        already: datetime | None = None,
        status: int = 200,
    ) -> Template:
        athlete = await web.athlete(athlete_id)
        zone = ZoneInfo(athlete.timezone)
        row = await web.session(athlete, session_id)
        session = session_from_row(row, zone)
        logged = row.uid in await logged_uids(web, athlete)
        reports = [
            logged_lines(f, zone)
            for f in await web.session_feedback(athlete, row.uid, checkins=True)
        ]
        return page(
            "session.html",
            status,
            athlete=athlete,
            session=session,
            title=summary(session),
            when=when(session.start, zone),
            started=session.start <= clock.now(),
            logged=logged,
            reports=reports,
            exercises=exercise_fields(session),
            action=f"/app/athletes/{athlete.id}/sessions/{row.id}",
            form=form,
            form_id=new_form_id(),
            problem=problem,
            outcome=outcome,
            already=when(already, zone) if already else None,
            **PAIN_FIELDS,
            timings=SESSION_TIMINGS,
            words=words,
        )

    @get("/athletes/{athlete_id:uuid}/sessions/{session_id:str}", media_type=MediaType.HTML)
    async def session(
        self, athlete_id: uuid.UUID, session_id: str, web: NamedDependency[CoachData]
    ) -> Template:
        return await self._session_page(web, athlete_id, session_id)

    @post("/athletes/{athlete_id:uuid}/sessions/{session_id:str}", media_type=MediaType.HTML)
    async def log_session(
        self,
        athlete_id: uuid.UUID,
        session_id: str,
        request: Request,
        web: NamedDependency[CoachData],
        settings: Settings,
    ) -> Template:
        form = await request.form()
        athlete = await web.athlete(athlete_id)
        try:
            outcome = await submit_feedback(web, settings, athlete, session_id, form)
        except SentAlready as sent:
            return await self._session_page(web, athlete_id, session_id, already=sent.at)
        except (HTTPException, ValidationError) as exc:
            problem = problem_of(exc)
            if problem.status == 404:
                raise
            await rolled_back(web)
            return await self._session_page(
                web, athlete_id, session_id, form=form, problem=problem, status=problem.status
            )
        return await self._session_page(web, athlete_id, session_id, outcome=outcome)

    async def _act(
        self, web: CoachData, athlete_id: uuid.UUID, name: str, action: Any, form: Any = None
    ) -> Template:
        """Run a form's service call; on a refusal roll back and show it next to that form. A
        form sent before (its one-time id taken: a reload of its answer) is not run again."""
        athlete = await web.athlete(athlete_id)
        form_id = unsent_form_id(form) if form is not None else ""
        try:
            await check_form_id(web, athlete, form_id)
            notice = await action()
            await take_form_id(web, athlete, form_id)
        except SentAlready as sent:
            zone = ZoneInfo(athlete.timezone)
            return await athlete_page(
                web,
                athlete_id,
                notice={
                    "title": "Saved already",
                    "lines": [
                        f"This form was sent before ({when(sent.at, zone)}), by a reload or a "
                        "second tap: nothing was done twice."
                    ],
                },
            )
        except (HTTPException, ValidationError) as exc:
            problem = problem_of(exc)
            if problem.status == 404:
                raise
            await rolled_back(web)
            return await athlete_page(
                web, athlete_id, problems={name: problem}, status=problem.status
            )
        return await athlete_page(web, athlete_id, notice=notice)

    @post("/athletes/{athlete_id:uuid}/clearance", media_type=MediaType.HTML)
    async def clearance(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        web: NamedDependency[CoachData],
        settings: Settings,
    ) -> Template:
        form = await request.form()

        async def clear() -> dict[str, Any]:
            body = ClearanceIn.model_validate(texts(form, "region", "note"))
            answer = await clear_red_flag(athlete_id, body, web, settings)
            return {
                "title": f"{words(body.region.value)} cleared",
                "lines": answer.plan_changes + answer.advice,
            }

        return await self._act(web, athlete_id, "clearance", clear, form)

    @post("/athletes/{athlete_id:uuid}/approvals", media_type=MediaType.HTML)
    async def approval(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        web: NamedDependency[CoachData],
        settings: Settings,
    ) -> Template:
        form = await request.form()

        async def approve() -> dict[str, Any]:
            body = ApprovalIn.model_validate(texts(form, "exercise_id", "note"))
            answer = await approve_exercise(athlete_id, body, web, settings)
            name = load_library().by_id[body.exercise_id].name
            steps = [
                f"{words(c.pattern)}: level {c.from_level} to {c.to_level} ({c.reason})"
                for c in answer.progression_changes
            ]
            return {
                "title": f"{name} signed off",
                "lines": steps
                + answer.plan_changes
                + ([] if steps else [f"It enters the plan once the athlete earns the {name}."]),
            }

        return await self._act(web, athlete_id, "approvals", approve, form)

    @post("/athletes/{athlete_id:uuid}/plan", media_type=MediaType.HTML)
    async def replan(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        web: NamedDependency[CoachData],
        settings: Settings,
    ) -> Template:
        form = await request.form()

        async def plan() -> dict[str, Any]:
            start = str(form.get("start") or "").strip() or None
            weeks = str(form.get("weeks") or "").strip() or "12"
            body = PlanRequest.model_validate(
                {
                    "start": start,
                    # a few digits at most: int() refuses over 4300 of them (a 500, a trial)
                    "weeks": int(weeks)
                    if weeks.isascii() and weeks.isdigit() and len(weeks) <= 6
                    else weeks,
                }
            )
            athlete = await web.athlete(athlete_id)
            before = await upcoming(web, athlete)
            row, sessions, _ = await make_plan(web, settings, athlete_id, body)
            # what moved, as the feedback answers say it: the coach re-plans to see it
            moved = describe_plan_changes(before, await upcoming(web, athlete), "")
            return {
                "title": f"Re-planned: {row.weeks} weeks from {row.start.isoformat()}",
                "lines": [f"{len(sessions)} sessions", *moved] + row.report.get("warnings", []),
            }

        return await self._act(web, athlete_id, "plan", plan, form)

    @post("/athletes/{athlete_id:uuid}/feed-token", media_type=MediaType.HTML)
    async def rotate(
        self,
        athlete_id: uuid.UUID,
        request: Request,
        web: NamedDependency[CoachData],
        settings: Settings,
    ) -> Template:
        form = await request.form()

        async def rotate() -> dict[str, Any]:
            row = await web.athlete(athlete_id, lock=True)
            if form.get("confirm") != "yes":
                # the page's box, checked here too: one stray click ended the athlete's
                # subscription and every check-in link (a new user's trial)
                raise HTTPException(
                    status_code=422,
                    detail="tick 'I will send the athlete the new link' first: the old "
                    "calendar link and its check-in links stop working",
                )
            if str(form.get("link_of") or "") != link_of(row):
                # the form sent again (a reload of its answer, a second tab): renewing twice
                # would end the link just handed out
                raise HTTPException(
                    status_code=409,
                    detail="this calendar link was renewed already since the page was shown "
                    "(the form was sent again): the link shown then works. Renew again from "
                    "this page for another",
                )
            token = await new_feed_token(web, athlete_id)
            base = settings.base_url(str(request.base_url))
            return {
                "title": "New calendar link",
                "lines": [
                    "Send this link to the athlete; it is shown once. The old calendar link "
                    "and every check-in link in it no longer work."
                ],
                "link": f"{base}/feeds/{token}.ics",
            }

        return await self._act(web, athlete_id, "feed", rotate, form)

    @post("/athletes/{athlete_id:uuid}/days-off", media_type=MediaType.HTML)
    async def days_off(
        self, athlete_id: uuid.UUID, request: Request, web: NamedDependency[CoachData]
    ) -> Template:
        """A day off added (the day's windows emptied) or taken back, through the same merge
        patch as PATCH .../athletes/{id}: the import's all-day events and the coach's own
        days off need no API call."""
        form = await request.form()

        async def change() -> dict[str, Any]:
            day = DayOffIn.model_validate(texts(form, "date", "action"))
            row = await web.athlete(athlete_id, lock=True)
            today = clock.now().astimezone(ZoneInfo(row.timezone)).date()
            if day.action == "add" and day.date < today:
                raise HTTPException(
                    status_code=422,
                    detail=f"date: {day.date.isoformat()} is past: a day off is for a day ahead",
                )
            # taking a day back removes only a day off (a date with windows of its own, set
            # through the API, is not listed here and stays); adding one replaces the date's
            exceptions_now = athlete_from_row(row).availability.exceptions
            if day.action == "remove" and not any(
                e.date == day.date and not e.windows for e in exceptions_now
            ):
                raise HTTPException(
                    status_code=422,
                    detail=f"date: {day.date.isoformat()} is not a day off: nothing to take back",
                )
            kept = [
                e
                for e in exceptions_now
                if e.date != day.date or (day.action == "remove" and e.windows)
            ]
            if day.action == "add":
                kept.append(AvailabilityException(date=day.date, windows=[]))
            exceptions = [e.model_dump(mode="json") for e in sorted(kept, key=lambda e: e.date)]
            row = await patch_athlete(web, row, {"availability": {"exceptions": exceptions}})
            said = f"{day.date:%A} {day.date.day} {day.date:%B}"
            if day.date.year != today.year:
                said += f" {day.date.year}"
            zone = ZoneInfo(row.timezone)
            midnight = datetime.combine(day.date, datetime.min.time(), zone)
            there = await sessions_between(
                web, [row.id], max(midnight, clock.now()), midnight + timedelta(days=1)
            )
            # the published sessions stay until a re-plan: "no session goes there" read false
            # beside the session still on that day (a new user's trial)
            if day.action == "add" and there:
                times = ", ".join(f"{r.kind} at {r.start.astimezone(zone):%H:%M}" for r in there)
                lines = [
                    f"{said} is a day off. Its {times} stays in the calendar until you re-plan, "
                    "which moves it to another day."
                ]
            elif day.action == "add":
                lines = [f"{said} is a day off: no session will be planned there."]
            else:
                lines = [f"{said} follows the weekly windows again; a re-plan may use it."]
            plan_row = await web.plan(row)
            if plan_row is not None:
                warnings = (plan_row.report or {}).get("warnings", [])
                lines += [w for w in warnings if w.startswith(STALE)]
            return {"title": "Days off changed", "lines": lines}

        return await self._act(web, athlete_id, "days_off", change, form)

    @post(
        "/athletes/{athlete_id:uuid}/rides",
        media_type=MediaType.HTML,
        request_max_body_size=5 * 1024 * 1024 + 4096,
    )
    async def import_rides(
        self, athlete_id: uuid.UUID, request: Request, web: NamedDependency[CoachData]
    ) -> Template:
        form = await request.form()
        upload = form.get("calendar")

        async def load() -> dict[str, Any]:
            if upload is None or isinstance(upload, str):
                raise HTTPException(status_code=400, detail="choose an .ics file to import")
            body = await upload.read()
            counts = (await import_calendar(web, athlete_id, body)).counts
            removed = f", {counts.removed} removed" if counts.removed else ""
            lines = [
                f"{counts.created} created, {counts.updated} updated{removed}, "
                f"{counts.unchanged} unchanged, {counts.skipped} skipped"
            ] + [f"skipped {s.title or s.uid}: {s.reason}" for s in counts.skipped_events[:20]]
            lines += [f"{n.title or n.uid}: {n.note}" for n in counts.notes[:20]]
            if counts.created or counts.updated or counts.removed:
                lines.append("Re-plan to fit the sessions around the changed rides.")
            else:
                lines.append("No ride changed: the plan stands as it is.")
            return {"title": "Rides imported", "lines": lines}

        return await self._act(web, athlete_id, "rides", load, form)
