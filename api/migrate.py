"""Alembic, driven from code: `planner db upgrade`, `make serve` and the tests all come here."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.types import TypeEngine

from api.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def prepare_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite") and ":///" in database_url:
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def compare_type(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison (autogenerate and the schema test), true when the types differ.

    SQLite reflects a type name it does not know by its affinity: advanced-alchemy's GUID,
    declared BINARY(16), comes back as NUMERIC(16) and would always look changed. On SQLite the
    declared type (PRAGMA table_info) is compared with the DDL the model would emit instead;
    elsewhere alembic's own comparison applies (None).
    """
    if context.dialect.name != "sqlite" or context.connection is None:
        return None
    table = inspected_column.table.name
    rows = context.connection.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
    declared = next((row[2] for row in rows if row[1] == inspected_column.name), None)
    if declared is None:
        return None
    wanted = metadata_type.compile(dialect=context.dialect)
    return declared.replace(" ", "").upper() != wanted.replace(" ", "").upper()


def upgrade(settings: Settings, revision: str = "head") -> None:
    prepare_sqlite_dir(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), revision)


def downgrade(settings: Settings, revision: str) -> None:
    """Migrate down to `revision` (a revision id, or base): what later migrations added is
    dropped with its data (0004's calendar sources and job rows, say)."""
    command.downgrade(alembic_config(settings.database_url), revision)


def current(settings: Settings) -> str | None:
    """The revision the database is at (None: never migrated)."""

    async def read() -> str | None:
        engine = create_async_engine(settings.database_url, connect_args=settings.connect_args)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda c: MigrationContext.configure(c).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    """This code's migrations, read once (/health asks on every call)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head() -> str:
    """The revision this code's models are at."""
    return str(_scripts().get_current_head())


def is_known(revision: str) -> bool:
    """Whether this code's migrations hold `revision` (a newer release's is unknown here)."""
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises its own errors for an unknown id
        return False
