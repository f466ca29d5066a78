"""Mixed load for a fixed time: feed polls, plan reads and session feedback at once.

Seeds a fresh SQLite file, or a new PostgreSQL database with --database postgresql, with a
coach and a few athletes whose plans were made five weeks ago (so each has past sessions to
log), starts the real app under uvicorn (one worker), then for --seconds runs three kinds of
clients together:
  - feed pollers: GET /feeds/{token}.ics, half of them with If-None-Match (as calendar apps do)
  - plan readers: GET .../plan, and GET .../plan?from=today
  - feedback posters: POST .../sessions/{id}/feedback on a past session not logged yet, each
    one a re-plan through the solver
It prints, per kind, requests per second, p50 and p99 latency and errors. An error is any
answer other than the one that kind expects (feed 200/304, plan 200, feedback 201) or a failed
connection. Pass line: 0 errors (exit status 0); otherwise exit status 1.

Run: .venv/bin/python bench/load.py [--seconds 20] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.cli import demo_profile, seed_athlete
from api.db import Coach
from api.migrate import upgrade
from api.repository import sessions_of
from api.security import digest, new_secret
from api.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import free_port, pct, start  # noqa: E402

ZONE = "Europe/Berlin"
WEEKS_BACK = 5
POSTGRES_ADMIN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, began: float, status: int, ok: bool, body: str = "") -> None:
        self.latencies.append((time.perf_counter() - began) * 1000)
        self.statuses[status] += 1
        if not ok:
            self.errors += 1
            if len(self.samples) < 3:
                self.samples.append(f"{status}: {body[:200]}")


async def seed(
    settings: Settings, athletes: int
) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
    """A coach and athletes with the demo amateur's rides and 12-week plans made as of a Monday
    WEEKS_BACK weeks ago (as `planner demo` does for this week): the coach key, feed paths, plan
    paths, and (athlete path, session id) of every session that has already started."""
    engine = create_async_engine(settings.database_url)
    key = new_secret("coach")
    zone = ZoneInfo(ZONE)
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday() + 7 * WEEKS_BACK)
    now = datetime.now(zone)
    feeds, plans, past = [], [], []
    async with async_sessionmaker(engine, expire_on_commit=False)() as db, db.begin():
        coach = Coach(name="Load", key_hash=digest(key))
        db.add(coach)
        await db.flush()
        for number in range(athletes):
            token = new_secret("feed")
            person = demo_profile(f"Rider {number}")
            athlete = await seed_athlete(
                db,
                settings,
                coach,
                person,
                token,
                monday,
                datetime.combine(monday, clock_time.min, zone),
            )
            path = f"/api/v1/athletes/{athlete.id}"
            feeds.append(f"/feeds/{token}.ics")
            plans.append(path)
            past += [(path, str(s.id)) for s in await sessions_of(db, athlete) if s.start < now]
    await engine.dispose()
    return key, feeds, plans, past


async def run_load(
    base: str,
    key: str,
    feeds: list[str],
    plans: list[str],
    past: list[tuple[str, str]],
    args: argparse.Namespace,
) -> dict[str, Tally]:
    tallies = {"feed": Tally(), "plan": Tally(), "feedback": Tally()}
    deadline = time.perf_counter() + args.seconds
    etags: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {key}"}
    today = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    queue = list(past)

    async def call(
        kind: str, client: httpx.AsyncClient, method: str, url: str, ok: set[int], **kw: object
    ) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            tallies[kind].note(began, 0, False, repr(exc))
            return None
        tallies[kind].note(began, response.status_code, response.status_code in ok, response.text)
        return response

    async def feed_poller(client: httpx.AsyncClient, number: int) -> None:
        while time.perf_counter() < deadline:
            path = feeds[number % len(feeds)]
            conditional = number % 2 == 1 and path in etags
            extra = {"If-None-Match": etags[path]} if conditional else {}
            response = await call("feed", client, "GET", path, {200, 304}, headers=extra)
            if response is not None and "etag" in response.headers:
                etags[path] = response.headers["etag"]
            number += 2

    async def plan_reader(client: httpx.AsyncClient, number: int) -> None:
        while time.perf_counter() < deadline:
            path = plans[number % len(plans)] + "/plan"
            params = {"from": today} if number % 2 else {}
            await call("plan", client, "GET", path, {200}, headers=headers, params=params)
            number += 1

    async def feedback_poster(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline and queue:
            path, session = queue.pop()
            body = {
                "completed": True,
                "rpe": 6,
                "pain": [{"region": "knee", "score": 1, "timing": "after"}],
            }
            await call(
                "feedback",
                client,
                "POST",
                f"{path}/sessions/{session}/feedback",
                {201},
                headers=headers,
                json=body,
            )

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await asyncio.gather(
            *(feed_poller(client, n) for n in range(args.feed_clients)),
            *(plan_reader(client, n) for n in range(args.plan_clients)),
            *(feedback_poster(client) for _ in range(args.feedback_clients)),
        )
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--athletes", type=int, default=6)
    parser.add_argument("--feed-clients", type=int, default=8)
    parser.add_argument("--plan-clients", type=int, default=8)
    parser.add_argument("--feedback-clients", type=int, default=2)
    args = parser.parse_args()

    created_db = None
    if args.database == "postgresql":
        created_db = f"planner_load_{uuid.uuid4().hex[:10]}"
        asyncio.run(admin(f'CREATE DATABASE "{created_db}"'))
        host = POSTGRES_ADMIN.rsplit("/", 1)[0].removeprefix("postgresql://")
        url = f"postgresql+asyncpg://{host}/{created_db}"
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='planner-load-')}/load.db"
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("PUBLIC_URL", None)
    server = None
    try:
        settings = Settings(database_url=url)
        upgrade(settings)
        key, feeds, plans, past = asyncio.run(seed(settings, args.athletes))
        port = free_port()
        server = start(["--factory", "api.app:create_app"], env, port)
        base = f"http://127.0.0.1:{port}"
        print(
            f"{args.database}: {args.athletes} athletes, {len(past)} past sessions to log; "
            f"{args.feed_clients} feed, {args.plan_clients} plan and {args.feedback_clients} "
            f"feedback clients for {args.seconds:.0f} s"
        )
        began = time.perf_counter()
        tallies = asyncio.run(run_load(base, key, feeds, plans, past, args))
        elapsed = time.perf_counter() - began
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if created_db:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'))
    errors = 0
    for kind, tally in tallies.items():
        lat = tally.latencies or [0.0]
        statuses = ", ".join(f"{code}x{count}" for code, count in sorted(tally.statuses.items()))
        print(
            f"{kind:<9} {len(tally.latencies) / elapsed:8.1f} req/s  p50 {statistics.median(lat):7.1f} ms  "
            f"p99 {pct(lat, 0.99):7.1f} ms  errors {tally.errors}  [{statuses}]"
        )
        for sample in tally.samples:
            print(f"    {sample}")
        errors += tally.errors
    print(f"{'PASS' if errors == 0 else 'FAIL'}: {errors} errors")
    return 0 if errors == 0 else 1


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
