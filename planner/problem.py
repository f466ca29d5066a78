"""The fixed facts of one planning request, with the solver-free look-ups every rule shares."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from planner.domain import (
    EARLIEST,
    LATEST,
    Athlete,
    Pattern,
    Phase,
    Prescription,
    Priority,
    ProgressionState,
    Region,
    Ride,
    RideKind,
    RuleSettings,
    Session,
    SessionKind,
)
from planner.errors import PlannerInputError
from planner.phases import Week, in_taper, race_days, season_weeks

MAX_WEEKS = 52
# published sessions this many days before the start are fixed context in the model: H7's rest
# (up to 120 h) and H9's first exposure reach across the start
CONTEXT_DAYS = 7
# H9: lifts whose first session leaves strength down for about three days (Coratella 2025)
FIRST_EXPOSURE_EXERCISES = ("nordic_curl", "deadlift")


class Slot(Protocol):
    """Anything with a time and content: a planned Session or a solver Candidate."""

    kind: SessionKind
    start: datetime
    end: datetime
    heavy: bool

    @property
    def prescriptions(self) -> list[Prescription] | tuple[Prescription, ...]: ...


@dataclass
class Problem:
    athlete: Athlete
    rides: list[Ride]
    start: date
    weeks: int
    state: ProgressionState
    # sessions already published, for S4 stability and UID carry-over
    previous: list[Session] = field(default_factory=list)
    # re-plans: when "now" is; sessions before it are not the solver's to move
    now: datetime | None = None
    # UIDs of published sessions the athlete reported as not done: they hold no place, count
    # toward no target and leave no fatigue for the rules between two sessions (H7, H9)
    skipped: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 1 <= self.weeks <= MAX_WEEKS:
            raise PlannerInputError(
                f"weeks must be between 1 and {MAX_WEEKS} (got {self.weeks})", field="weeks"
            )
        # every day of the plan, and a session late on its last day, stays inside the dates the
        # service accepts (no date arithmetic near datetime's limits)
        last_day = LATEST - timedelta(days=1)
        if (
            not EARLIEST <= self.start <= last_day
            or (last_day - self.start).days < 7 * self.weeks - 1
        ):
            raise PlannerInputError(
                f"a plan of {self.weeks} week(s) from {self.start.isoformat()} would run outside "
                f"{EARLIEST.isoformat()} to {last_day.isoformat()}: start earlier or plan fewer weeks",
                field="start",
            )
        self.zone = ZoneInfo(self.athlete.timezone)
        self.settings: RuleSettings = self.athlete.settings
        # published sessions by (kind, UTC start, heavy): S4, hints and UID reuse look here
        self.published: dict[tuple[object, ...], Session] = {
            (p.kind, p.start.astimezone(UTC), p.heavy): p for p in self.previous
        }
        # internally every moment is UTC: comparisons and differences are then real time
        self.rides = sorted((_in_utc(r) for r in self.rides), key=lambda r: r.start)
        check_rides_do_not_overlap(self.rides)
        self.a_races = race_days(self.rides, self.zone, Priority.A)
        self.b_races = race_days(self.rides, self.zone, Priority.B)
        self.week_list: list[Week] = season_weeks(
            self.start, self.weeks, self.a_races, self.athlete.phase
        )
        # instants, so that look-ups compare real time whatever zone a ride was written in
        self._ride_starts = [r.start.astimezone(UTC) for r in self.rides]
        self._spans: dict[date, list[tuple[datetime, datetime]]] = {}
        self._windows: dict[date, list[tuple[float, float]]] = {}
        self._after_rides: dict[date, list[tuple[float, float, Ride]]] = {}
        self._rides_by_day: dict[date, list[Ride]] = {}
        self._rides_around: dict[date, list[Ride]] = {}
        self._long_ride_on: dict[date, Ride | None] = {}
        for ride in self.rides:
            first = self.local_day(ride.start)
            last = self.local_day(ride.end - timedelta(seconds=1))
            day = first
            while day <= last:
                self._rides_by_day.setdefault(day, []).append(ride)
                day += timedelta(days=1)

    # --- time ---

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7 * self.weeks)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(7 * self.weeks)]

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_of(self, slot: Slot) -> date:
        """The local day a session starts on (candidates carry it already: the hot path)."""
        day = getattr(slot, "day", None)
        return day if isinstance(day, date) else self.local_day(slot.start)

    def at(self, day: date, clock: time) -> datetime | None:
        """The aware moment of a wall-clock time, or None when DST skips it."""
        moment = datetime.combine(day, clock, tzinfo=self.zone)
        # in a gap the earlier fold reads the offset from before the clocks went forward, the
        # later one the offset after (PEP 495); a repeated hour has them the other way round
        if moment.utcoffset() < moment.replace(fold=1).utcoffset():  # type: ignore[operator]
            return None
        return moment

    def windows(self, day: date) -> list[tuple[float, float]]:
        """The day's availability windows as (opens, closes) UTC timestamps (H1)."""
        cached = self._windows.get(day)
        if cached is None:
            cached = [(o.timestamp(), c.timestamp()) for o, c in self.spans(day)]
            self._windows[day] = cached
        return cached

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's availability windows as (opens, closes) instants in UTC (H1)."""
        cached = self._spans.get(day)
        if cached is None:
            cached = []
            for window in self.athlete.availability.windows_on(day):
                opens, closes = self.at(day, window.start), self.at(day, window.end)
                if opens is not None and closes is not None:
                    cached.append((opens.astimezone(UTC), closes.astimezone(UTC)))
            self._spans[day] = cached
        return cached

    def week_of(self, day: date) -> Week | None:
        index = (day - self.start).days // 7
        if 0 <= index < self.weeks:
            return self.week_list[index]
        return None

    def phase_on(self, day: date) -> Phase | None:
        """The phase a day's sessions follow: its week's, except that the days after an A race
        in its race week are already transition (nothing there is "race week" any more)."""
        week = self.week_of(day)
        if week is None:
            return None
        if week.phase == Phase.race and any(week.start <= r < day for r in self.a_races):
            return Phase.transition
        return week.phase

    def in_taper(self, day: date) -> bool:
        return in_taper(day, self.a_races)

    # --- pain state (H10): fixed for one solve, asked once per candidate ---

    @cached_property
    def flagged_regions(self) -> frozenset[Region]:
        return frozenset(self.state.flagged_regions())

    @cached_property
    def blocked_patterns(self) -> frozenset[Pattern]:
        return frozenset(self.state.blocked_patterns())

    @cached_property
    def race_rides(self) -> list[Ride]:
        """Every ride of kind `race`, in time order (H8 looks for the B and C ones)."""
        return [r for r in self.rides if r.kind == RideKind.race]

    @cached_property
    def context(self) -> list[Session]:
        """Published sessions of the CONTEXT_DAYS before the start (done or still ahead): the
        model holds them fixed so that the rules between two sessions see them, and they are
        never part of the new plan."""
        return [
            s
            for s in self.previous
            if self.in_context(self.local_day(s.start)) and not self.was_skipped(s)
        ]

    def was_skipped(self, session: Session) -> bool:
        """Whether the athlete reported this published session as not done."""
        return bool(session.uid) and session.uid in self.skipped

    def in_context(self, day: date) -> bool:
        """Whether `day` is one of the days before the start whose sessions are context."""
        return 0 < (self.start - day).days <= CONTEXT_DAYS

    @cached_property
    def building_up(self) -> frozenset[str]:
        """Lifts in their first sessions: prescribed at no more than the build-up dose."""
        return self.state.building_up()

    @cached_property
    def new_exposures(self) -> tuple[str, ...]:
        """First-exposure lifts (H9) the athlete has never done."""
        return tuple(e for e in FIRST_EXPOSURE_EXERCISES if e not in self.state.exposures)

    @cached_property
    def stand_in_lifts(self) -> tuple[str, ...]:
        """Lifts a heavy session may hold the rung below in place of: a first exposure never
        done (H9: only the session that holds it must keep clear of key rides) and a lift in
        its build-up (H9: once a week)."""
        return self.new_exposures + tuple(sorted(self.building_up - set(self.new_exposures)))

    # --- rides ---

    def rides_on(self, day: date) -> list[Ride]:
        """Rides that touch this local day."""
        return self._rides_by_day.get(day, [])

    def ride_followed(self, day: date, at: float) -> Ride | None:
        """The ride of local `day` that a session starting at `at` (a UTC timestamp) follows
        within `mobility_after_ride_h` of its end (T2), or None."""
        stretches = self._after_rides.get(day)
        if stretches is None:
            limit = self.settings.mobility_after_ride_h * 3600
            stretches = [(ride.ends_at, ride.ends_at + limit, ride) for ride in self.rides_on(day)]
            self._after_rides[day] = stretches
        for ends, until, ride in stretches:
            if ends <= at <= until:
                return ride
        return None

    def rides_around(self, day: date) -> list[Ride]:
        """Rides that touch the day before, this day or the day after (H2 asks per candidate)."""
        found = self._rides_around.get(day)
        if found is None:
            one = timedelta(days=1)
            found = self.rides_on(day - one) + self.rides_on(day) + self.rides_on(day + one)
            self._rides_around[day] = found
        return found

    def long_ride_on(self, day: date) -> Ride | None:
        """The first long ride or race touching this day (H5 asks per candidate)."""
        if day not in self._long_ride_on:
            self._long_ride_on[day] = next((r for r in self.rides_on(day) if self.is_long(r)), None)
        return self._long_ride_on[day]

    @cached_property
    def _long_rides(self) -> tuple[list[Ride], list[datetime]]:
        rides = [r for r in self.rides if self.is_long(r)]
        return rides, [r.start.astimezone(UTC) for r in rides]

    def long_rides_between(self, earliest: datetime, latest: datetime) -> list[Ride]:
        """Long rides and races starting in [earliest, latest), in time order (H3 and H4 ask
        per candidate; a few long rides a week, against every ride)."""
        rides, starts = self._long_rides
        lo = bisect.bisect_left(starts, earliest.astimezone(UTC))
        hi = bisect.bisect_left(starts, latest.astimezone(UTC))
        return rides[lo:hi]

    def rides_between(self, earliest: datetime, latest: datetime) -> list[Ride]:
        """Rides starting in [earliest, latest)."""
        lo = bisect.bisect_left(self._ride_starts, earliest.astimezone(UTC))
        hi = bisect.bisect_left(self._ride_starts, latest.astimezone(UTC))
        return self.rides[lo:hi]

    def is_long(self, ride: Ride) -> bool:
        return ride.is_long(self.settings)

    def is_key(self, ride: Ride) -> bool:
        return ride.is_key(self.settings)


