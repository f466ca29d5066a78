"""Health and the exercise library."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from planner.library import load_library


class SystemController(Controller):
    tags = ["system"]

    @get("/health")
    async def health(self, db_session: AsyncSession) -> Response[dict[str, str]]:
        try:
            await db_session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means "not healthy"
            return Response({"status": "degraded", "database": "unreachable"}, status_code=503)
        return Response({"status": "ok", "database": "ok"})

    @get("/api/v1/exercises")
    async def exercises(self) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in load_library().exercises]
