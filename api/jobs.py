"""Background jobs: calendar refreshes, the nightly missed-training check and roster re-plans;
`POST /api/v1/replan`, `GET /api/v1/jobs/{id}` and the `planner worker` process.

Every job works on one athlete under the athlete's lock (the lock feedback takes), in one
transaction: a worker killed mid-job leaves nothing half done, and the retry does the work
once (a re-plan's job_run row turns done in the same transaction; a refresh stores the
calendar's hash with its import).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.status_codes import HTTP_202_ACCEPTED
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import clock
from api.bodies import StrictBody
from api.db import AthleteRow, CalendarSourceRow, Coach, JobRunRow, PlanRow
from api.errors import JSON_BODY, OWNED
from api.metrics import JOB_FAILURES, JOB_SECONDS, JOBS, jobs_log, log_line, observe_solver
from api.plans import drop_for_missed_training, replan
from api.repository import CoachData
from api.runner import ATTEMPTS, JobAccepted, Runner, fail_lost, prune, queued_or_503
from api.settings import Settings
from api.sources import refresh_source, replan_current
from planner.errors import PlannerFailure, PlannerInputError

Context = dict[str, Any]
FUNCTIONS: dict[str, Callable[..., Awaitable[Any]]] = {}
ROSTER_LIMIT = 10_000


def job(function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A job function: timed, counted and logged (one line, with the job and athlete ids),
    and kept alive in SAQ by a heartbeat while it runs (a killed worker's job stops beating
    and is retried)."""

    @functools.wraps(function)
    async def run(ctx: Context, **kwargs: Any) -> Any:
        saq_job = ctx.get("job")
        beat = None
        if saq_job is not None and saq_job.heartbeat:
            beat = asyncio.ensure_future(_beat(saq_job, saq_job.heartbeat / 3))
        attempt = saq_job.attempts if saq_job is not None else ctx.get("attempt", 1)
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await function(ctx, **kwargs)
            outcome = (result or {}).get("outcome", "ok") if isinstance(result, dict) else "ok"
            return result
        except Exception as exc:
            JOB_FAILURES.labels(function.__name__).inc()
            outcome = f"raised {type(exc).__name__}"
            raise
        finally:
            if beat is not None:
                beat.cancel()
            elapsed = time.perf_counter() - started
            JOBS.labels(
                function.__name__, "raised" if outcome.startswith("raised") else outcome
            ).inc()
            JOB_SECONDS.labels(function.__name__).observe(elapsed)
            log_line(
                jobs_log,
                logging.INFO if not outcome.startswith("raised") else logging.WARNING,
                event="job",
                function=function.__name__,
                job_id=kwargs.get("job_id"),
                queue_key=saq_job.key if saq_job is not None else ctx.get("key"),
                athlete_id=kwargs.get("athlete_id"),
                attempt=attempt,
                outcome=outcome,
                ms=round(elapsed * 1000, 1),
            )

    FUNCTIONS[function.__name__] = run
    return run


async def _beat(saq_job: Any, every: float) -> None:
    while True:
        await asyncio.sleep(max(0.5, every))
        try:
            await saq_job.update()
        except Exception:  # a missed beat only risks a retry, which is harmless
            pass


def _sessions(ctx: Context) -> async_sessionmaker[AsyncSession]:
    return ctx["sessions"]  # type: ignore[no-any-return]


async def _mark(
    ctx: Context,
    job_id: str | None,
    athlete_id: str,
    values: dict[str, Any],
    *,
    states: tuple[str, ...] | None = None,
) -> None:
    """Set `values` on the job's row for the athlete (only while in `states`, when given)."""
    if job_id is None:
        return
    query = update(JobRunRow).where(
        JobRunRow.job_id == uuid.UUID(job_id), JobRunRow.athlete_id == uuid.UUID(athlete_id)
    )
    if states is not None:
        query = query.where(JobRunRow.state.in_(states))
    async with _sessions(ctx)() as db, db.begin():
        await db.execute(query.values(**values))


async def _start(ctx: Context, job_id: str | None, athlete_id: str) -> None:
    await _mark(
        ctx,
        job_id,
        athlete_id,
        {"state": "running", "started_at": clock.now(), "attempts": JobRunRow.attempts + 1},
        states=("queued", "running"),
    )


