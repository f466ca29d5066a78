"""Alembic owns the schema: at head, the database matches api.db's models on both databases.

Each test migrates a database of its own (a fresh SQLite file, or a fresh PostgreSQL
database next to the session's one), so the result does not depend on other tests.
`upgrade` runs alembic, whose env.py calls asyncio.run, so it runs in a worker thread here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import POSTGRES_ADMIN, _admin
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from api.db import metadata
from api.migrate import alembic_config, compare_type, head, upgrade
from api.settings import Settings


@pytest.fixture
async def fresh_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as the session's `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"planner_mig_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.removeprefix('postgresql://')}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate(url: str) -> None:
    await asyncio.to_thread(upgrade, Settings(database_url=url))


async def on_connection(url: str, work: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def schema_diff(url: str, target: MetaData = metadata) -> list[Any]:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
        return compare_metadata(context, target)

    return await on_connection(url, diff)


async def current_revision(url: str) -> str | None:
    def revision(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await on_connection(url, revision)


async def table_names(url: str) -> set[str]:
    return set(await on_connection(url, lambda c: inspect(c).get_table_names()))


async def test_upgrade_to_head_leaves_no_difference_between_models_and_schema(fresh_url):
    await migrate(fresh_url)
    assert await current_revision(fresh_url) == head()
    assert await schema_diff(fresh_url) == []


async def test_upgrade_twice_is_harmless_and_stays_at_head_with_no_difference(fresh_url):
    await migrate(fresh_url)
    await migrate(fresh_url)
    assert await current_revision(fresh_url) == head()
    assert await schema_diff(fresh_url) == []


async def test_downgrade_to_base_drops_every_table_and_upgrade_restores_the_schema(fresh_url):
    await migrate(fresh_url)
    config = alembic_config(fresh_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await table_names(fresh_url) <= {"alembic_version"}
    await migrate(fresh_url)
    assert await schema_diff(fresh_url) == []


async def test_schema_comparison_reports_a_missing_column_and_a_changed_type(fresh_url):
    """The comparison above can fail: a model that drifted from the schema is reported."""
    await migrate(fresh_url)
    drifted = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    coach = drifted.tables["coach"]
    coach.append_column(Column("nickname", String(50), nullable=True))
    coach.c.name.type = String(100)  # the migration made it VARCHAR(200)
    found = await schema_diff(fresh_url, drifted)
    flat = [item for entry in found for item in (entry if isinstance(entry, list) else [entry])]
    assert any(item[0] == "add_column" and item[3].name == "nickname" for item in flat), found
    assert any(item[0] == "modify_type" and item[3] == "name" for item in flat), found
    assert not any(item[0] == "modify_type" and item[3] != "name" for item in flat), found


async def test_0003_sorts_earlier_session_feedback_into_strength_mobility_and_skipped(fresh_url):
    from datetime import UTC, datetime

    from sqlalchemy import insert, select
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from api.db import AthleteRow, Coach, FeedbackRow, SessionRow

    await asyncio.to_thread(upgrade, Settings(database_url=fresh_url), "0002")
    moment = datetime(2027, 3, 2, 18, tzinfo=UTC)
    engine = create_async_engine(fresh_url)
    try:
        async with async_sessionmaker(engine)() as db, db.begin():
            # the coach as 0002 knew it: the model's later columns (signed_out_at, 0006) are
            # not in this schema yet
            coach_id = uuid.uuid4()
            await db.execute(
                insert(Coach.__table__).values(
                    id=coach_id,
                    name="c",
                    key_hash=uuid.uuid4().hex,
                    created_at=moment,
                    updated_at=moment,
                )
            )
            athlete = AthleteRow(
                coach_id=coach_id,
                name="a",
                timezone="UTC",
                profile={},
                progression={},
                feed_token_hash=uuid.uuid4().hex,
            )
            db.add(athlete)
            await db.flush()
            for uid, kind in (("s@planner", "strength"), ("m@planner", "mobility")):
                db.add(
                    SessionRow(
                        athlete_id=athlete.id,
                        uid=uid,
                        kind=kind,
                        start=moment,
                        end=moment,
                        body={},
                        changed_at=moment,
                    )
                )
            rows = {
                "strength done": ("s@planner", "session", True),
                "mobility done": ("m@planner", "session", True),
                "skipped": ("s@planner", "session", False),
                "session gone": ("gone@planner", "session", True),
                "check-in": (None, "checkin", True),
            }
            for label, (uid, kind, completed) in rows.items():
                db.add(
                    FeedbackRow(
                        athlete_id=athlete.id,
                        session_uid=uid,
                        kind=kind,
                        at=moment,
                        body={"completed": completed, "label": label},
                    )
                )
        await migrate(fresh_url)
        async with async_sessionmaker(engine)() as db:
            found = {
                row.body["label"]: row.kind for row in (await db.scalars(select(FeedbackRow))).all()
            }
    finally:
        await engine.dispose()
    assert found == {
        "strength done": "session",
        "mobility done": "mobility",
        "skipped": "skipped",
        "session gone": "session",
        "check-in": "checkin",
    }


def test_planner_db_current_downgrade_and_upgrade_from_the_command_line(
    tmp_path, monkeypatch, capsys
):
    """An operator's trial: the CLI had only `db upgrade`, so a rollback meant writing Python
    against alembic. `db current` says where the database is and where the code needs it."""
    from api.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "current"]) == 0
    assert "never migrated" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head())
    assert main(["db", "downgrade", previous.down_revision]) == 0
    capsys.readouterr()
    assert main(["db", "current"]) == 0
    said = capsys.readouterr().out
    assert f"database at {previous.down_revision}; this code needs {head()}" in said
    assert main(["db", "upgrade"]) == 0


def test_planner_db_with_the_database_out_of_reach_is_one_line_and_exit_1(monkeypatch, capsys):
    from live import free_port

    from api.cli import main

    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("planner: error: cannot reach the database") and err.count("\n") == 1
