"""Every query of a coach's data, scoped to that coach here and nowhere else."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import delete, event, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.db import AthleteRow, Coach, FeedbackRow, PlanRow, RideRow, SessionRow

NOT_FOUND = "athlete not found"


_WRITERS: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)


async def _serialize_sqlite_writer(db: AsyncSession, athlete_id: uuid.UUID) -> None:
    """Hold the athlete's in-process write lock until this session's transaction ends.

    pysqlite reads outside a transaction and begins one at the first write, so a writer that
    got the lock reads what the previous writer committed. One API process per SQLite file,
    as `make serve` runs it; PostgreSQL deployments rely on the row lock instead.
    """
    held: set[uuid.UUID] = db.info.setdefault("athlete_locks", set())
    if athlete_id in held:
        return
    lock = _WRITERS[athlete_id]
    await lock.acquire()
    held.add(athlete_id)

    def release(_session: object, transaction: object) -> None:
        if getattr(transaction, "parent", None) is None and athlete_id in held:
            held.discard(athlete_id)
            lock.release()

    # never removed: removing a listener while SQLAlchemy runs the listeners raises "deque
    # mutated during iteration" (a job's `async with session.begin()` met it); sessions are
    # short-lived, and `held` makes a spent listener a no-op
    event.listen(db.sync_session, "after_transaction_end", release)


MAX_UID = 120  # SessionRow.uid's column


class CoachData:
    def __init__(self, db: AsyncSession, coach: Coach) -> None:
        self.db = db
        self.coach = coach

    async def athletes(self) -> list[AthleteRow]:
        query = (
            select(AthleteRow)
            .where(AthleteRow.coach_id == self.coach.id)
            .order_by(AthleteRow.created_at)
        )
        return list((await self.db.scalars(query)).all())

    async def athlete(self, athlete_id: uuid.UUID, *, lock: bool = False) -> AthleteRow:
        """The coach's athlete; another coach's answers exactly like a missing one (404)."""
        query = select(AthleteRow).where(
            AthleteRow.id == athlete_id, AthleteRow.coach_id == self.coach.id
        )
        if lock:
            # PostgreSQL: the row lock holds other writers until this transaction ends.
            # SQLite has no row locks: writers of one athlete queue here instead
            query = query.with_for_update()
            if self.db.bind.dialect.name == "sqlite":
                await _serialize_sqlite_writer(self.db, athlete_id)
        row = await self.db.scalar(query)
        if row is None:
            raise NotFoundException(NOT_FOUND)
        return row

    async def rides(
        self, athlete: AthleteRow, since: datetime | None = None, until: datetime | None = None
    ) -> list[RideRow]:
        query = select(RideRow).where(RideRow.athlete_id == athlete.id)
        if since is not None:
            query = query.where(RideRow.start >= since)
        if until is not None:
            query = query.where(RideRow.start < until)
        return list((await self.db.scalars(query.order_by(RideRow.start))).all())

    async def ride(self, athlete: AthleteRow, ride_id: uuid.UUID) -> RideRow:
        row = await self.db.scalar(
            select(RideRow).where(RideRow.id == ride_id, RideRow.athlete_id == athlete.id)
        )
        if row is None:
            raise NotFoundException("ride not found")
        return row

    async def clear_rides(self, athlete: AthleteRow) -> None:
        await self.db.execute(delete(RideRow).where(RideRow.athlete_id == athlete.id))

    async def session(self, athlete: AthleteRow, session_id: str) -> SessionRow:
        """One of the athlete's sessions by its row id or its calendar UID."""
        if "\x00" in session_id or len(session_id) > MAX_UID:
            # no stored UID holds a NUL (PostgreSQL would refuse the comparison: a 500)
            raise NotFoundException("session not found")
        match = SessionRow.uid == session_id
        try:
            match = or_(match, SessionRow.id == uuid.UUID(session_id))
        except ValueError:
            pass
        row = await self.db.scalar(
            select(SessionRow).where(SessionRow.athlete_id == athlete.id, match)
        )
        if row is None:
            raise NotFoundException("session not found")
        return row

    async def session_feedback(
        self, athlete: AthleteRow, uid: str, *, checkins: bool = False
    ) -> list[FeedbackRow]:
        """The reports sent for one session, oldest first; with `checkins`, also the check-ins
        a repeated report of it left (api.feedback)."""
        query = (
            select(FeedbackRow)
            .where(FeedbackRow.athlete_id == athlete.id, FeedbackRow.session_uid == uid)
            .order_by(FeedbackRow.at)
        )
        if not checkins:
            query = query.where(FeedbackRow.kind != "checkin")
        return list((await self.db.scalars(query)).all())

    async def strength_logged(self, athlete: AthleteRow) -> tuple[datetime | None, datetime | None]:
        """The first and latest completed strength session logged (deadlift gate, missed training)."""
        first, last = (
            await self.db.execute(
                select(func.min(FeedbackRow.at), func.max(FeedbackRow.at)).where(
                    FeedbackRow.athlete_id == athlete.id, FeedbackRow.kind == "session"
                )
            )
        ).one()
        return first, last

    async def missed_training_clock(
        self, athlete: AthleteRow, last: datetime, before: datetime
    ) -> tuple[datetime, datetime | None]:
        """What missed training counts from: the last strength logged `last`, or a later session
        before `before` planned after it began and not logged yet (unlogged_backfill); and the
        first strength session planned after that (strength_due)."""
        backfill = await self.unlogged_backfill(athlete, before)
        if backfill is not None:
            last = max(last, backfill)
        due = await self.strength_due(athlete, last)
        if due is not None and not await self._races_between(athlete, last, due):
            # only a gap a race explains is the plan's own (its taper, race week, transition):
            # strength taken out for pain, a holiday or a re-plan is missed training
            due = None
        return last, due

    async def _races_between(self, athlete: AthleteRow, after: datetime, before: datetime) -> bool:
        found = await self.db.scalar(
            select(RideRow.id)
            .where(
                RideRow.athlete_id == athlete.id,
                RideRow.kind == "race",
                RideRow.start > after,
                RideRow.start < before,
            )
            .limit(1)
        )
        return found is not None

    async def strength_due(self, athlete: AthleteRow, after: datetime) -> datetime | None:
        """The start of the first strength session planned after `after` (the last strength
        logged), done or not, past or ahead: a gap the plan itself made beyond its usual week
        (a taper and a stage race) is not missed training (a coach's review: an athlete who
        did every session lost a level on every ladder after the race; see
        planner.progression.apply_missed_training). None when no plan holds one."""
        return await self.db.scalar(
            select(func.min(SessionRow.start)).where(
                SessionRow.athlete_id == athlete.id,
                SessionRow.kind == "strength",
                SessionRow.start > after,
            )
        )

    async def unlogged_backfill(self, athlete: AthleteRow, before: datetime) -> datetime | None:
        """The start of the latest strength session before `before` that was planned after it
        began (a plan for a block already under way: changed_at, the service's clock when the
        row was written, lies after its start) and has no report yet. Missed training counts
        from it as from a logged one: the coach said the block was under way and has not yet
        logged it all (a coach who logged its first week, then re-planned, saw every level
        drop for 'no strength logged')."""
        logged = select(FeedbackRow.session_uid).where(
            FeedbackRow.athlete_id == athlete.id, FeedbackRow.session_uid.is_not(None)
        )
        return await self.db.scalar(
            select(func.max(SessionRow.start)).where(
                SessionRow.athlete_id == athlete.id,
                SessionRow.kind == "strength",
                SessionRow.start < before,
                SessionRow.changed_at > SessionRow.start,
                SessionRow.uid.not_in(logged),
            )
        )

    async def plan(self, athlete: AthleteRow) -> PlanRow | None:
        return await plan_of(self.db, athlete)

    async def sessions(self, athlete: AthleteRow) -> list[SessionRow]:
        return await sessions_of(self.db, athlete)


