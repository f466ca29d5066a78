"""Every query of a coach's data, scoped to that coach here and nowhere else."""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar.exceptions import NotFoundException
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import AthleteRow, Coach, PlanRow, RideRow, SessionRow

NOT_FOUND = "athlete not found"


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
            query = query.with_for_update()
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

    async def plan(self, athlete: AthleteRow) -> PlanRow | None:
        return await self.db.scalar(select(PlanRow).where(PlanRow.athlete_id == athlete.id))

    async def sessions(self, athlete: AthleteRow) -> list[SessionRow]:
        query = (
            select(SessionRow).where(SessionRow.athlete_id == athlete.id).order_by(SessionRow.start)
        )
        return list((await self.db.scalars(query)).all())


async def coach_by_key_hash(db: AsyncSession, key_hash: str) -> Coach | None:
    return await db.scalar(select(Coach).where(Coach.key_hash == key_hash))


async def athlete_by_feed_hash(db: AsyncSession, token_hash: str) -> AthleteRow | None:
    """The feed is reached by its secret token alone: that token is the credential."""
    return await db.scalar(select(AthleteRow).where(AthleteRow.feed_token_hash == token_hash))


async def sessions_of(db: AsyncSession, athlete_id: uuid.UUID) -> list[SessionRow]:
    query = select(SessionRow).where(SessionRow.athlete_id == athlete_id).order_by(SessionRow.start)
    return list((await db.scalars(query)).all())


async def plan_of(db: AsyncSession, athlete_id: uuid.UUID) -> PlanRow | None:
    return await db.scalar(select(PlanRow).where(PlanRow.athlete_id == athlete_id))


async def feed_target(
    db: AsyncSession, token_hash: str
) -> tuple[AthleteRow, PlanRow | None] | None:
    """The athlete behind a feed token and their plan, in one round trip (the feed's hot path)."""
    query = (
        select(AthleteRow, PlanRow)
        .join(PlanRow, PlanRow.athlete_id == AthleteRow.id, isouter=True)
        .where(AthleteRow.feed_token_hash == token_hash)
    )
    row = (await db.execute(query)).first()
    return None if row is None else (row[0], row[1])