def _in_utc(ride: Ride) -> Ride:
    if ride.start.tzinfo is UTC:
        return ride
    copied = ride.model_copy(update={"start": ride.start.astimezone(UTC)})
    for cached in ("end", "starts_at", "ends_at"):  # worked out again from the new start
        copied.__dict__.pop(cached, None)
    return copied


def check_rides_do_not_overlap(rides: list[Ride]) -> None:
    """PlannerInputError naming a pair of rides that overlap, if any: sorted by start, O(n log n).

    Neighbours suffice: a ride overlapping a later one also overlaps every ride between them.
    """
    ordered = sorted(rides, key=lambda r: r.start.timestamp())
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start.timestamp() < before.end.timestamp():
            raise PlannerInputError(
                f"rides overlap: {before.label()!r} at {before.start.isoformat()} "
                f"runs until {before.end.isoformat()}, after {after.label()!r} starts at "
                f"{after.start.isoformat()}",
                field="rides",
            )


def rides_overlap(ride: Ride, others: list[Ride]) -> Ride | None:
    """The first ride of `others` that overlaps `ride` in time, if any (one ride, a few others;
    for two calendars use ride_conflicts)."""
    for other in others:
        # instants: wall clocks sharing a ZoneInfo compare wrongly when DST ends
        if (
            other.start.timestamp() < ride.end.timestamp()
            and ride.start.timestamp() < other.end.timestamp()
        ):
            return other
    return None


