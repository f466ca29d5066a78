"""The sessions the solver may choose from: a grid over the availability windows, plus
mobility right after each ride, plus (for explanations) a few times outside availability."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from math import inf

from constraints.h1_availability import COOL_DOWN
from planner.content import ContentBuilder
from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import (
    CONTEXT_WEEK,
    EVERY_START,
    Candidate,
    ModelContext,
    SlotRule,
    Span,
    Variant,
    blocks,
    union,
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


def _ceil_to(moment: datetime, minutes: int) -> datetime:
    extra = (-moment.minute) % minutes
    return _later(moment, timedelta(minutes=extra)).replace(second=0, microsecond=0)


class CandidateFactory:
    def __init__(self, problem: Problem, content: ContentBuilder | None = None) -> None:
        self.problem = problem
        self.content = content or ContentBuilder(problem)
        # (start timestamp, kind, heavy, stand-in, arrival, candidate): sorted into the list
        self._order: list[tuple[float, SessionKind, bool, bool, int, Candidate]] = []
        # (kind, start timestamp, heavy, stand-in) already offered or screened out
        self._seen: set[tuple[object, ...]] = set()
        self._stand_in_content: ContentBuilder | None | bool = False
        self._needs_stand_in: dict[date, bool] = {}
        # per-session hard rules asked once per day and variant (SlotRule.blocked_starts); the
        # union of a group of them by (group, day, kind, ...) in _blocked (_answered)
        self._screen: list[SlotRule] = []
        self._blocked: dict[tuple[object, ...], list[Span]] = {}
        # each rule's answer by what it reads (blocked)
        self._rule_spans: dict[tuple[object, ...], list[Span]] = {}
        self._shared_rules: dict[SessionKind, list[SlotRule]] = {}
        self._window_rules: dict[SessionKind, list[SlotRule]] = {}
        self._heavy_rules: dict[tuple[SessionKind, bool], list[SlotRule]] = {}
        self._content_rules: dict[tuple[SessionKind, bool], list[SlotRule]] = {}
        settings = problem.settings
        # nothing new starts before `now` (a re-plan): what is past is pinned or gone
        self._not_before = problem.now.timestamp() if problem.now is not None else -inf
        self._lengths = {
            SessionKind.strength: timedelta(minutes=settings.strength_session_min),
            SessionKind.mobility: timedelta(minutes=settings.mobility_session_min),
        }

    def _length(self, kind: SessionKind) -> timedelta:
        return self._lengths[kind]

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
        at: float,
        start: datetime,
        end: datetime,
        heavy: bool,
        day: date,
        week: int,
        built: tuple,
        after_ride: str | None = None,
        outside: bool = False,
        fixed: bool = False,
        stand_in: bool = False,
    ) -> None:
        """The one place a candidate is made: `at` is its start as a UTC timestamp."""
        prescriptions, notes = built
        if after_ride is None and kind == SessionKind.mobility:
            after_ride = self._ride_just_before(at, day)
        cand = Candidate(
            -1,
            kind,
            start,
            end,
            heavy,
            day,
            week,
            prescriptions,
            after_ride,
            notes,
            outside,
            fixed,
            stand_in,
        )
        # by instant: H9 reads "earlier" off this order, and wall clocks repeat when DST ends
        self._order.append((at, kind, heavy, stand_in, len(self._order), cand))

    def _answered(
        self, key: tuple[object, ...], variant: Variant, rules: list[SlotRule]
    ) -> list[Span]:
        """The union of `rules`' spans for `variant`, kept under `key`; none is asked after one
        forbids every start of the day."""
        found = self._blocked.get(key)
        if found is None:
            found = self._blocked[key] = union(self._rule_answer(r, variant) for r in rules)
        return found

    def _shared_spans(self, day: date, kind: SessionKind) -> list[Span]:
        """The starts on `day` the screening rules that read neither the heavy flag nor the
        content forbid to every session of `kind` (asked before any content is built), the
        windows' own rule (`window_bound`) left out: no grid start lies outside a window."""
        variant = Variant(day, kind, False, (), self._length(kind))
        return self._answered(("shared", day, kind), variant, self._shared_rules[kind])

    def _heavy_spans(self, day: date, kind: SessionKind, heavy: bool) -> list[Span]:
        """The starts on `day` the rules that read the heavy flag but not the content forbid
        (asked before any content is built)."""
        variant = Variant(day, kind, heavy, (), self._length(kind))
        return self._answered(
            ("heavy", day, kind, heavy), variant, self._heavy_rules[(kind, heavy)]
        )

    def _content_spans(
        self, day: date, kind: SessionKind, heavy: bool, stand_in: bool, built: tuple
    ) -> list[Span]:
        """The starts on `day` the rules that read the content forbid to this variant."""
        variant = Variant(day, kind, heavy, built[0], self._length(kind))
        rules = self._content_rules[(kind, heavy)]
        return self._answered(("content", day, kind, heavy, stand_in), variant, rules)

    def blocked(
        self, day: date, kind: SessionKind, heavy: bool, stand_in: bool, built: tuple
    ) -> list[Span]:
        """The starts on `day` some screening rule forbids for this variant, its content `built`
        (a start anywhere: a published session offered again, a ride's cool-down)."""
        variant = Variant(day, kind, heavy, built[0], self._length(kind))
        return union(
            chain(
                [self._shared_spans(day, kind)],
                (self._rule_answer(rule, variant) for rule in self._window_rules[kind]),
                [self._heavy_spans(day, kind, heavy)],
                [self._content_spans(day, kind, heavy, stand_in, built)],
            )
        )

    def _rule_answer(self, rule: SlotRule, variant: Variant) -> list[Span]:
        """A screening rule's spans for `variant`, asked once for what the rule reads."""
        asked = (
            rule.name,
            variant.day,
            variant.kind,
            variant.heavy if rule.reads_heavy else None,
            id(variant.prescriptions) if rule.reads_content else None,
        )
        spans = self._rule_spans.get(asked)
        if spans is None:
            spans = self._rule_spans[asked] = rule.blocked_starts(self.problem, variant)
        return spans

    def stand_in_content(self) -> ContentBuilder | None:
        """Content with every stand-in lift (Problem.stand_in_lifts) swapped for the rung below.

        The first Nordic or deadlift then binds only the session that holds it: the other heavy
        sessions hold the stand-in (the Romanian deadlift, the ball curl) until it has happened;
        and a lift in its build-up goes into one session a week, the others holding the stand-in.
        """
        if self._stand_in_content is False:
            problem = self.problem
            library = self.content.library
            # the state with the capped levels: a new patterns map, the rest shared (read only)
            state = problem.state.model_copy(update={"patterns": dict(problem.state.patterns)})
            capped = False
            for exercise_id in problem.stand_in_lifts:
                exercise = library.by_id.get(exercise_id)
                pattern = state.patterns.get(exercise.pattern) if exercise else None
                if exercise and pattern and pattern.level >= exercise.level > 1:
                    state.patterns[exercise.pattern] = pattern.model_copy(
                        update={"level": exercise.level - 1}
                    )
                    capped = True
            shadow = copy.copy(problem)
            shadow.state = state
            self._stand_in_content = ContentBuilder(shadow, library) if capped else None
        return self._stand_in_content  # type: ignore[return-value]

    def needs_stand_in(self, day: date) -> bool:
        """Whether the day's heavy session would hold a stand-in lift (never done, or in its
        build-up)."""
        found = self._needs_stand_in.get(day)
        if found is None:
            built = self.content.strength(day, True)
            new = self.problem.stand_in_lifts
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
        at = start.timestamp()
        key = (kind, at, heavy, stand_in)
        if key in self._seen or (not fixed and at < self._not_before):
            return  # offered already, or in the past: only what lies ahead can be planned
        week = problem.week_of(day)
        if week is not None:
            week_index = week.index
        elif fixed and session is not None and problem.in_context(day):
            week_index = CONTEXT_WEEK  # just before the start: fixed context, not planned
        else:
            return
        if session is not None:
            built = (tuple(session.prescriptions), tuple(session.notes))
            end = session.end
            # a given session is a stand-in when it leaves out the day's stand-in lift
            stand_in = (
                kind == SessionKind.strength
                and heavy
                and self.needs_stand_in(day)
                and not any(p.exercise_id in problem.stand_in_lifts for p in built[0])
            )
        else:
            built = self._built(kind, heavy, day, stand_in)
            if built is None:
                return
            if (
                self._screen
                and not outside
                and blocks(self.blocked(day, kind, heavy, stand_in, built), at)
            ):
                self._seen.add(key)  # a hard rule forbids it: never a candidate
                return
            end = _later(start, self._length(kind))
        self._seen.add(key)
        self._offer(
            kind,
            at,
            start,
            end,
            heavy,
            day,
            week_index,
            built,
            after_ride=after_ride,
            outside=outside,
            fixed=fixed,
            stand_in=stand_in,
        )

    def _screened(self, day: date, kind: SessionKind, starts: list[float]) -> list[float]:
        """The day's grid starts of `kind` that lie ahead and that no rule reading only the day
        and kind forbids: asked once for all of the day's variants of the kind."""
        shared = self._shared_spans(day, kind)
        if EVERY_START in shared:
            return []
        not_before = self._not_before
        return [at for at in starts if at >= not_before and not (shared and blocks(shared, at))]

    def _grid(
        self,
        kind: SessionKind,
        heavy: bool,
        starts: list[float],
        day: date,
        week_index: int,
        *,
        stand_in: bool = False,
    ) -> None:
        """One variant at each of a day's starts (UTC timestamps on local `day`, screened by
        `_screened`): its content and the spans of the rules that read it are looked up once
        for all of them, not once per start."""
        # the rules that read the heavy flag but not the content first: where they leave no
        # start (the days before a long ride, say), no content is built
        plain = self._heavy_spans(day, kind, heavy)
        if EVERY_START in plain:
            return
        if plain:
            starts = [at for at in starts if not blocks(plain, at)]
            if not starts:
                return
        built = self._built(kind, heavy, day, stand_in)
        if built is None:
            return
        spans = self._content_spans(day, kind, heavy, stand_in, built)
        if EVERY_START in spans:
            return
        seen = self._seen
        length, offer = self._length(kind), self._offer
        for at in starts:
            # once per start: overlapping windows give one start twice, and a pinned session or
            # a ride's cool-down (from the day before, past midnight) may hold it already
            key = (kind, at, heavy, stand_in)
            if key in seen or (spans and blocks(spans, at)):
                continue
            seen.add(key)
            start = datetime.fromtimestamp(at, UTC)
            # UTC: start + length is real time
            offer(kind, at, start, start + length, heavy, day, week_index, built, stand_in=stand_in)

    @staticmethod
    def _starts(
        opens: float,
        closes: float,
        length: float,
        anchors: list[float],
        max_grid: int = MAX_GRID,
    ) -> list[float]:
        """A window's starts as UTC timestamps: its opening, its last fitting start, an even grid
        of at most `max_grid` whole steps between, and the anchors that fall inside."""
        last = closes - length
        if opens > last:
            return []
        grid = GRID_STEP.total_seconds()
        step = max(grid, (last - opens) / max_grid)
        step = grid * -(-step // grid)  # whole steps
        starts = [opens]
        moment = opens + step
        while moment <= last:
            starts.append(moment)
            moment += step
        starts.append(last)
        starts += [a for a in anchors if opens <= a <= last]
        return sorted(set(starts))

    def _ride_just_before(self, at: float, day: date) -> str | None:
        """T2 prefers mobility within a couple of hours of a ride's end (`day`: the start's local
        day, `at` its UTC timestamp)."""
        ride = self.problem.ride_followed(day, at)
        return ride.label() if ride is not None else None

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
        # the screening rules by what they read: the day and kind only, or the variant too
        # (the windows' own rule apart: the grid needs no asking, a start off the grid does)
        for kind in SessionKind:
            by_day = [
                r
                for r in self._screen
                if not (r.reads_heavy or r.reads_content or r.heavy_only) and r.judges(kind, False)
            ]
            self._window_rules[kind] = [r for r in by_day if r.window_bound]
            self._shared_rules[kind] = [r for r in by_day if not r.window_bound]
            for heavy in (False, True):
                variant_rules = [
                    r for r in self._screen if r not in by_day and r.judges(kind, heavy)
                ]
                self._heavy_rules[(kind, heavy)] = [r for r in variant_rules if not r.reads_content]
                self._content_rules[(kind, heavy)] = [r for r in variant_rules if r.reads_content]
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
        strength_s = strength_len.total_seconds()
        mobility_s = mobility_len.total_seconds()
        gap_s = settings.same_day_gap_h * 3600
        now_day = problem.local_day(problem.now) if problem.now is not None else None
        for day in days if days is not None else problem.days():
            if now_day is not None and day < now_day:
                continue  # a day gone by: nothing new is planned on it
            windows = problem.windows(day)
            rides = problem.rides_on(day)
            stand_in_today = stand_ins and self.needs_stand_in(day)
            anchors = [r.ends_at + gap_s for r in rides] + [
                r.starts_at - (gap_s + strength_s) for r in rides
            ]
            # a few starts per window: its opening, its last fitting start, an even grid of at
            # most MAX_GRID between, and the first starts the day's rides allow (H6); every
            # start lies between a window's opening and closing on `day`
            strength_starts: list[float] = []
            mobility_starts: list[float] = []
            for opens, closes in windows:
                strength_starts += self._starts(opens, closes, strength_s, anchors)
                mobility_starts += self._starts(
                    opens, closes, mobility_s, [], max_grid=MAX_MOBILITY_GRID
                )
            variants = [(SessionKind.strength, False, False), (SessionKind.strength, True, False)]
            if stand_in_today:
                variants.append((SessionKind.strength, True, True))
            if not self._screen:  # explain mode: every start, for the rules' literals to judge
                for kind, heavy, stand_in in [*variants, (SessionKind.mobility, False, False)]:
                    for at in mobility_starts if kind == SessionKind.mobility else strength_starts:
                        moment = datetime.fromtimestamp(at, UTC)
                        self._add(kind, moment, heavy, stand_in=stand_in, day=day)
            elif (week := problem.week_of(day)) is not None:
                if strength_starts:
                    ahead = self._screened(day, SessionKind.strength, strength_starts)
                    if ahead:
                        for kind, heavy, stand_in in variants:
                            self._grid(kind, heavy, ahead, day, week.index, stand_in=stand_in)
                if mobility_starts:
                    ahead = self._screened(day, SessionKind.mobility, mobility_starts)
                    if ahead:
                        self._grid(SessionKind.mobility, False, ahead, day, week.index)
            # T2: mobility right after a ride, where a window allows or as the ride's cool-down
            # (H1 lets it start outside the windows within 30 min of the ride's end)
            for ride in rides:
                if problem.local_day(ride.end) != day:
                    continue
                moment = _ceil_to(_later(ride.end, buffer), 5)
                at = moment.timestamp()
                if at <= ride.ends_at + COOL_DOWN.total_seconds() or any(
                    opens <= at and at + mobility_s <= closes for opens, closes in windows
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
        # (SessionKind is a StrEnum: it orders by its value; on a tie, as a pinned session and
        # an offered stand-in at its time can be, the order of arrival stands)
        self._order.sort(key=lambda entry: entry[:5])
        ordered = [entry[5] for entry in self._order]
        for i, cand in enumerate(ordered):
            cand.index = i
        return ordered


def thin(ctx: ModelContext, keep_per_group: int = 4) -> None:
    """Keep a few feasible starts per day, kind and cost profile: first, last and evenly between.

    Starts that differ by half an hour and cost the same are near-duplicates for every rule but
    H7's gap, which the first and last starts of the day already cover. Thinning happens after
    the per-candidate hard rules, so only feasible starts compete for the places.
    """
    published = ctx.problem.published
    forbidden = ctx.forbidden
    groups: dict[tuple[object, ...], list[Candidate]] = defaultdict(list)
    for cand in ctx.candidates:
        if (
            cand.fixed
            or (forbidden and cand.index in forbidden)
            or (published and (cand.kind, cand.start, cand.heavy) in published)
        ):
            continue
        key = (
            cand.day,
            cand.kind,
            cand.heavy,
            cand.stand_in,
            cand.after_ride is not None,
            ctx.priced(cand),
        )
        groups[key].append(cand)
    for cands in groups.values():
        if len(cands) <= keep_per_group:
            continue
        last = len(cands) - 1
        kept = {round(i * last / (keep_per_group - 1)) for i in range(keep_per_group)}
        for position, cand in enumerate(cands):
            if position not in kept:
                ctx.forbidden.add(cand.index)
