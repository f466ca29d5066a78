"""API tests run against SQLite and PostgreSQL (127.0.0.1:5432); in CI a missing PostgreSQL fails."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from calendar_server import CalendarServer
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.cli import create_coach
from api.migrate import upgrade
from api.settings import Settings

POSTGRES_ADMIN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "planner.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(Settings(database_url=url))
        yield url
        return
    name = f"planner_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {POSTGRES_ADMIN} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    url = f"postgresql+asyncpg://{base.removeprefix('postgresql://')}/{name}"
    upgrade(Settings(database_url=url))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, solver_time_limit_s=10.0)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def coach_key(settings: Settings) -> str:
    return await create_coach(settings, f"coach-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def other_key(settings: Settings) -> str:
    return await create_coach(settings, f"other-{uuid.uuid4().hex[:8]}")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def calendar() -> Iterator[CalendarServer]:
    """A local HTTP server that serves iCal files (calendar sources)."""
    with CalendarServer() as server:
        yield server
