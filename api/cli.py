"""The `planner` command: plan offline, migrate, mint coach keys, seed the demo, serve the API."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from api.db import AthleteRow, Coach, RideRow
from api.errors import DATABASE_DOWN
from api.migrate import current, downgrade, head, upgrade
from api.security import digest, new_secret
from api.settings import Settings, read_secret, write_secret
from planner.cli import add_plan_command, run
from planner.domain import Athlete, ProgressionState

DEMO_COACH = "Demo Coach"
DEMO_ATHLETE = "Demo Athlete"
# the demo coach's key between runs of `planner demo` (the database holds only its hash)
DEMO_KEY_FILE = Path("var") / "demo_coach_key"
# the demo amateur's week: (weekday offset, hour, minute, minutes, kind, title)
DEMO_WEEK = (
    (1, 18, 0, 75, "intervals", "Turbo intervals"),
    (3, 18, 30, 90, "endurance", "Club ride"),
    (5, 8, 0, 240, "long", "Saturday long ride"),
    (6, 10, 0, 60, "recovery", "Coffee spin"),
)


def _session_maker(
    settings: Settings,
) -> tuple[object, async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(settings.database_url, connect_args=settings.connect_args)
    return engine, async_sessionmaker(engine, expire_on_commit=False)


async def create_coach(settings: Settings, name: str) -> str:
    engine, make = _session_maker(settings)
    key = new_secret("coach")
    async with make() as db, db.begin():
        db.add(Coach(name=name, key_hash=digest(key)))
    await engine.dispose()  # type: ignore[attr-defined]
    return key


def demo_rides(athlete_id: object, zone: ZoneInfo, monday: date) -> list[RideRow]:
    """A realistic 12-week amateur calendar: intervals, club ride, long Saturday, Sunday spin."""
    rows = []
    for week in range(13):
        monday_of_week = monday + timedelta(days=7 * week)
        for offset, hour, minute, minutes, kind, title in DEMO_WEEK:
            if kind == "long" and week % 4 == 3:
                minutes = 150  # a shorter long ride in the deload week
            start = datetime.combine(
                monday_of_week + timedelta(days=offset), time(hour, minute), zone
            )
            rows.append(
                RideRow(
                    athlete_id=athlete_id, start=start, duration_min=minutes, kind=kind, title=title
                )
            )
    return rows


async def seed_athlete(
    db: AsyncSession,
    settings: Settings,
    coach: Coach,
    person: Athlete,
    feed_token: str,
    monday: date,
    planned_at: datetime,
) -> AthleteRow:
    """An athlete with the demo amateur's rides from `monday` and a 12-week plan made as of
    `planned_at`: sessions after that moment are planned, so a moment in the past leaves
    sessions that have started, ready for feedback."""
    from api.plans import replan

    zone = ZoneInfo(person.timezone)
    athlete = AthleteRow(
        coach_id=coach.id,
        name=person.name,
        timezone=person.timezone,
        profile=person.model_dump(mode="json", exclude={"name", "timezone"}),
        progression=ProgressionState.starting(person).model_dump(mode="json"),
        needs_clearance=False,
        feed_token_hash=digest(feed_token),
        version=1,
    )
    db.add(athlete)
    await db.flush()
    rides = demo_rides(athlete.id, zone, monday)
    db.add_all(rides)
    await db.flush()
    await replan(db, athlete, rides, settings, monday, 12, now=planned_at)
    return athlete


def demo_profile(name: str) -> Athlete:
    profile = json.loads(resources.files("api").joinpath("demo/athlete.json").read_text("utf-8"))
    profile["name"] = name
    return Athlete.model_validate(profile)


async def seed_demo(settings: Settings, key_file: Path = DEMO_KEY_FILE) -> tuple[str, str, str]:
    """Demo coach, demo athlete (fresh feed token), 12 weeks of rides, a plan.

    Run again (each `make serve`), it keeps the coach's key (kept in `key_file`, since only its
    hash is in the database) and replaces only the demo athlete: athletes the coach added
    with that key stay, and scripts holding the key keep working."""
    engine, make = _session_maker(settings)
    token = new_secret("feed")
    person = demo_profile(DEMO_ATHLETE)
    zone = ZoneInfo(person.timezone)
    async with make() as db, db.begin():
        coach = await db.scalar(select(Coach).where(Coach.name == DEMO_COACH))
        key = read_secret(key_file)
        if coach is None or not key or digest(key) != coach.key_hash:
            key = new_secret("coach")
            write_secret(key_file, key)
        if coach is None:
            coach = Coach(name=DEMO_COACH, key_hash=digest(key))
            db.add(coach)
            await db.flush()
        coach.key_hash = digest(key)
        demo_athletes = await db.scalars(
            select(AthleteRow).where(
                AthleteRow.coach_id == coach.id, AthleteRow.name == DEMO_ATHLETE
            )
        )
        for athlete in demo_athletes.all():
            await db.delete(athlete)
        await db.flush()
        today = datetime.now(zone).date()
        monday = today - timedelta(days=today.weekday())
        # planned as of Monday morning, so the days of this week already gone hold sessions
        # to log feedback on (feedback is taken once a session has started)
        week_began = datetime.combine(monday, time.min, zone)
        athlete = await seed_athlete(db, settings, coach, person, token, monday, week_began)
        athlete_id = str(athlete.id)
    await engine.dispose()  # type: ignore[attr-defined]
    return key, athlete_id, token


def database_command(args: argparse.Namespace, settings: Settings) -> int:
    """`planner db ...`; a database out of reach is one line, not a traceback."""
    where = settings.database_url.split("@")[-1]  # no password
    try:
        if args.db_command == "upgrade":
            upgrade(settings)
            print(f"database at head: {where}")
        elif args.db_command == "downgrade":
            downgrade(settings, args.revision)
            print(f"database at {current(settings) or 'base'}: {where}")
        else:
            print(
                f"database at {current(settings) or 'nothing (never migrated)'}; this code "
                f"needs {head()}: {where}"
            )
    except DATABASE_DOWN as exc:
        print(
            f"planner: error: cannot reach the database at {where}: "
            f"{type(exc).__name__}: {exc}".rstrip(": "),
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="planner", description="Strength and mobility around rides.")
    commands = top.add_subparsers(dest="command", required=True)
    add_plan_command(commands)
    db_cmd = commands.add_parser("db", help="database commands")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the newest (reads DATABASE_URL)")
    db_sub.add_parser("current", help="the migration the database is at, and this code's")
    down = db_sub.add_parser(
        "downgrade",
        help="migrate down to REVISION (an id from `db current`, or base): what later "
        "migrations added is dropped with its data; back up first",
    )
    down.add_argument("revision")
    coach = commands.add_parser("coach", help="coach keys")
    coach_sub = coach.add_subparsers(dest="coach_command", required=True)
    create = coach_sub.add_parser("create", help="mint a coach key; it is printed once")
    create.add_argument("--name", required=True)
    demo = commands.add_parser("demo", help="seed a demo coach and athlete with a 12-week plan")
    demo.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="where `planner serve` will answer, for the printed links (PUBLIC_URL wins)",
    )
    serve = commands.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    worker = commands.add_parser(
        "worker", help="run background jobs and their schedule from Redis (REDIS_URL)"
    )
    worker.add_argument(
        "--metrics-port", type=int, default=None, help="serve this worker's /metrics on the port"
    )
    args = top.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "plan":
        return run(args)
    if args.command == "db":
        return database_command(args, settings)
    if args.command == "coach":
        name = args.name.strip()
        if not name:
            print("planner: error: --name must not be empty", file=sys.stderr)
            return 2
        key = asyncio.run(create_coach(settings, name))
        print(f"Coach {name!r} created. Their key is shown once; only its hash is stored:")
        print(key)
        return 0
    if args.command == "demo":
        key, athlete_id, token = asyncio.run(seed_demo(settings))
        base = settings.base_url(args.url)
        print("Demo ready.")
        print(f"  API docs:  {base}/schema")
        print(f"  Athlete:   {base}/api/v1/athletes/{athlete_id}/plan")
        print(f"  Feed URL:  {base}/feeds/{token}.ics")
        print(f"  Dashboard: {base}/app/  (sign in with the coach key below)")
        from api.web.checkin import demo_checkin_url

        checkin = asyncio.run(demo_checkin_url(settings, athlete_id, base))
        if checkin:
            print(f"  Check-in:  {checkin}  (the athlete's session today; /morning for the day)")
        print(f"  Try: curl -H 'Authorization: Bearer {key}' {base}/api/v1/athletes")
        print(f"  Coach key: {key}")
        return 0
    if args.command == "worker":
        from api.jobs import run_worker

        return run_worker(settings, args.metrics_port)
    if args.command == "serve":
        import uvicorn

        from api.app import create_app
        from api.logs import server_log_config

        uvicorn.run(
            create_app(settings),
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=server_log_config(),  # feed and check-in tokens redacted
            # api.metrics logs each request once, as JSON: uvicorn's own line would repeat it
            access_log=False,
        )
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