async def _scope(db: AsyncSession, athlete_id: uuid.UUID) -> tuple[CoachData, AthleteRow] | None:
    """The athlete's coach's scope and the athlete, locked; None when the athlete is gone."""
    coach = await db.scalar(
        select(Coach)
        .join(AthleteRow, AthleteRow.coach_id == Coach.id)
        .where(AthleteRow.id == athlete_id)
    )
    if coach is None:
        return None
    data = CoachData(db, coach)
    try:
        return data, await data.athlete(athlete_id, lock=True)
    except NotFoundException:
        return None


DETAIL_MAX = JobRunRow.detail.type.length  # what the column holds


def _replan_detail(plan_row: Any) -> str | None:
    """A roster re-plan's line for one athlete: the plan's version and its warnings (the
    first in full), so a coach sees which athletes need a look without opening every plan."""
    if plan_row is None:
        return None
    warnings = (plan_row.report or {}).get("warnings", [])
    if not warnings:
        return f"plan version {plan_row.version}"
    more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
    line = f"plan version {plan_row.version}; warning: {warnings[0]}"
    return line[: DETAIL_MAX - len(more)] + more  # the column holds DETAIL_MAX characters


# --- the jobs -----------------------------------------------------------------------------


@job
async def refresh_athlete(
    ctx: Context,
    *,
    athlete_id: str,
    job_id: str | None = None,
    force: bool = False,
    source_id: str | None = None,
) -> dict[str, Any]:
    """Refresh each of the athlete's calendar sources (paused ones only when `force`), or only
    `source_id`: a coach's refresh of one source leaves the others, paused ones above all, as
    they are (a new user's trial saw one refresh push another source to its pause)."""
    settings: Settings = ctx["settings"]
    await _start(ctx, job_id, athlete_id)
    async with _sessions(ctx)() as db:
        query = select(CalendarSourceRow.id).where(
            CalendarSourceRow.athlete_id == uuid.UUID(athlete_id)
        )
        if source_id is not None:
            query = query.where(CalendarSourceRow.id == uuid.UUID(source_id))
        ids = list((await db.scalars(query.order_by(CalendarSourceRow.created_at))).all())
    results = []
    retry_in: float | None = None
    failures = 0
    for each in ids:
        result = await refresh_source(_sessions(ctx), settings, each, force=force)
        results.append({"source_id": str(each), **result})
        if "retry_in" in result:
            retry_in = min(retry_in or result["retry_in"], result["retry_in"])
            failures = max(failures, result["failures"])
    if retry_in is not None:
        # sooner than the next scheduled refresh. The key names the failure count: a retry
        # queues the next one while its own key is still taken
        runner: Runner = ctx["runner"]
        await runner.enqueue(
            "refresh_athlete",
            key=f"refresh-retry:{athlete_id}:{failures}",
            delay_s=retry_in,
            athlete_id=athlete_id,
        )
    failed = [r for r in results if r.get("outcome") in ("error", "paused")]
    # which source each failure is (an athlete may follow several)
    detail = (
        "; ".join(f"source {r['source_id']}: {r['outcome']}: {r.get('reason', '')}" for r in failed)
        or None
    )
    await _mark(
        ctx,
        job_id,
        athlete_id,
        {
            "state": "failed" if failed else "done",
            "detail": detail[:DETAIL_MAX] if detail else None,
            "finished_at": clock.now(),
        },
    )
    outcomes = {r.get("outcome") for r in results}
    return {
        "outcome": "error" if failed else ("ok" if "ok" in outcomes else "not_modified"),
        "sources": results,
    }


@job
async def refresh_all(ctx: Context) -> dict[str, Any]:
    """Cron: queue a refresh of every athlete with a source that is not paused, and fail the
    job rows the queue lost (fail_lost)."""
    runner: Runner = ctx["runner"]
    async with _sessions(ctx)() as db:
        athletes = list(
            (
                await db.scalars(
                    select(CalendarSourceRow.athlete_id)
                    .where(CalendarSourceRow.status != "paused")
                    .distinct()
                )
            ).all()
        )
    for athlete_id in athletes:
        await runner.enqueue_refresh(athlete_id)
    lost = await fail_lost(_sessions(ctx), runner)  # on the same schedule: forgotten jobs end
    return {"outcome": "ok", "athletes": len(athletes), "lost": lost}


