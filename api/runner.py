"""Where background jobs run: SAQ on Redis (REDIS_URL; `planner worker` processes run them), or
this process (no REDIS_URL: `make serve` needs nothing more). Both run api.jobs' functions.

The API records each job's athletes in job_run (its state for GET /api/v1/jobs/{id}), commits,
then enqueues. Keys make jobs idempotent per athlete: a refresh of an athlete that is already
queued or running is not queued twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.exceptions import HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from api import clock
from api.db import Coach, JobRunRow
from api.metrics import jobs_log, log_line
from api.settings import Settings

log = logging.getLogger("planner.jobs")

# a worker killed mid-job stops touching it; after JOB_HEARTBEAT_S another worker's sweep
# gives it to a worker again, up to this many attempts in all
ATTEMPTS = 3
JOB_TIMEOUT_S = 600  # one athlete's refresh or re-plan; a roster is one job per athlete
JOB_TTL_S = 24 * 3600  # how long Redis keeps a finished job
RETRY_DELAY_S = 5.0  # the first retry's pause; doubled for each after
QUEUE_CONNECT_TIMEOUT_S = 3.0  # connecting to Redis gives up after this
QUEUE_CALL_TIMEOUT_S = 5.0  # an API's call to Redis (enqueue, depth) gives up after this
# a row queued or running this long is lost (the queue or its worker restarted and forgot it,
# or its last attempt died with the database away): it is failed, so the job ends
STALE_JOB_AFTER = timedelta(seconds=JOB_TIMEOUT_S * ATTEMPTS) + timedelta(minutes=30)
NIGHTLY_CRON = "0 3 * * *"  # the missed-training check, UTC
HEALTH_WAIT_S = 2.0  # /health waits this long for Redis before calling the queue unreachable


class JobAccepted(BaseModel):
    job_id: uuid.UUID = Field(description="GET /api/v1/jobs/{job_id} follows it")
    state: str = Field(description="queued")


def refresh_cron(minutes: float) -> str:
    """SOURCE_REFRESH_MIN as a cron line (whole minutes; at least one)."""
    every = max(1, round(minutes))
    if every < 60:
        return f"*/{every} * * * *"
    if every % 60 == 0 and every < 24 * 60:
        return f"0 */{every // 60} * * *"
    return "0 0 * * *"


class Runner:
    """What the API and the jobs themselves use to queue work."""

    settings: Settings

    async def record(
        self,
        db: AsyncSession,
        coach: Coach,
        athlete_ids: Iterable[uuid.UUID],
        kind: str,
        detail: str | None = None,
    ) -> uuid.UUID:
        """A new job's rows, one per athlete (queued, with `detail` while they wait); the
        caller commits before enqueueing."""
        job_id = uuid.uuid4()
        now = clock.now()
        db.add_all(
            JobRunRow(
                job_id=job_id,
                coach_id=coach.id,
                athlete_id=athlete_id,
                kind=kind,
                state="queued",
                detail=detail,
                attempts=0,
                queued_at=now,
            )
            for athlete_id in athlete_ids
        )
        await db.flush()
        return job_id

    async def enqueue(
        self, function: str, *, key: str, delay_s: float = 0.0, **kwargs: Any
    ) -> bool:
        """Queue `function(**kwargs)` under `key`; False when a job of that key is already
        queued or running (it will do the work)."""
        raise NotImplementedError

    async def enqueue_refresh(
        self,
        athlete_id: uuid.UUID,
        *,
        job_id: uuid.UUID | None = None,
        force: bool = False,
        source_id: uuid.UUID | None = None,
    ) -> None:
        """The athlete's sources refreshed, or only `source_id` (a coach's refresh of one)."""
        if job_id is None:
            await self.enqueue(
                "refresh_athlete", key=f"refresh:{athlete_id}", athlete_id=str(athlete_id)
            )
            return
        # a coach's refresh always runs (its row must end), after or beside a scheduled one:
        # the athlete's lock keeps their imports apart
        await self.enqueue(
            "refresh_athlete",
            key=queue_key("refresh", athlete_id, job_id),
            athlete_id=str(athlete_id),
            job_id=str(job_id),
            force=force,
            source_id=str(source_id) if source_id else None,
        )

    async def enqueue_replans(self, athlete_ids: Iterable[uuid.UUID], job_id: uuid.UUID) -> None:
        await asyncio.gather(
            *(
                self.enqueue(
                    "replan_athlete",
                    key=queue_key("replan", athlete_id, job_id),
                    athlete_id=str(athlete_id),
                    job_id=str(job_id),
                )
                for athlete_id in athlete_ids
            )
        )

    async def depth(self) -> dict[str, int]:
        return {}

    async def holds(self, keys: list[str]) -> list[bool]:
        """Whether the queue still holds a job under each key (waiting or running)."""
        return [True] * len(keys)

    async def health(self) -> dict[str, Any]:
        """What /health says of background work: `jobs` is "ok" when something runs them."""
        return {"jobs": "ok", "runs_in": "this process"}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class SaqRunner(Runner):
    """Enqueues on a SAQ queue (the API's, or a worker's own for the jobs it fans out)."""

    def __init__(self, settings: Settings, queue: Any) -> None:
        self.settings = settings
        self.queue = queue

    async def enqueue(
        self, function: str, *, key: str, delay_s: float = 0.0, **kwargs: Any
    ) -> bool:
        job = await self.queue.enqueue(
            function,
            key=key,
            timeout=JOB_TIMEOUT_S,
            heartbeat=self.settings.job_heartbeat_s,
            retries=ATTEMPTS,
            # a failure outside the job's own handling (the database away for a moment) is
            # tried again after a pause, not three times within a quarter second
            retry_delay=RETRY_DELAY_S,
            retry_backoff=True,
            ttl=JOB_TTL_S,
            scheduled=int(time.time() + delay_s) if delay_s > 0 else 0,
            **kwargs,
        )
        return job is not None

    async def holds(self, keys: list[str]) -> list[bool]:
        from saq.job import Status

        if not keys:
            return []
        live = (Status.NEW, Status.QUEUED, Status.ACTIVE)
        return [job is not None and job.status in live for job in await self.queue.jobs(keys)]

    async def depth(self) -> dict[str, int]:
        return {
            "queued": await self.queue.count("queued"),
            "active": await self.queue.count("active"),
            "scheduled": max(
                0,
                await self.queue.count("incomplete")
                - await self.queue.count("queued")
                - await self.queue.count("active"),
            ),
        }

    async def health(self) -> dict[str, Any]:
        """The live workers SAQ knows of (each writes its info every 10 s, kept 11 s): none
        means queued jobs wait, which GET /api/v1/jobs/{id} alone would show only as waiting."""
        try:
            info = await asyncio.wait_for(self.queue.info(), HEALTH_WAIT_S)
        except Exception:  # noqa: BLE001 - Redis down or slow: either way no job can start
            return {"jobs": "queue unreachable", "runs_in": "workers"}
        workers = len(info.get("workers") or {})
        return {
            "jobs": "ok" if workers else "no worker running: queued jobs wait (planner worker)",
            "runs_in": "workers",
            "workers": workers,
            "queued": info.get("queued", 0),
        }

    async def start(self) -> None:
        await self.queue.connect()

    async def stop(self) -> None:
        try:
            await self.queue.disconnect()
        except Exception as exc:  # noqa: BLE001 - Redis gone at shutdown: nothing left to close
            # the class only: a connection error may carry the URL, and with it a password
            log_line(
                log,
                logging.WARNING,
                event="queue",
                outcome=f"disconnect failed at shutdown: {type(exc).__name__}",
            )


class LocalRunner(Runner):
    """The same job functions as asyncio tasks of this process, one at a time (solving is CPU
    work and this process answers requests too), with the same keys, retries and cron."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys: set[str] = set()
        self.waiting = 0
        self.running = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.slot = asyncio.Semaphore(1)
        self.context: dict[str, Any] = {}
        self.engine: Any = None

    async def start(self) -> None:
        self.engine = create_async_engine(
            self.settings.database_url, connect_args=self.settings.connect_args
        )
        self.context = {
            "settings": self.settings,
            "sessions": async_sessionmaker(self.engine, expire_on_commit=False),
            "runner": self,
        }
        self._spawn(self._cron())

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.engine is not None:
            await self.engine.dispose()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def enqueue(
        self, function: str, *, key: str, delay_s: float = 0.0, **kwargs: Any
    ) -> bool:
        if key in self.keys:
            return False
        if not self.context:  # an app driven without its lifespan (schemathesis's calls)
            await self.start()
        self.keys.add(key)
        self.waiting += 1
        self._spawn(self._run(function, key, delay_s, kwargs))
        return True

    async def _run(self, function: str, key: str, delay_s: float, kwargs: dict[str, Any]) -> None:
        from api.jobs import FUNCTIONS

        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            async with self.slot:
                self.waiting -= 1
                self.running += 1
                try:
                    for attempt in range(1, ATTEMPTS + 1):
                        context = {**self.context, "attempt": attempt, "key": key}
                        try:
                            await FUNCTIONS[function](context, **kwargs)
                            break
                        except Exception as exc:
                            if attempt == ATTEMPTS:
                                # one JSON line, its traceback a field of it (the logger's
                                # lines are read as JSON: api.logs.JSON_LOGGERS)
                                log_line(
                                    log,
                                    logging.ERROR,
                                    event="job",
                                    function=function,
                                    queue_key=key,
                                    outcome=f"failed {attempt} times: {type(exc).__name__}",
                                    traceback=traceback.format_exc(),
                                )
                finally:
                    self.running -= 1
        finally:
            self.keys.discard(key)

    async def depth(self) -> dict[str, int]:
        return {"queued": self.waiting, "active": self.running}

    async def holds(self, keys: list[str]) -> list[bool]:
        return [key in self.keys for key in keys]

    async def _cron(self) -> None:
        """SOURCE_REFRESH_MIN's refresh and the nightly check, as the SAQ worker's cron runs
        them (the first refresh one interval after start)."""
        every = max(60.0, self.settings.source_refresh_min * 60)
        next_refresh = time.monotonic() + every
        next_nightly = _next_nightly(clock.now())
        while True:
            await asyncio.sleep(min(60.0, max(1.0, next_refresh - time.monotonic())))
            if time.monotonic() >= next_refresh:
                next_refresh += every
                await self.enqueue("refresh_all", key="cron:refresh_all")
            if clock.now() >= next_nightly:
                next_nightly = _next_nightly(clock.now())
                await self.enqueue("missed_training_all", key="cron:missed_training_all")


