"""`planner plan`: plan from an athlete file and a ride calendar, offline, without a server."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from planner.calendar_out import to_ical
from planner.errors import PlannerFailure, PlannerInputError
from planner.inputs import describe_validation, load_athlete, load_calendar
from planner.problem import MAX_WEEKS
from planner.report import table
from planner.solve import SolverSettings, plan


def add_plan_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = commands.add_parser("plan", help="plan strength and mobility around a ride calendar")
    cmd.add_argument(
        "--athlete", required=True, type=Path, help="athlete JSON (POST /athletes body)"
    )
    cmd.add_argument("--rides", required=True, type=Path, help="rides JSON list or .ics calendar")
    cmd.add_argument("--weeks", type=int, default=12, help=f"horizon in weeks, 1 to {MAX_WEEKS}")
    cmd.add_argument(
        "--start", type=date.fromisoformat, help="YYYY-MM-DD (default: today, athlete's zone)"
    )
    cmd.add_argument("--out", type=Path, help="write the plan as an .ics calendar here")
    cmd.add_argument("--time-limit", type=float, default=10.0, help="solver time limit, seconds")
    cmd.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    if not 1 <= args.weeks <= MAX_WEEKS:
        raise PlannerInputError(f"--weeks must be between 1 and {MAX_WEEKS} (got {args.weeks})")
    athlete = load_athlete(args.athlete)
    start = args.start or datetime.now(ZoneInfo(athlete.timezone)).date()
    rides, skipped, read_as = load_calendar(args.rides, athlete, start, args.weeks)
    try:
        solver = SolverSettings(time_limit_s=args.time_limit)
    except ValidationError as exc:
        raise PlannerInputError(describe_validation(exc, "--time-limit")) from exc
    result = plan(athlete, rides, start, args.weeks, settings=solver)
    print(table(result, rides, skipped, read_as))
    if args.out:
        calendar = to_ical(result.sessions, name=athlete.name, timezone=athlete.timezone)
        try:
            args.out.write_bytes(calendar)
        except OSError as exc:
            raise PlannerInputError(f"{args.out}: cannot write ({exc.strerror or exc})") from exc
        print(f"Wrote {len(result.sessions)} sessions to {args.out}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="planner", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    add_plan_command(commands)
    return top


def run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except PlannerInputError as exc:
        print(f"planner: error: {exc.message}", file=sys.stderr)
        return 2
    except PlannerFailure as exc:
        print(f"planner: could not plan: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