@job
async def replan_athlete(ctx: Context, *, athlete_id: str, job_id: str) -> dict[str, Any]:
    """Re-plan one athlete of a roster job: the current plan's start and weeks (a new 12-week
    plan from today when there is none, or it has ended), S4 keeping what is published, and
    missed training judged first as POST .../plan judges it."""
    settings: Settings = ctx["settings"]
    await _start(ctx, job_id, athlete_id)
    try:
        async with _sessions(ctx)() as db, db.begin():
            row = await db.scalar(
                select(JobRunRow).where(
                    JobRunRow.job_id == uuid.UUID(job_id),
                    JobRunRow.athlete_id == uuid.UUID(athlete_id),
                )
            )
            if row is None or row.state in ("done", "failed", "skipped"):
                return {"outcome": "skipped"}  # done already (a retry after the commit)
            found = await _scope(db, uuid.UUID(athlete_id))
            if found is None:
                row.state, row.detail, row.finished_at = "skipped", "athlete gone", clock.now()
                return {"outcome": "skipped"}
            data, athlete = found
            missed = await drop_for_missed_training(data, athlete)
            if not await replan_current(db, athlete, settings, "replan"):
                rides = await data.rides(athlete)
                made, _ = await replan(db, athlete, rides, settings, None, 12)
                observe_solver(made.report, "replan")
            plan_row = await data.plan(athlete)
            if missed and plan_row is not None:
                warnings = [*plan_row.report.get("warnings", []), *missed]
                plan_row.report = {**plan_row.report, "warnings": warnings}
            row.state, row.finished_at = "done", clock.now()
            row.detail = _replan_detail(plan_row)
            return {"outcome": "ok", "version": plan_row.version if plan_row else None}
    except (PlannerFailure, PlannerInputError) as exc:  # the same calendar fails again: no retry
        await _mark(
            ctx,
            job_id,
            athlete_id,
            {"state": "failed", "detail": str(exc)[:DETAIL_MAX], "finished_at": clock.now()},
        )
        return {"outcome": "failed", "reason": str(exc)}
    except Exception as exc:
        attempt = ctx["job"].attempts if "job" in ctx else ctx.get("attempt", ATTEMPTS)
        if attempt >= ATTEMPTS:
            await _mark(
                ctx,
                job_id,
                athlete_id,
                {"state": "failed", "detail": repr(exc)[:DETAIL_MAX], "finished_at": clock.now()},
            )
        raise


