"""Health and the exercise library."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Coach
from planner.library import load_library


class SystemController(Controller):
    tags = ["system"]

    @get("/health")
    async def health(self, db_session: NamedDependency[AsyncSession]) -> Response[dict[str, str]]:
        try:
            await db_session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means "not healthy"
            return Response({"status": "degraded", "database": "unreachable"}, status_code=503)
        return Response({"status": "ok", "database": "ok"})


class ExerciseController(Controller):
    """The library, behind the coach key like every /api/v1 path (api.md, Auth)."""

    tags = ["exercises"]

    @get("/api/v1/exercises", raises=[NotAuthorizedException])
    async def exercises(self, coach: NamedDependency[Coach]) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in load_library().exercises]
