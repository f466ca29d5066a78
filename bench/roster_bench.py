"""Roster re-plan throughput: N athletes with realistic calendars re-planned through
POST /api/v1/replan by 1, 2 and 4 `planner worker` processes, on PostgreSQL and Redis.

    .venv/bin/python bench/roster_bench.py --athletes 1000 --workers 1,2,4

Seeds a fresh PostgreSQL database (athletes and rides in bulk), serves the API (uvicorn, one
process) on a free port, makes every plan once through the queue (a warm-up round with the
most workers), then for each worker count: start that many workers, POST /api/v1/replan for
the whole roster, poll GET /api/v1/jobs/{id} until it is done, stop the workers. Prints
athletes per second (first enqueue to last done), the speed-up over one worker, and p50/p95
enqueue-to-done per athlete. Each re-plan keeps the plan's start and weeks (12) and what is
published (S4), as a nightly re-plan does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.cli import create_coach, demo_profile  # noqa: E402
from api.db import AthleteRow, Coach, RideRow  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from api.security import digest, new_secret  # noqa: E402
from api.settings import Settings  # noqa: E402
from planner.domain import ProgressionState  # noqa: E402

BIN = Path(sys.executable).parent
ADMIN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def realistic_week(rng: random.Random) -> list[tuple[int, int, int, int, str, str]]:
    """(weekday, hour, minute, minutes, kind, title): 4-6 rides, a long weekend ride."""
    week = [
        (
            1,
            rng.choice((17, 18, 19)),
            rng.choice((0, 30)),
            rng.choice((60, 75, 90)),
            "intervals",
            "Turbo intervals",
        ),
        (3, rng.choice((17, 18)), 30, rng.choice((75, 90, 120)), "endurance", "Club ride"),
        (
            5,
            rng.choice((7, 8, 9)),
            0,
            rng.choice((180, 210, 240, 300)),
            "long",
            "Saturday long ride",
        ),
        (6, 10, 0, rng.choice((45, 60, 90)), "recovery", "Coffee spin"),
    ]
    if rng.random() < 0.6:
        week.append((2, 6, 30, 60, "endurance", "Commute"))
    if rng.random() < 0.4:
        week.append((4, 18, 0, 60, "intervals", "Sweet spot"))
    return week


def calendar_for(athlete_id: uuid.UUID, zone: ZoneInfo, monday: date, seed: int) -> list[RideRow]:
    rng = random.Random(seed)
    rides: list[RideRow] = []
    race_week = rng.randrange(6, 12)
    for week in range(13):
        day0 = monday + timedelta(weeks=week)
        for offset, hour, minute, minutes, kind, title in realistic_week(rng):
            priority = None
            if week == race_week and kind == "long":
                kind, title, priority, minutes = "race", "Gran fondo (B race)", "B", 300
            rides.append(
                RideRow(
                    athlete_id=athlete_id,
                    start=datetime.combine(
                        day0 + timedelta(days=offset), dtime(hour, minute), zone
                    ),
                    duration_min=minutes,
                    kind=kind,
                    priority=priority,
                    title=title,
                    external_id=f"{athlete_id}-{week}-{offset}@bench",
                )
            )
    return rides


async def seed(settings: Settings, athletes: int) -> str:
    key = await create_coach(settings, "Bench Coach")
    engine = create_async_engine(settings.database_url)
    make = async_sessionmaker(engine, expire_on_commit=False)
    person = demo_profile("Bench Athlete")
    zone = ZoneInfo(person.timezone)
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday())
    async with make() as db, db.begin():
        coach = await db.scalar(
            __import__("sqlalchemy").select(Coach).where(Coach.key_hash == digest(key))
        )
        for number in range(athletes):
            row = AthleteRow(
                coach_id=coach.id,
                name=f"Athlete {number:04d}",
                timezone=person.timezone,
                profile=person.model_dump(mode="json", exclude={"name", "timezone"}),
                progression=ProgressionState.starting(person).model_dump(mode="json"),
                needs_clearance=False,
                feed_token_hash=digest(new_secret("feed")),
                version=1,
            )
            db.add(row)
            await db.flush()
            db.add_all(calendar_for(row.id, zone, monday, number))
    await engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(method: str, url: str, key: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def wait_healthy(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the API did not start")


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    processes = []
    for number in range(count):
        log = open(logs / f"worker-{count}-{number}.log", "wb")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [str(BIN / "planner"), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
    return processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def stamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def run_round(base: str, key: str, workers: int, env: dict[str, str], logs: Path) -> dict[str, Any]:
    processes = start_workers(workers, env, logs)
    try:
        time.sleep(4.0)  # the workers import the planner and connect
        accepted = call("POST", f"{base}/api/v1/replan", key, {"athlete_ids": None})
        while True:
            job = call("GET", f"{base}/api/v1/jobs/{accepted['job_id']}", key)
            if job["state"] in ("done", "failed"):
                break
            time.sleep(1.0)
    finally:
        stop(processes)
    rows = job["athletes"]
    waits = sorted(stamp(r["finished_at"]) - stamp(r["queued_at"]) for r in rows)
    first = min(stamp(r["queued_at"]) for r in rows)
    last = max(stamp(r["finished_at"]) for r in rows)
    return {
        "workers": workers,
        "athletes": len(rows),
        "failed": job["failed"],
        "seconds": last - first,
        "per_second": len(rows) / (last - first),
        "p50": statistics.median(waits),
        "p95": waits[min(len(waits) - 1, int(0.95 * len(waits)))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--athletes", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    name = f"planner_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base_dsn = ADMIN.rsplit("/", 1)[0].removeprefix("postgresql://")
    database_url = f"postgresql+asyncpg://{base_dsn}/{name}"
    queue = f"planner-bench-{uuid.uuid4().hex[:8]}"
    logs = Path("var") / "roster_bench"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "QUEUE_NAME": queue,
        "SECRET_KEY": "bench",
        "SOURCE_REFRESH_MIN": "1440",
    }
    api: subprocess.Popen[bytes] | None = None
    try:
        settings = Settings(database_url=database_url)
        upgrade(settings)
        started = time.perf_counter()
        key = asyncio.run(seed(settings, args.athletes))
        print(
            f"seeded {args.athletes} athletes in {time.perf_counter() - started:.1f} s "
            f"(PostgreSQL {name}, Redis queue {queue}); load average {os.getloadavg()[0]:.2f}"
        )
        port = free_port()
        api = subprocess.Popen(
            [str(BIN / "planner"), "serve", "--port", str(port)],
            env=env,
            stdout=open(logs / "api.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        warm = run_round(base, key, max(counts), env, logs)
        print(
            f"warm-up (first plans, {warm['workers']} workers): {warm['athletes']} athletes "
            f"in {warm['seconds']:.1f} s, {warm['failed']} failed"
        )
        results = []
        for workers in counts:
            result = run_round(base, key, workers, env, logs)
            results.append(result)
            one = results[0]["per_second"]
            print(
                f"{workers} worker(s): {result['athletes']} athletes in {result['seconds']:.1f} s"
                f" = {result['per_second']:.2f} athletes/s ({result['per_second'] * 3600:.0f} "
                f"per hour), speed-up {result['per_second'] / one:.2f}x, enqueue-to-done "
                f"p50 {result['p50']:.1f} s p95 {result['p95']:.1f} s, {result['failed']} failed;"
                f" load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        print(f"cores: {os.cpu_count()}")
    finally:
        if api is not None:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=30)
        if not args.keep:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import redis

        client = redis.Redis.from_url(args.redis_url)
        for stale in client.scan_iter(f"saq:*{queue}*"):
            client.delete(stale)
    return 0


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