# no ride lasts longer (Ride.duration_min): a ride starting earlier than this cannot reach one
_LONGEST_RIDE_S = 24 * 3600

T = TypeVar("T")


class ByStart(Generic[T]):
    """Items with a ride, sorted by its start once, asked which overlap a ride: each question
    looks only at those starting in the day before it up to its end (O(log n + found))."""

    def __init__(self, items: list[T], ride_of: Callable[[T], Ride]) -> None:
        self.ride_of = ride_of
        self.items = sorted(items, key=lambda item: ride_of(item).start.timestamp())
        self.starts = [ride_of(item).start.timestamp() for item in self.items]

    def overlapping(self, ride: Ride) -> list[T]:
        begins, ends = ride.start.timestamp(), ride.end.timestamp()
        lo = bisect.bisect_left(self.starts, begins - _LONGEST_RIDE_S)
        hi = bisect.bisect_left(self.starts, ends)
        return [item for item in self.items[lo:hi] if self.ride_of(item).end.timestamp() > begins]


def ride_conflicts(incoming: list[Ride], stored: list[Ride]) -> list[tuple[Ride, Ride]]:
    """Each (incoming, stored) pair that overlaps in real time, in the order of incoming starts:
    O((n + m) log m + pairs), not n * m."""
    index = ByStart(stored, lambda ride: ride)
    return [
        (ride, other)
        for ride in sorted(incoming, key=lambda r: r.start.timestamp())
        for other in index.overlapping(ride)
    ]
