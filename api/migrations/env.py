"""Alembic environment: runs migrations over the async engine (aiosqlite or asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from api.db import metadata
from api.migrate import compare_type
from api.settings import DB_CONNECT_TIMEOUT_S

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=compare_type,
    )
    with context.begin_transaction():
        context.run_migrations()


async def main() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    # connecting gives up after a few seconds (api.settings.DB_CONNECT_TIMEOUT_S)
    connect_args = {"timeout": DB_CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    engine = create_async_engine(url, connect_args=connect_args)
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `planner db upgrade`")
asyncio.run(main())