@job
async def missed_training_athlete(ctx: Context, *, athlete_id: str) -> dict[str, Any]:
    """Judge missed training now; when levels drop, re-plan with the drops in the warnings."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as db, db.begin():
        found = await _scope(db, uuid.UUID(athlete_id))
        if found is None:
            return {"outcome": "skipped"}
        data, athlete = found
        missed = await drop_for_missed_training(data, athlete)
        if not missed:
            return {"outcome": "unchanged"}
        try:
            replanned = await replan_current(db, athlete, settings, "missed_training")
        except (PlannerFailure, PlannerInputError) as exc:
            # the drop is kept (it is judged once per gap); the coach re-plans by hand
            replanned = False
            missed.append(f"the re-plan after the drop failed ({exc}): POST .../plan")
        plan_row = await data.plan(athlete)
        if plan_row is not None:
            warnings = [*plan_row.report.get("warnings", []), *missed]
            plan_row.report = {**plan_row.report, "warnings": warnings}
        return {"outcome": "dropped", "replanned": replanned, "changes": missed}


@job
async def missed_training_all(ctx: Context) -> dict[str, Any]:
    """Nightly: queue the missed-training check of every athlete with a plan; forget old
    job rows."""
    runner: Runner = ctx["runner"]
    async with _sessions(ctx)() as db:
        athletes = list((await db.scalars(select(PlanRow.athlete_id))).all())
    day = clock.now().date().isoformat()
    for athlete_id in athletes:
        await runner.enqueue(
            "missed_training_athlete",
            key=f"missed:{athlete_id}:{day}",
            athlete_id=str(athlete_id),
        )
    pruned = await prune(_sessions(ctx))
    return {"outcome": "ok", "athletes": len(athletes), "pruned": pruned}


# --- the worker process -------------------------------------------------------------------


async def worker_startup(ctx: Context) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.runner import SaqRunner

    settings = Settings.from_env()
    engine = create_async_engine(
        settings.database_url, pool_pre_ping=True, connect_args=settings.connect_args
    )
    ctx["engine"] = engine  # type: ignore[literal-required]
    ctx["settings"] = settings  # type: ignore[literal-required]
    ctx["sessions"] = async_sessionmaker(engine, expire_on_commit=False)  # type: ignore[literal-required]
    ctx["runner"] = SaqRunner(settings, ctx["worker"].queue)  # type: ignore[literal-required]


async def worker_shutdown(ctx: Context) -> None:
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()


def run_worker(settings: Settings, metrics_port: int | None = None) -> int:
    """`planner worker`: run jobs and the cron from Redis until SIGTERM or SIGINT."""
    import logging.config

    from litestar_saq import SAQPlugin

    from api.logs import FILTER, bare_json_loggers
    from api.metrics import REGISTRY
    from api.runner import saq_config

    if not settings.redis_url:
        print("planner worker: REDIS_URL is not set (without it the API runs jobs itself)")
        return 2
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": FILTER,
        "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "err": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["err"], "level": "INFO"},
    }
    bare_json_loggers(config, "ext://sys.stderr")  # job lines: JSON as they are
    logging.config.dictConfig(config)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=REGISTRY)
    plugin = SAQPlugin(config=saq_config(settings, worker=True))
    worker = plugin.get_workers()[settings.queue_name]
    pause_when_the_queue_fails(worker.queue)

    async def main() -> int:
        await worker.queue.connect()
        try:
            # Redis out of reach at start: one line and exit 1 (it spun a core, logging a
            # traceback a second, and never exited: an operator's trial)
            await asyncio.wait_for(worker.queue.redis.ping(), QUEUE_PING_S)
        except Exception as exc:  # noqa: BLE001 - whatever keeps Redis from answering
            where = settings.redis_url.rsplit("@", 1)[-1]  # no password
            print(
                f"planner worker: error: the queue at {where} does not answer: "
                f"{type(exc).__name__}",
                file=sys.stderr,
            )
            return 1
        try:
            await worker.start()
        finally:
            await worker.queue.disconnect()
        return 0

    return asyncio.run(main())


QUEUE_PING_S = 5.0
QUEUE_PAUSE_S = 2.0


def pause_when_the_queue_fails(queue: Any) -> None:
    """After a failed dequeue, wait QUEUE_PAUSE_S before the next: SAQ's worker starts the next
    dequeue the moment one fails, so with Redis gone it spun a whole core (an operator's
    trial). The queue's own method is wrapped: SAQ has no hook between two dequeues."""
    dequeue = queue.dequeue

    async def paused(*args: Any, **kwargs: Any) -> Any:
        try:
            return await dequeue(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(QUEUE_PAUSE_S)
            raise

    queue.dequeue = paused


# --- the API ------------------------------------------------------------------------------


class ReplanIn(StrictBody):
    athlete_ids: list[uuid.UUID] | None = Field(
        None, max_length=ROSTER_LIMIT, description="The athletes to re-plan; null: all of yours"
    )


class JobAthleteOut(BaseModel):
    athlete_id: uuid.UUID
    state: str = Field(description="queued, running, done, failed or skipped")
    detail: str | None
    attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="replan or refresh")
    state: str = Field(
        description="queued (nothing started), running, done (every athlete finished; "
        "see failed) or failed (every athlete failed)"
    )
    total: int
    done: int
    failed: int
    queued_at: datetime
    finished_at: datetime | None
    athletes: list[JobAthleteOut]
    waiting: str | None = Field(
        default=None,
        description="Why an unfinished job does not move: no worker running, or the queue "
        "out of reach (as GET /health says)",
    )


def job_out(rows: list[JobRunRow]) -> JobOut:
    states = [row.state for row in rows]
    finished = [s in ("done", "failed", "skipped") for s in states]
    failed = states.count("failed")
    if all(finished):
        state = "failed" if failed == len(rows) else "done"
    elif all(s == "queued" for s in states):
        state = "queued"
    else:
        state = "running"
    ends = [row.finished_at for row in rows if row.finished_at is not None]
    return JobOut(
        id=rows[0].job_id,
        kind=rows[0].kind,
        state=state,
        total=len(rows),
        done=sum(finished),
        failed=failed,
        queued_at=min(row.queued_at for row in rows),
        finished_at=max(ends) if all(finished) and ends else None,
        athletes=[
            JobAthleteOut(
                athlete_id=row.athlete_id,
                state=row.state,
                detail=row.detail,
                attempts=row.attempts,
                queued_at=row.queued_at,
                started_at=row.started_at,
                finished_at=row.finished_at,
            )
            for row in rows
        ],
    )