async def coach_by_key_hash(db: AsyncSession, key_hash: str) -> Coach | None:
    return await db.scalar(select(Coach).where(Coach.key_hash == key_hash))


# The re-plan reads through these. They take the athlete's row, not an id: a row is only had
# through a coach's scope (CoachData.athlete) or the CLI's own seeding, so tenancy holds by type.
async def sessions_of(db: AsyncSession, athlete: AthleteRow) -> list[SessionRow]:
    query = select(SessionRow).where(SessionRow.athlete_id == athlete.id).order_by(SessionRow.start)
    return list((await db.scalars(query)).all())


async def plan_of(db: AsyncSession, athlete: AthleteRow) -> PlanRow | None:
    return await db.scalar(select(PlanRow).where(PlanRow.athlete_id == athlete.id))


async def feed_target_fast(engine: AsyncEngine, token_hash: str) -> tuple[Any, Any] | None:
    """The feed's hot path in plain Core over one pooled connection: no ORM session, no commit.

    Returns row objects with the attributes the feed reads (athlete id, name, timezone; plan
    version, start, weeks, created/updated), or None for an unknown token.
    """
    athlete, plan = AthleteRow.__table__, PlanRow.__table__
    query = (
        select(
            athlete.c.id,
            athlete.c.name,
            athlete.c.timezone,
            plan.c.id.label("plan_id"),
            plan.c.start,
            plan.c.weeks,
            plan.c.version,
            plan.c.created_at,
            plan.c.updated_at,
        )
        .select_from(athlete.outerjoin(plan, plan.c.athlete_id == athlete.c.id))
        .where(athlete.c.feed_token_hash == token_hash)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return row, (row if row.plan_id is not None else None)


async def plan_read_fast(
    engine: AsyncEngine, key_hash: str, athlete_id: uuid.UUID
) -> tuple[bool, Any | None]:
    """GET .../plan's hot path: the coach by key, their athlete and its plan in one Core query.

    Returns (known key, row): row is None when the athlete is missing or another coach's (the
    same answer for both); its plan columns are None when there is no plan yet. The row has the
    attributes the plan read needs (athlete_id, timezone, start, weeks, version, updated_at,
    report).
    """
    coach, athlete, plan = Coach.__table__, AthleteRow.__table__, PlanRow.__table__
    query = (
        select(
            coach.c.id.label("coach_id"),
            athlete.c.id.label("athlete_id"),
            athlete.c.timezone,
            plan.c.id.label("plan_id"),
            plan.c.start,
            plan.c.weeks,
            plan.c.version,
            plan.c.updated_at,
            plan.c.report,
        )
        .select_from(
            coach.outerjoin(
                athlete, (athlete.c.coach_id == coach.c.id) & (athlete.c.id == athlete_id)
            ).outerjoin(plan, plan.c.athlete_id == athlete.c.id)
        )
        .where(coach.c.key_hash == key_hash)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return False, None
    return True, (row if row.athlete_id is not None else None)


async def sessions_fast(engine: AsyncEngine, athlete_id: uuid.UUID) -> list[Any]:
    table = SessionRow.__table__
    query = select(table).where(table.c.athlete_id == athlete_id).order_by(table.c.start)
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


class HotReads:
    """The look-ups of the two polled reads, kept for a second: feed token -> (athlete, plan),
    and (coach key, athlete) -> the plan read's row. Calendar clients and dashboards poll, and
    most polls are repeats.

    Writers in this process call `forget` (re-plan, token rotation, athlete change or delete),
    so here a change shows at once; another worker process sees it within `ttl_s`, which is
    also how long a deleted coach key may still read.
    """

    def __init__(self, ttl_s: float = 1.0, size: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.size = size
        # key -> (expiry, what was found, the athlete it is about or None)
        self.items: dict[tuple[object, ...], tuple[float, Any, uuid.UUID | None]] = {}

    async def _get(
        self,
        key: tuple[object, ...],
        load: Callable[[], Awaitable[Any]],
        athlete_of: Callable[[Any], uuid.UUID | None],
    ) -> Any:
        now = time.monotonic()
        hit = self.items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await load()
        if len(self.items) >= self.size:
            self.items.clear()
        self.items[key] = (now + self.ttl_s, found, athlete_of(found))
        return found

    async def feed(self, engine: AsyncEngine, token_hash: str) -> tuple[Any, Any] | None:
        return await self._get(
            ("feed", token_hash),
            lambda: feed_target_fast(engine, token_hash),
            lambda found: found[0].id if found else None,
        )

    async def plan(
        self, engine: AsyncEngine, key_hash: str, athlete_id: uuid.UUID
    ) -> tuple[bool, Any | None]:
        return await self._get(
            ("plan", key_hash, athlete_id),
            lambda: plan_read_fast(engine, key_hash, athlete_id),
            lambda found: found[1].athlete_id if found[1] is not None else None,
        )

    def forget(self, athlete_id: uuid.UUID) -> None:
        """Drop what is known of this athlete, and every miss (a new row may fill it now)."""
        for key, (_, _, about) in list(self.items.items()):
            if about is None or about == athlete_id:
                self.items.pop(key, None)


HOT_READS = HotReads()
