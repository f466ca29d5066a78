"""Real elapsed time for the rules.

Python compares and subtracts two aware datetimes that share one tzinfo object by their wall
clocks, ignoring the UTC offset. Sessions and rides built in the athlete's ZoneInfo therefore
measure 48 h across a spring-forward night as 48 wall-clock hours, which are 47 real ones.
The rules work on UTC instants instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:  # the planner's own candidates and rides are already UTC
        return moment
    return moment.astimezone(UTC)


def real_hours(earlier: datetime, later: datetime) -> float:
    """Real hours from `earlier` to `later`, whatever their time zones."""
    return (utc(later) - utc(earlier)).total_seconds() / 3600


def exists(moment: datetime) -> bool:
    """False for a wall-clock time its own time zone skips (the hour lost when DST starts)."""
    if moment.tzinfo is UTC:
        return True
    round_trip = utc(moment).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def local(moment: datetime, zone: tzinfo) -> str:
    """A moment as a coach reads it: "Wed 13 Jan 19:30", in the athlete's zone."""
    return f"{moment.astimezone(zone):%a %d %b %H:%M}"