# a waiting roster re-plan answers a repeat only this long: a job lost with its queue (the
# in-process runner restarted, Redis emptied) must not answer every later re-plan
REPLAN_REUSE = timedelta(minutes=10)


async def _waiting_replan(data_scope: CoachData, chosen: list[uuid.UUID]) -> uuid.UUID | None:
    """A roster re-plan of the coach for exactly these athletes, queued in the last
    REPLAN_REUSE, of which nothing has started."""
    query = select(JobRunRow.job_id, JobRunRow.athlete_id, JobRunRow.state).where(
        # every row of the coach's roster re-plans with a recent run still queued
        JobRunRow.job_id.in_(
            select(JobRunRow.job_id).where(
                JobRunRow.coach_id == data_scope.coach.id,
                JobRunRow.kind == "replan",
                JobRunRow.state == "queued",
                JobRunRow.queued_at >= clock.now() - REPLAN_REUSE,
            )
        )
    )
    runs: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for job_id, athlete_id, state in await data_scope.db.execute(query):
        runs.setdefault(job_id, []).append((athlete_id, state))
    wanted = set(chosen)
    for job_id, rows in runs.items():
        if {a for a, _ in rows} == wanted and len(rows) == len(wanted):
            if all(state == "queued" for _, state in rows):
                return job_id
    return None


class JobController(Controller):
    path = "/api/v1"
    tags = ["jobs"]

    @post("/replan", status_code=HTTP_202_ACCEPTED, raises=OWNED + JSON_BODY)
    async def replan_roster(
        self,
        data_scope: NamedDependency[CoachData],
        jobs: NamedDependency[Runner],
        data: ReplanIn | None = None,
    ) -> JobAccepted:
        """Re-plan athletes in the background (all of yours when `athlete_ids` is null): each
        keeps its plan's start and weeks and what is published (S4). Answers the job's id."""
        wanted = data.athlete_ids if data is not None else None
        mine = {row.id for row in await data_scope.athletes()}
        if wanted is None:
            chosen = sorted(mine)
        else:
            missing = [str(a) for a in wanted if a not in mine]
            if missing:
                # another coach's athlete answers as a missing one does
                raise HTTPException(
                    status_code=404,
                    detail=f"athlete not found: {missing[0]}",
                    extra=[
                        {"key": "athlete_ids", "message": f"not found: {', '.join(missing[:10])}"}
                    ],
                )
            chosen = list(dict.fromkeys(wanted))
        if not chosen:
            raise HTTPException(status_code=422, detail="no athletes to re-plan")
        waiting = await _waiting_replan(data_scope, chosen)
        if waiting is not None:
            # the same roster re-plan, not started yet: it will read everything as of its
            # start, so a second would only do the work again (forty sent at once queued 320
            # re-plans: a coach's trial)
            return JobAccepted(job_id=waiting, state="queued")
        job_id = await jobs.record(data_scope.db, data_scope.coach, chosen, "replan")
        await data_scope.db.commit()
        # the rows would wait as queued for good, and a later re-plan of the same athletes
        # would answer this job instead of queuing one (a review's finding)
        await queued_or_503(
            data_scope.db,
            job_id,
            "replan_athlete",
            jobs.enqueue_replans(chosen, job_id),
            "the job queue could not take the re-plan; try again in a minute",
        )
        return JobAccepted(job_id=job_id, state="queued")

    @get("/jobs/{job_id:uuid}", raises=OWNED)
    async def read_job(
        self,
        job_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        jobs: NamedDependency[Runner],
    ) -> JobOut:
        """A job's state, with each athlete's part (state, error, times), and while it is
        unfinished, why it waits when nothing can run it (`waiting`)."""
        rows = list(
            (
                await data_scope.db.scalars(
                    select(JobRunRow)
                    .where(JobRunRow.job_id == job_id, JobRunRow.coach_id == data_scope.coach.id)
                    .order_by(JobRunRow.queued_at, JobRunRow.athlete_id)
                )
            ).all()
        )
        if not rows:
            raise NotFoundException("job not found")
        out = job_out(rows)
        if out.state in ("queued", "running"):
            background = await jobs.health()
            if background["jobs"] != "ok":
                out.waiting = background["jobs"]
        return out
