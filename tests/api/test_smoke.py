"""The service answers: health, and an athlete round trip, on both databases."""

import pytest
from conftest import auth

from api.cli import seed_demo


async def test_health_reports_ok_and_database_ok(client):
    """api.md's two keys, and where jobs run: without REDIS_URL, in this process."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "jobs": "ok",
        "runs_in": "this process",
    }


async def test_created_athlete_is_listed_with_a_feed_url(client, coach_key):
    body = {"name": "Ana", "timezone": "Europe/Madrid"}
    created = await client.post("/api/v1/athletes", json=body, headers=auth(coach_key))
    assert created.status_code == 201, created.text
    assert created.json()["feed_url"].endswith(".ics")
    listed = await client.get("/api/v1/athletes", headers=auth(coach_key))
    assert [a["name"] for a in listed.json()] == ["Ana"]


async def test_exercise_library_needs_a_key_and_lists_every_ladder_rung(client, coach_key):
    assert (await client.get("/api/v1/exercises")).status_code == 401
    response = await client.get("/api/v1/exercises", headers=auth(coach_key))
    assert response.status_code == 200
    ids = {e["id"] for e in response.json()}
    assert {"glute_bridge", "romanian_deadlift", "deadlift", "nordic_curl", "dead_bug"} <= ids


async def test_seeding_the_demo_again_keeps_the_key_and_the_coachs_own_athletes(
    client, settings, tmp_path
):
    """`make serve` seeds the demo on every start: the second run replaces the demo athlete
    only, and the key the first run printed still opens the API."""
    key_file = tmp_path / "demo_coach_key"
    key, first, _ = await seed_demo(settings, key_file)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    made = await client.post(
        "/api/v1/athletes", json={"name": "Robin", "timezone": "Europe/Berlin"}, headers=auth(key)
    )
    assert made.status_code == 201, made.text
    again, second, _ = await seed_demo(settings, key_file)
    assert again == key
    listed = await client.get("/api/v1/athletes", headers=auth(key))
    assert listed.status_code == 200, listed.text
    names = sorted(a["name"] for a in listed.json())
    assert names == ["Demo Athlete", "Robin"], names
    assert second != first
    gone = await client.get(f"/api/v1/athletes/{first}", headers=auth(key))
    assert gone.status_code == 404
    # without the file (a fresh checkout beside an old database) a new key is made and kept
    key_file.unlink()
    fresh, _, _ = await seed_demo(settings, key_file)
    assert fresh != key and key_file.read_text().strip() == fresh
    refused = await client.get("/api/v1/athletes", headers=auth(key))
    assert refused.status_code == 401


async def test_a_postgresql_url_with_libpqs_sslmode_connects():
    """An operator's trial: `?sslmode=require`, as managed PostgreSQL providers hand the URL
    out, failed connect() with a TypeError; asyncpg takes the same modes as `ssl`."""
    from conftest import POSTGRES_ADMIN
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.settings import normalize_database_url

    url = normalize_database_url(POSTGRES_ADMIN + "?sslmode=disable")
    assert url.startswith("postgresql+asyncpg://") and url.endswith("?ssl=disable")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_health_is_503_on_a_database_never_migrated(tmp_path):
    """An operator's trial: on an empty database /health said ok while every call was a 500,
    so a deploy whose migration failed looked healthy. (The calls stay 500s: a schema the code
    cannot use is a deploy's bug, not a database to wait for.)"""
    from litestar.testing import AsyncTestClient

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with AsyncTestClient(create_app(settings)) as client:
        health = await client.get("/health")
        assert health.status_code == 503, health.text
        assert "planner db upgrade" in health.json()["database"]


class _Silent:
    """A TCP server that takes connections and never answers (a hung PostgreSQL)."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused", "silent"])
async def test_a_database_out_of_reach_is_a_503_to_retry_and_health_says_unreachable(kind):
    """An operator's trial: with PostgreSQL refusing connections every call was a 500; with
    one that takes the connection and never answers, every request waited 60 s for a 500.
    Connecting gives up after a few seconds, and the answer is a 503 with Retry-After."""
    from litestar.testing import AsyncTestClient
    from live import free_port

    from api.app import create_app
    from api.settings import Settings

    silent = _Silent() if kind == "silent" else None
    port = silent.port if silent else free_port()
    settings = Settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            answer = await client.get("/api/v1/athletes", headers=auth("coach_" + "x" * 40))
            assert answer.status_code == 503 and answer.headers["retry-after"], answer.text
            assert "database" in answer.json()["detail"]
            health = await client.get("/health")
            assert (health.status_code, health.json()["database"]) == (503, "unreachable")
    finally:
        if silent:
            silent.sock.close()


def test_apps_made_one_after_another_in_a_process_do_not_run_out_of_recursion(tmp_path):
    """advanced-alchemy finds a free key for each config by recursing once per config made
    before it in the process: the suite's thousand apps hit Python's recursion limit (19
    errors in one run). Each app names keys of its own."""
    import inspect
    import sys

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 80)  # headroom for one app, not for 120
    try:
        for _ in range(120):
            create_app(settings)
    finally:
        sys.setrecursionlimit(limit)


async def test_health_on_a_schema_behind_the_code_is_503_and_ahead_of_it_is_ok(tmp_path):
    """Behind (a deploy whose migration did not run): 503 naming the upgrade. Ahead (a newer
    release migrated it during a rolling deploy): still ok for this one (a review)."""
    import asyncio

    from litestar.testing import AsyncTestClient
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.app import create_app
    from api.migrate import upgrade
    from api.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'versions.db'}"
    await asyncio.to_thread(upgrade, Settings(database_url=url))

    async def stamp(version: str) -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        await engine.dispose()

    async with AsyncTestClient(create_app(Settings(database_url=url))) as client:
        await stamp("0001")
        behind = await client.get("/health")
        assert behind.status_code == 503 and "schema at 0001" in behind.json()["database"]
        await stamp("9999_from_a_newer_release")
        ahead = await client.get("/health")
        assert ahead.status_code == 200, ahead.text
