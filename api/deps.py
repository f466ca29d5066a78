"""Request-scoped dependencies: the calling coach (bearer key) and their scoped data."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Coach
from api.repository import CoachData, coach_by_key_hash
from api.security import digest


def bearer_key_hash(request: Request) -> str:
    """The digest of the request's coach key, or 401 when it sends none."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException("missing bearer key: send 'Authorization: Bearer <coach key>'")
    return digest(key.strip())


async def provide_coach(request: Request, db_session: NamedDependency[AsyncSession]) -> Coach:
    coach = await coach_by_key_hash(db_session, bearer_key_hash(request))
    if coach is None:
        raise NotAuthorizedException("unknown coach key")
    return coach


async def provide_data(
    db_session: NamedDependency[AsyncSession], coach: NamedDependency[Coach]
) -> CoachData:
    return CoachData(db_session, coach)
