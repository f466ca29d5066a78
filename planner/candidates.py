"""The sessions the solver may choose from: a grid over the availability windows, plus
mobility right after each ride, plus (for explanations) a few times outside availability."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from constraints.h1_availability import COOL_DOWN
from planner.content import ContentBuilder
from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import (
    EVERY_START,
    Candidate,
    ModelContext,
    SlotPreference,
    SlotRule,
    Span,
    Variant,
    blocks,
)

GRID_STEP = timedelta(minutes=60)
MAX_GRID = 5  # at most this many grid steps across a window (plus its ends and ride anchors)
# mobility is short and has its own after-ride starts: a coarser grid loses nothing T2 wants
MAX_MOBILITY_GRID = 2
# explain mode only: times a day outside availability, so H1 can be named as the obstacle
PROBE_TIMES = (time(7, 0), time(12, 0), time(18, 0))


def _later(moment: datetime, delta: timedelta) -> datetime:
    """The moment `delta` of real time later, in the same zone.

    `moment + delta` on a ZoneInfo datetime moves the wall clock instead: across the night the
    clocks go back, a 45-minute session would last 105 real minutes.
    """
    if moment.tzinfo is UTC:
        return moment + delta
    return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)


def _before_or_at(earlier: datetime, later: datetime) -> bool:
    """Compared as instants: two datetimes sharing a ZoneInfo compare by wall clock, fold ignored."""
    if earlier.tzinfo is UTC and later.tzinfo is UTC:
        return earlier <= later
    return earlier.astimezone(UTC) <= later.astimezone(UTC)


def _ceil_to(moment: datetime, minutes: int) -> datetime:
    extra = (-moment.minute) % minutes
    return _later(moment, timedelta(minutes=extra)).replace(second=0, microsecond=0)


class CandidateFactory:
    def __init__(self, problem: Problem, content: ContentBuilder | None = None) -> None:
        self.problem = problem
        self.content = content or ContentBuilder(problem)
        self.candidates: list[Candidate] = []
        self._seen: set[tuple[object, ...]] = set()
        self._stand_in_content: ContentBuilder | None | bool = False
        self._needs_stand_in: dict[date, bool] = {}
        # per-session hard rules asked once per day and variant (SlotRule.blocked_starts)
        self._screen: list[SlotRule] = []
        self._blocked: dict[tuple[object, ...], list[Span]] = {}

    def _length(self, kind: SessionKind) -> timedelta:
        settings = self.problem.settings
        minutes = (
            settings.strength_session_min
            if kind == SessionKind.strength
            else settings.mobility_session_min
        )
        return timedelta(minutes=minutes)

    def _built(self, kind: SessionKind, heavy: bool, day: date, stand_in: bool) -> tuple | None:
        """The variant's (prescriptions, notes) on `day`, or None when it has none (a stand-in
        exists only where the day's heavy session would hold a first exposure)."""
        if stand_in:
            builder = self.stand_in_content()
            if builder is None or not self.needs_stand_in(day):
                return None
        else:
            builder = self.content
        return (
            builder.strength(day, heavy) if kind == SessionKind.strength else builder.mobility(day)
        )

    def _offer(
        self,
        kind: SessionKind,
        start: datetime,
        end: datetime,
        heavy: bool,
        day: date,
        week: int,
        built: tuple,
        *,
        after_ride: str | None = None,
        outside: bool = False,
        fixed: bool = False,
        stand_in: bool = False,
    ) -> None:
        prescriptions, notes = built
        if kind == SessionKind.mobility and after_ride is None:
            after_ride = self._ride_just_before(start, day)
        self.candidates.append(
            Candidate(
                index=-1,
                kind=kind,
                start=start,
                end=end,
                heavy=heavy,
                day=day,
                week=week,
                prescriptions=prescriptions,
                after_ride=after_ride,
                notes=notes,
                outside_availability=outside,
                fixed=fixed,
                stand_in=stand_in,
            )
        )

    def blocked(
        self, day: date, kind: SessionKind, heavy: bool, stand_in: bool, built: tuple
    ) -> list[Span]:
        """The starts on `day` some screening rule forbids for this variant, its content `built`."""
        key = (day, kind, heavy, stand_in)
        found = self._blocked.get(key)
        if found is None:
            variant = Variant(day, kind, heavy, built[0], self._length(kind))
            found = []
            for rule in self._screen:
                if rule.judges(kind, heavy):
                    found += rule.blocked_starts(self.problem, variant)
            self._blocked[key] = found
        return found

    def stand_in_content(self) -> ContentBuilder | None:
        """Content with every never-done first-exposure lift (H9) swapped for the rung below.

        The first Nordic or deadlift then binds only the session that holds it: the other heavy
        sessions hold the stand-in (the Romanian deadlift, the ball curl) until it has happened.
        """
        if self._stand_in_content is False:
            problem = self.problem
            library = self.content.library
            state = problem.state.model_copy(deep=True)
            capped = False
            for exercise_id in problem.new_exposures:
                exercise = library.by_id.get(exercise_id)
                pattern = state.patterns.get(exercise.pattern) if exercise else None
                if exercise and pattern and pattern.level >= exercise.level > 1:
                    pattern.level = exercise.level - 1
                    capped = True
            shadow = copy.copy(problem)
            shadow.state = state
            self._stand_in_content = ContentBuilder(shadow, library) if capped else None
        return self._stand_in_content  # type: ignore[return-value]

    def needs_stand_in(self, day: date) -> bool:
        """Whether the day's heavy session would hold a lift the athlete has never done."""
        found = self._needs_stand_in.get(day)
        if found is None:
            built = self.content.strength(day, True)
            new = self.problem.new_exposures
            found = bool(built and any(p.exercise_id in new for p in built[0]))
            self._needs_stand_in[day] = found
        return found

    def _add(
        self,
        kind: SessionKind,
        start: datetime,
        heavy: bool,
        *,
        after_ride: str | None = None,
        outside: bool = False,
        session: Session | None = None,
        fixed: bool = False,
        stand_in: bool = False,
        day: date | None = None,
    ) -> None:
        """`day`: the start's local day when the caller knows it (the grid of a day's windows)."""
        problem = self.problem
        if day is None:
            day = problem.local_day(start)
        if session is None and start.tzinfo is not UTC:  # the grid lives in UTC: fast compares
            start = start.astimezone(UTC)
        key = (kind, start, heavy, stand_in)
        if key in self._seen:
            return
        week = problem.week_of(day)
        if week is None:
            return
        if session is not None:
            built = (tuple(session.prescriptions), tuple(session.notes))
            end = session.end
            # a given session is a stand-in when it leaves out the day's first-exposure lift
            stand_in = (
                kind == SessionKind.strength
                and heavy
                and self.needs_stand_in(day)
                and not any(p.exercise_id in problem.new_exposures for p in built[0])
            )
        else:
            built = self._built(kind, heavy, day, stand_in)
            if built is None:
                return
            if (
                self._screen
                and not outside
                and blocks(self.blocked(day, kind, heavy, stand_in, built), start.timestamp())
            ):
                self._seen.add(key)  # a hard rule forbids it: never a candidate
                return
            end = _later(start, self._length(kind))
        self._seen.add(key)
        self._offer(
            kind,
            start,
            end,
            heavy,
            day,
            week.index,
            built,
            after_ride=after_ride,
            outside=outside,
            fixed=fixed,
            stand_in=stand_in,
        )

    def _grid(
        self,
        kind: SessionKind,
        heavy: bool,
        starts: list[datetime],
        day: date,
        *,
        stand_in: bool = False,
    ) -> None:
        """One variant at each of a window's starts (UTC, on local `day`): its content and the
        screen's spans are looked up once for all of them, not once per start."""
        if not self._screen:
            for moment in starts:
                self._add(kind, moment, heavy, stand_in=stand_in, day=day)
            return
        week = self.problem.week_of(day)
        built = self._built(kind, heavy, day, stand_in)
        if week is None or built is None:
            return
        blocked = self.blocked(day, kind, heavy, stand_in, built)
        if EVERY_START in blocked:
            return
        length = self._length(kind)
        seen = self._seen
        for moment in starts:
            key = (kind, moment, heavy, stand_in)
            if key in seen:
                continue
            seen.add(key)
            if blocked and blocks(blocked, moment.timestamp()):
                continue
            self._offer(
                kind,
                moment,
                moment + length,
                heavy,
                day,
                week.index,
                built,
                stand_in=stand_in,
            )

    @staticmethod
    def _starts(
        opens: datetime,
        closes: datetime,
        length: timedelta,
        anchors: list[datetime],
        max_grid: int = MAX_GRID,
    ) -> list[datetime]:
        last = _later(closes, -length)
        if not _before_or_at(opens, last):
            return []
        span = last.timestamp() - opens.timestamp()
        step = max(GRID_STEP.total_seconds(), span / max_grid)
        step = GRID_STEP.total_seconds() * -(-step // GRID_STEP.total_seconds())  # whole steps
        starts = [opens]
        moment = _later(opens, timedelta(seconds=step))
        while _before_or_at(moment, last):
            starts.append(moment)
            moment = _later(moment, timedelta(seconds=step))
        starts.append(last)
        starts += [a for a in anchors if _before_or_at(opens, a) and _before_or_at(a, last)]
        return sorted(set(starts), key=lambda m: m.timestamp())

    def _ride_just_before(self, start: datetime, day: date) -> str | None:
        """T2 prefers mobility within a couple of hours of a ride's end (`day`: start's local day)."""
        limit = timedelta(hours=self.problem.settings.mobility_after_ride_h)
        for ride in self.problem.rides_on(day):
            if ride.end <= start <= ride.end + limit:
                return ride.label()
        return None

    def build(
        self,
        *,
        explain: bool = False,
        keep: list[Session] | None = None,
        fixed: list[Session] | None = None,
        days: list | None = None,
        screen: list[SlotRule] | None = None,
    ) -> list[Candidate]:
        """`screen`: per-session hard rules whose forbidden starts are never offered (not in
        explain mode, where every candidate needs its rule's literal)."""
        problem = self.problem
        self._screen = [] if explain else list(screen or [])
        settings = problem.settings
        strength_len = timedelta(minutes=settings.strength_session_min)
        mobility_len = timedelta(minutes=settings.mobility_session_min)
        buffer = timedelta(minutes=settings.ride_buffer_min)
        for session in fixed or []:
            self._add(
                session.kind,
                session.start,
                session.heavy,
                session=session,
                fixed=True,
                after_ride=session.after_ride,
            )
        stand_ins = self.stand_in_content() is not None
        for day in days if days is not None else problem.days():
            spans = problem.spans(day)
            stand_in_today = stand_ins and self.needs_stand_in(day)
            gap = timedelta(hours=settings.same_day_gap_h)
            anchors = [_later(r.end, gap) for r in problem.rides_on(day)] + [
                _later(r.start, -(gap + strength_len)) for r in problem.rides_on(day)
            ]
            for opens, closes in spans:
                # a few starts per window: its opening, its last fitting start, an even grid
                # of at most MAX_GRID between, and the first starts the day's rides allow (H6)
                # every start lies between the window's opening and closing on `day`
                starts = self._starts(opens, closes, strength_len, anchors)
                self._grid(SessionKind.strength, False, starts, day)
                self._grid(SessionKind.strength, True, starts, day)
                if stand_in_today:
                    self._grid(SessionKind.strength, True, starts, day, stand_in=True)
                starts = self._starts(opens, closes, mobility_len, [], max_grid=MAX_MOBILITY_GRID)
                self._grid(SessionKind.mobility, False, starts, day)
            # T2: mobility right after a ride, where a window allows or as the ride's cool-down
            # (H1 lets it start outside the windows within 30 min of the ride's end)
            for ride in problem.rides_on(day):
                if problem.local_day(ride.end) != day:
                    continue
                moment = _ceil_to(_later(ride.end, buffer), 5)
                if _before_or_at(moment, _later(ride.end, COOL_DOWN)) or any(
                    _before_or_at(o, moment) and _before_or_at(_later(moment, mobility_len), c)
                    for o, c in spans
                ):
                    self._add(SessionKind.mobility, moment, False, after_ride=ride.label())
            if explain:
                for clock in PROBE_TIMES:
                    moment_or_none = problem.at(day, clock)
                    if moment_or_none is None:
                        continue
                    self._add(SessionKind.strength, moment_or_none, False, outside=True)
                    self._add(SessionKind.strength, moment_or_none, True, outside=True)
                    if stand_in_today:
                        self._add(
                            SessionKind.strength, moment_or_none, True, outside=True, stand_in=True
                        )
                    self._add(SessionKind.mobility, moment_or_none, False, outside=True)
        # previously published sessions are offered again at their own time (S4)
        for session in keep or []:
            self._add(session.kind, session.start, session.heavy, after_ride=session.after_ride)
            if session.heavy and stand_ins:
                self._add(session.kind, session.start, True, stand_in=True)
        # by instant: H9 reads "earlier" off this order, and wall clocks repeat when DST ends
        ordered = sorted(
            self.candidates,
            # SessionKind is a StrEnum: it orders by its value without the enum property call
            key=lambda c: (c.start.timestamp(), c.kind, c.heavy, c.stand_in),
        )
        for i, cand in enumerate(ordered):
            cand.index = i
        return ordered


def thin(ctx: ModelContext, keep_per_group: int = 4) -> None:
    """Keep a few feasible starts per day, kind and cost profile: first, last and evenly between.

    Starts that differ by half an hour and cost the same are near-duplicates for every rule but
    H7's gap, which the first and last starts of the day already cover. Thinning happens after
    the per-candidate hard rules, so only feasible starts compete for the places.
    """
    problem = ctx.problem
    prices = [r for r in ctx.rules if isinstance(r, SlotPreference)]
    published = problem.published
    groups: dict[tuple[object, ...], list[Candidate]] = defaultdict(list)
    for cand in ctx.candidates:
        if (
            cand.index in ctx.forbidden
            or cand.fixed
            or (cand.kind, cand.start, cand.heavy) in published
        ):
            continue
        # a rule that cannot price this kind of session is left out of its profile (the
        # group's key holds the kind and variant, so profiles compared have the same rules)
        profile = tuple(
            [ctx.costs(rule, cand) for rule in prices if rule.judges(cand.kind, cand.heavy)]
        )
        key = (cand.day, cand.kind, cand.heavy, cand.stand_in, cand.after_ride is not None, profile)
        groups[key].append(cand)
    for cands in groups.values():
        if len(cands) <= keep_per_group:
            continue
        last = len(cands) - 1
        kept = {round(i * last / (keep_per_group - 1)) for i in range(keep_per_group)}
        for position, cand in enumerate(cands):
            if position not in kept:
                ctx.forbidden.add(cand.index)