def _next_nightly(now: datetime) -> datetime:
    at = now.astimezone(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def saq_config(settings: Settings, *, worker: bool = False) -> Any:
    """litestar-saq's configuration of the one queue; a worker's has the functions and cron."""
    from litestar_saq import CronJob, QueueConfig, SAQConfig

    tasks: list[Callable[..., Any]] = []
    cron: list[Any] = []
    startup: list[Any] = []
    shutdown: list[Any] = []
    if worker:
        from api import jobs

        tasks = list(jobs.FUNCTIONS.values())
        # unique cron jobs: one per tick for the whole queue, whichever worker schedules it
        cron = [
            CronJob(
                function=jobs.refresh_all,
                cron=refresh_cron(settings.source_refresh_min),
                timeout=JOB_TIMEOUT_S,
                ttl=JOB_TTL_S,
            ),
            CronJob(
                function=jobs.missed_training_all,
                cron=NIGHTLY_CRON,
                timeout=JOB_TIMEOUT_S,
                ttl=JOB_TTL_S,
            ),
        ]
        startup = [jobs.worker_startup]
        shutdown = [jobs.worker_shutdown]
    sweep = max(1, min(60, settings.job_heartbeat_s))
    # connecting gives up after a few seconds; the API's short calls (enqueue, the queue's
    # depth for /metrics) too: against a Redis that took the connection and never answered
    # they hung for minutes (an operator's trial). A worker's dequeue blocks: no read timeout
    redis_options: dict[str, Any] = {"socket_connect_timeout": QUEUE_CONNECT_TIMEOUT_S}
    if not worker:
        redis_options["socket_timeout"] = QUEUE_CALL_TIMEOUT_S
    return SAQConfig(
        queue_configs=[
            QueueConfig(
                dsn=settings.redis_url,
                broker_instance_options=redis_options,
                name=settings.queue_name,
                tasks=tasks,
                scheduled_tasks=cron,
                startup=startup or None,
                shutdown=shutdown or None,
                concurrency=settings.worker_concurrency,
                separate_process=True,  # the API only enqueues; `planner worker` runs jobs
                timers={"sweep": sweep},  # type: ignore[arg-type]
                shutdown_grace_period_s=30,
            )
        ],
    )


async def prune(make_session: Callable[[], AsyncSession], keep_days: int = 14) -> int:
    """Forget finished jobs' rows after `keep_days` (the nightly job calls this)."""
    async with make_session() as db, db.begin():
        outcome = await db.execute(
            delete(JobRunRow).where(
                JobRunRow.queued_at < clock.now() - timedelta(days=keep_days),
                JobRunRow.state.in_(("done", "failed", "skipped")),
            )
        )
        return int(outcome.rowcount or 0)  # type: ignore[attr-defined]


def queue_key(kind: str, athlete_id: uuid.UUID, job_id: uuid.UUID) -> str:
    """The queue key a coach's job row was enqueued under (Runner.enqueue_refresh and
    enqueue_replans)."""
    return f"{'replan' if kind == 'replan' else 'refresh'}:{athlete_id}:{job_id}"


async def fail_lost(make_session: Callable[[], AsyncSession], runner: Runner) -> int:
    """Fail the rows left queued or running past STALE_JOB_AFTER that the queue no longer
    holds: a job the queue forgot (its Redis restarted empty, its in-process runner stopped)
    or whose last attempt died before it could say so would read queued or running for good
    (an operator's trial). A job merely late (workers down for a while, the backlog kept) is
    left to run (a review)."""
    async with make_session() as db, db.begin():
        stale = (
            await db.scalars(
                select(JobRunRow).where(
                    JobRunRow.state.in_(("queued", "running")),
                    JobRunRow.queued_at < clock.now() - STALE_JOB_AFTER,
                )
            )
        ).all()
        if not stale:
            return 0
        held = await runner.holds([queue_key(r.kind, r.athlete_id, r.job_id) for r in stale])
        lost = [row for row, kept in zip(stale, held, strict=True) if not kept]
        for row in lost:
            row.state, row.finished_at = "failed", clock.now()
            row.detail = (
                "lost: the job queue no longer holds it (it or its worker restarted); send the "
                "request again"
            )
        return len(lost)


async def queued_or_503(
    db: AsyncSession, job_id: uuid.UUID, function: str, queue: Awaitable[object], refused: str
) -> None:
    """Await `queue` (the enqueueing of a job whose rows are committed). When the queue cannot
    take it, the rows are failed ("could not be queued": queued for good, a later request
    would answer this job) and the client gets 503 with Retry-After, saying `refused`."""
    try:
        await queue
    except Exception as exc:
        log_line(
            jobs_log,
            logging.WARNING,
            event="job",
            function=function,
            job_id=job_id,
            outcome=f"not queued: {type(exc).__name__}",
        )
        await db.execute(
            update(JobRunRow)
            .where(JobRunRow.job_id == job_id)
            .values(state="failed", detail="could not be queued", finished_at=clock.now())
        )
        await db.commit()
        raise HTTPException(status_code=503, detail=refused, headers={"Retry-After": "60"}) from exc
