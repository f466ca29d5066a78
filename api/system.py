"""Health and the exercise library."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Coach
from api.migrate import head as migration_head
from api.migrate import is_known
from api.runner import Runner
from planner.library import load_library


class HealthOut(BaseModel):
    status: str = Field(description="ok, or degraded when the database or the jobs cannot work")
    database: str = Field(
        description="ok; unreachable, or a schema this code cannot use (then the answer is a 503)"
    )
    jobs: str = Field(
        description="ok when something runs background jobs; else why not ('no worker "
        "running: ...', 'queue unreachable')"
    )
    runs_in: str = Field(description="'this process' (no REDIS_URL) or 'workers' (SAQ)")
    workers: int | None = Field(None, description="Live SAQ workers (with REDIS_URL)")
    queued: int | None = Field(None, description="Jobs waiting on the queue (with REDIS_URL)")


HEALTH_DB_TIMEOUT_S = 3.0


async def _database_state(db_session: AsyncSession) -> str:
    """ok; unreachable (no answer within HEALTH_DB_TIMEOUT_S); or not migrated to this code's
    schema (an operator's trial: a database never migrated answered ok, and every call 500)."""
    try:
        await asyncio.wait_for(db_session.execute(text("SELECT 1")), HEALTH_DB_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return "unreachable"
    try:
        version = await asyncio.wait_for(
            db_session.scalar(text("SELECT version_num FROM alembic_version")),
            HEALTH_DB_TIMEOUT_S,
        )
    except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
        version = None
    head = migration_head()
    if version == head:
        return "ok"
    if version is not None and not is_known(str(version)):
        # a newer release migrated it (a rolling deploy): this one's tables are still there
        return "ok"
    return f"schema at {version or 'nothing'}, this code needs {head}: run planner db upgrade"


class SystemController(Controller):
    tags = ["system"]

    @get("/health")
    async def health(
        self, db_session: NamedDependency[AsyncSession], jobs: NamedDependency[Runner]
    ) -> Response[HealthOut]:
        """503 when the database is unreachable (nothing can be served); 200 with status
        `degraded` when only background work is stuck (no worker, or Redis unreachable): plans,
        feeds and feedback are still served, roster re-plans and source refreshes wait."""
        background = await jobs.health()
        database = await _database_state(db_session)
        if database != "ok":
            body = HealthOut(status="degraded", database=database, **background)
            return Response(body.model_dump(exclude_none=True), status_code=503)  # type: ignore[arg-type]
        status = "ok" if background["jobs"] == "ok" else "degraded"
        body = HealthOut(status=status, database="ok", **background)
        return Response(body.model_dump(exclude_none=True))  # type: ignore[arg-type]


class ExerciseController(Controller):
    """The library, behind the coach key like every /api/v1 path (api.md, Auth)."""

    tags = ["exercises"]

    @get("/api/v1/exercises", raises=[NotAuthorizedException])
    async def exercises(self, coach: NamedDependency[Coach]) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in load_library().exercises]
