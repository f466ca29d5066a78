"""What rules build on: candidate sessions, their CP-SAT variables, and the Rule base classes.

A candidate is one fully specified session the solver may pick (time, kind, heavy or light,
prescriptions). Every rule in `constraints/` has two faces: `encode` adds it to the CP-SAT
model through a ModelContext, `check` finds its breaches in a finished list of sessions
without the solver. Hard rules encode behind an enforcement literal so the explain mode can
switch them off and ask which ones keep a target out of reach.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from math import inf
from typing import ClassVar

from ortools.sat.python import cp_model
from ortools.util.python.sorted_interval_list import Domain

from planner.domain import Prescription, Ride, Session, SessionKind
from planner.problem import Problem, Slot

# Start instants (UTC timestamps) a hard rule forbids: (low, high, low included, high included).
# The candidate factory asks each per-session hard rule for these once per day and variant,
# so that a forbidden start never becomes a candidate (see SlotRule.blocked_starts).
Span = tuple[float, float, bool, bool]
EVERY_START: Span = (-inf, inf, False, False)
BOOLEAN = Domain(0, 1)
# the week index of a fixed session just before the plan's start (Problem.context): in the
# model for the rules between two sessions, in no week's targets, never in the plan
CONTEXT_WEEK = -1


def blocks(spans: list[Span], moment: float) -> bool:
    """Whether a start at `moment` (a UTC timestamp) falls in any of the spans."""
    for low, high, low_in, high_in in spans:
        if low < moment < high or (low_in and moment == low) or (high_in and moment == high):
            return True
    return False


def union(parts: Iterable[list[Span]]) -> list[Span]:
    """The spans of all `parts`, or just EVERY_START as soon as one part forbids every start
    (the parts after it are then not asked: pass a generator to skip their work)."""
    found: list[Span] = []
    for spans in parts:
        if EVERY_START in spans:
            return [EVERY_START]
        found += spans
    return found


@dataclass(frozen=True, slots=True)
class Variant:
    """A kind of session on one local day: what a start's screening depends on besides the
    start itself (SlotRule.blocked_starts)."""

    day: date
    kind: SessionKind
    heavy: bool
    prescriptions: tuple[Prescription, ...]
    length: timedelta


def around(day: date) -> tuple[datetime, datetime]:
    """UTC instants surely before and after every moment of a local `day`, in any zone."""
    midnight = datetime.combine(day, time(0), UTC)
    return midnight - timedelta(days=2), midnight + timedelta(days=3)


@dataclass(slots=True)
class Candidate:
    index: int
    kind: SessionKind
    start: datetime
    end: datetime
    heavy: bool
    day: date
    week: int
    prescriptions: tuple[Prescription, ...]
    after_ride: str | None = None
    notes: tuple[str, ...] = ()
    # only offered in explain mode, so that H1 can be named when availability is the limit
    outside_availability: bool = False
    # pinned to 1: a session that already happened, or one a test asks about
    fixed: bool = False
    # a heavy session holding the rung below a first-exposure lift (H9) instead of the lift
    stand_in: bool = False

    def to_session(self, zone: tzinfo | None = None) -> Session:
        return Session(
            kind=self.kind,
            start=self.start.astimezone(zone) if zone else self.start,
            end=self.end.astimezone(zone) if zone else self.end,
            heavy=self.heavy,
            prescriptions=list(self.prescriptions),
            after_ride=self.after_ride,
            notes=list(self.notes),
        )


@dataclass(frozen=True)
class Violation:
    """A hard rule's breach, or a soft rule's named penalty term ("S1 heavy_before_intervals[...]")."""

    rule: str
    term: str
    message: str
    penalty: int = 0
    when: datetime | date | None = None
    # the ride the breach is about, for the weekly report (S1's intervals, H6's ride, ...)
    ride: Ride | None = None


@dataclass
class Penalty:
    term: str
    weight: int
    var: cp_model.IntVar | int
    # a cost that only keeps the plan from asking for more than a target: in the objective,
    # not reported as a term paid (SolverReport.bookkeeping)
    bookkeeping: bool = False


@dataclass
class ModelContext:
    problem: Problem
    candidates: list[Candidate]
    explain: bool = False
    rules: list[Rule] = field(default_factory=list)
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    x: dict[int, cp_model.IntVar] = field(default_factory=dict)
    forbidden: set[int] = field(default_factory=set)
    enforce: dict[str, cp_model.IntVar] = field(default_factory=dict)
    penalties: list[Penalty] = field(default_factory=list)
    hinted: set[int] = field(default_factory=set)
    _preferences: list[SlotPreference] | None = None
    _priced: list[tuple[bool, ...]] | None = None
    _live: dict[str, list[Candidate]] = field(default_factory=dict)
    _groups: dict[str, dict] = field(default_factory=dict)
    _by_column: list[list[Candidate]] | None = None
    _live_count: int = -1

    # --- building ---

    def create_variables(self) -> None:
        proto = self.model.proto
        for cand in self.candidates:
            if cand.index in self.forbidden and not self.explain:
                continue
            # CpModel.new_bool_var, without making a new 0..1 domain for each variable
            var = cp_model.IntVar(proto).with_name(f"x{cand.index}").with_domain(BOOLEAN)
            self.x[cand.index] = var
            if cand.fixed:
                self.model.add(var == 1)

    def literal(self, rule: str) -> cp_model.IntVar:
        """The enforcement literal of a hard rule (explain mode only)."""
        if rule not in self.enforce:
            self.enforce[rule] = self.model.new_bool_var(f"enforce_{rule}")
        return self.enforce[rule]

    def forbid(self, rule: str, cand: Candidate) -> None:
        """A hard rule says this candidate may not be picked.

        Pinned candidates are sessions that already happened: no rule can undo them.
        """
        if cand.fixed:
            return
        if self.explain:
            self.model.add_implication(self.x[cand.index], self.literal(rule).Not())
        else:
            self.forbidden.add(cand.index)

    def add_hard(self, rule: str, constraint: cp_model.Constraint) -> None:
        if self.explain:
            constraint.only_enforce_if(self.literal(rule))

    @property
    def preferences(self) -> list[SlotPreference]:
        """The per-session soft rules, in rule order: the columns of `priced`."""
        if self._preferences is None:
            self._preferences = [r for r in self.rules if isinstance(r, SlotPreference)]
        return self._preferences

    def priced(self, cand: Candidate) -> tuple[bool, ...]:
        """Which per-session preferences price this candidate, one flag per `preferences` column
        (asked twice: by thinning and by each preference's encode)."""
        if self._priced is None:
            self._priced = self._price_all()
        return self._priced[cand.index]

    def priced_by(self, column: int) -> list[Candidate]:
        """The live candidates (context aside) the preference in `column` prices, in order:
        sorted out for every column in one pass (most candidates are priced by none)."""
        live = self.live()  # first: a change in the variables clears the caches
        columns = self._by_column
        if columns is None:
            if self._priced is None:
                self._priced = self._price_all()
            priced = self._priced
            found: list[list[Candidate]] = [[] for _ in self.preferences]
            for cand in live:
                row = priced[cand.index]
                if True in row and cand.week != CONTEXT_WEEK:
                    for at, flag in enumerate(row):
                        if flag:
                            found[at].append(cand)
            columns = self._by_column = found
        return columns[column]

    def _price_all(self) -> list[tuple[bool, ...]]:
        """Every candidate's prices, worked out per day and variant: a rule that reads only the
        day and content (`by_day`) answers once for them all, a rule with `priced_starts`
        gives its spans once, and only the others are asked start by start."""
        problem = self.problem
        groups: dict[tuple[object, ...], list[Candidate]] = defaultdict(list)
        for cand in self.candidates:
            # the candidates of one day and variant share their prescriptions tuple
            groups[(cand.day, cand.kind, cand.heavy, id(cand.prescriptions))].append(cand)
        judging = {
            (kind, heavy): [r.judges(kind, heavy) for r in self.preferences]
            for kind in SessionKind
            for heavy in (False, True)
        }
        found: list[tuple[bool, ...]] = [()] * len(self.candidates)
        for cands in groups.values():
            first = cands[0]
            fixed: list[bool] = []  # the columns every start of the group shares
            by_start: list[tuple[int, list[bool]]] = []  # the others, by column
            for column, (rule, judged) in enumerate(
                zip(self.preferences, judging[first.kind, first.heavy], strict=True)
            ):
                if not judged:
                    fixed.append(False)
                    continue
                if rule.by_day:
                    fixed.append(rule.cost(problem, first) is not None)
                    continue
                length = first.end.astimezone(UTC) - first.start.astimezone(UTC)
                variant = Variant(first.day, first.kind, first.heavy, first.prescriptions, length)
                spans = rule.priced_starts(problem, variant)
                fixed.append(False)
                if spans is None:
                    by_start.append((column, [rule.cost(problem, c) is not None for c in cands]))
                elif spans:
                    by_start.append((column, [blocks(spans, c.start.timestamp()) for c in cands]))
            if not by_start:
                row = tuple(fixed)
                for cand in cands:
                    found[cand.index] = row
                continue
            for position, cand in enumerate(cands):
                values = fixed.copy()
                for column, flags in by_start:
                    values[column] = flags[position]
                found[cand.index] = tuple(values)
        return found

    def at_most_one(self, cands: list[Candidate]) -> cp_model.Constraint | None:
        """At most one of `cands` (None when there is nothing to say).

        With a pinned candidate among them (a session that happened, or context before the
        start), none of the others: what is pinned holds the place. Two pinned ones may clash
        (history under rules set later): they are not held to each other, so a plan is still
        made around them.
        """
        free = [self.x[c.index] for c in cands if not c.fixed]
        if len(free) == len(cands):
            return self.model.add_at_most_one(free) if len(free) > 1 else None
        if not free:
            return None
        return self.model.add_bool_and([var.Not() for var in free])

    def hint(self, cand: Candidate) -> None:
        """Suggest this candidate to the solver (S4: what was published)."""
        if cand.index not in self.hinted:
            self.hinted.add(cand.index)
            self.model.add_hint(self.x[cand.index], 1)

    def penalize(
        self, term: str, weight: int, var: cp_model.IntVar | int, *, bookkeeping: bool = False
    ) -> None:
        self.penalties.append(Penalty(term, weight, var, bookkeeping))

    # --- looking up ---

    def var(self, cand: Candidate) -> cp_model.IntVar | None:
        return self.x.get(cand.index)

    def live(self, kind: SessionKind | None = None) -> list[Candidate]:
        key = kind.value if kind else "all"
        cached = self._live.get(key)
        if cached is None or self._live_count != len(self.x):
            if self._live_count != len(self.x):
                self._live.clear()
                self._groups.clear()
                self._by_column = None
                self._live_count = len(self.x)
            cached = [
                c for c in self.candidates if c.index in self.x and (kind is None or c.kind == kind)
            ]
            self._live[key] = cached
        return cached

    def by_day(self, kind: SessionKind) -> dict[date, list[Candidate]]:
        """The live candidates of `kind` by local day (shared: read, never change it)."""
        return self._grouped(kind, "day")

    def by_week(self, kind: SessionKind) -> dict[int, list[Candidate]]:
        """The live candidates of `kind` by week index (shared: read, never change it)."""
        return self._grouped(kind, "week")

    def _grouped(self, kind: SessionKind, field: str) -> dict:
        live = self.live(kind)  # first: a change in the variables clears the caches
        key = f"{kind.value} by {field}"
        cached = self._groups.get(key)
        if cached is None:
            groups: dict[object, list[Candidate]] = defaultdict(list)
            for cand in live:
                groups[getattr(cand, field)].append(cand)
            cached = self._groups[key] = dict(groups)
        return cached

    def total(self, cands: Iterable[Candidate]) -> cp_model.LinearExpr:
        # flat: Python's sum() would nest one expression node per term
        return cp_model.LinearExpr.sum([self.x[c.index] for c in cands])


class Rule:
    """One rule of domain.md. Subclasses set `name`, `title`, `hard` and typed parameters."""

    name: ClassVar[str]
    title: ClassVar[str]
    hard: ClassVar[bool]
    # per-session rules: what the rule can forbid or price at all (the model builder does not
    # ask it about other sessions; tests/planner/test_screen.py holds each rule to it)
    strength_only: ClassVar[bool] = False
    heavy_only: ClassVar[bool] = False

    def judges(self, kind: SessionKind, heavy: bool) -> bool:
        """Whether this rule can forbid or price any session of this kind and variant."""
        if self.strength_only and kind != SessionKind.strength:
            return False
        return heavy or not self.heavy_only

    def encode(self, ctx: ModelContext) -> None:
        raise NotImplementedError

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        raise NotImplementedError


@dataclass(frozen=True)
class Suggestion:
    """What would let a session through the hard rules, in a coach's words (`text`), with the
    settings it moves and to what (`changes`: the explanations weigh how far a setting moves,
    and whether it loosens a safety margin); none for words alone (move a ride, add a window)."""

    text: str
    changes: tuple[tuple[str, int], ...] = ()

    @classmethod
    def change(cls, setting: str, value: int) -> Suggestion:
        """The setting `setting` at `value`, said as the settings API spells it."""
        return cls(f"{setting} {value}", ((setting, value),))


class SlotRule(Rule):
    """A hard rule that judges each session on its own (given the rides and the athlete)."""

    hard = True

    def breach(self, problem: Problem, slot: Slot) -> str | None:
        """Why this session breaks the rule, or None."""
        raise NotImplementedError

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        """The ride behind a breach, when one is (for reports and explanations)."""
        return None

    def suggest(self, problem: Problem, slot: Slot) -> Suggestion | None:
        """One change that would let this session through the rule, in a coach's words."""
        return None

    def blocked_starts(self, problem: Problem, variant: Variant) -> list[Span]:
        """Every start instant this rule forbids for a session of `variant` (its kind,
        heavy or not, content, length) that starts on its local day (spans may reach past it).

        The same answer as `breach` for each such session, computed once per day instead of
        once per start; tests/planner/test_screen.py holds every rule to that. `breach` stays
        the rule's definition: the explain mode and `check` use only it.
        """
        raise NotImplementedError

    # rules that settle most candidates cheaply go first (see planner.solve.build_model)
    cost_rank: ClassVar[int] = 5
    # what `blocked_starts` reads of a variant besides its day, kind and length: a rule that
    # reads neither the heavy flag nor the content gives one answer for all of a day's strength
    # variants (the factory asks it once; tests/planner/test_screen.py holds each rule to it)
    reads_heavy: ClassVar[bool] = True
    reads_content: ClassVar[bool] = True
    # True when the rule forbids no start whose session lies inside an availability window:
    # the factory's grid (which makes only such starts) does not ask it
    window_bound: ClassVar[bool] = False

    def encode(self, ctx: ModelContext) -> None:
        for cand in ctx.candidates:
            # once one rule forbids a candidate the others need not look (explain mode must:
            # there every rule guards its own literal)
            if not ctx.explain and cand.index in ctx.forbidden:
                continue
            if self.breach(ctx.problem, cand) is not None:
                ctx.forbid(self.name, cand)

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        found = []
        for session in sessions:
            why = self.breach(problem, session)
            if why is not None:
                found.append(
                    Violation(
                        self.name,
                        f"{self.name}[{session.start.isoformat()}]",
                        why,
                        when=session.start,
                        ride=self.concerns(problem, session),
                    )
                )
        return found


class SlotPreference(Rule):
    """A soft rule that prices each session on its own."""

    hard = False
    weight: int
    term: ClassVar[str]
    # True when the price reads only the day, kind, heavy and prescriptions, never the time:
    # then it is asked once per day and variant, not once per start (ModelContext.priced)
    by_day: ClassVar[bool] = False

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        """Why this session is penalized, or None."""
        raise NotImplementedError

    def concerns(self, problem: Problem, slot: Slot) -> Ride | None:
        """The ride behind the cost, when one is (for the weekly report)."""
        return None

    def term_name(self, problem: Problem, slot: Slot) -> str:
        return f"{self.name} {self.term}[{problem.local_day(slot.start).isoformat()}]"

    def priced_starts(self, problem: Problem, variant: Variant) -> list[Span] | None:
        """Every start instant this rule prices for a session of `variant` on its local day, or
        None when the rule has no such spans and is asked start by start (as `blocked_starts`
        for the hard rules: the same answer as `cost`, held to it by tests/planner/test_screen.py)."""
        return None

    def encode(self, ctx: ModelContext) -> None:
        if not any(self.judges(kind, heavy) for kind in SessionKind for heavy in (False, True)):
            return  # it prices nothing (S2 with no preference given)
        for cand in ctx.priced_by(ctx.preferences.index(self)):
            ctx.penalize(self.term_name(ctx.problem, cand), self.weight, ctx.x[cand.index])

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        found = []
        for session in sessions:
            why = self.cost(problem, session)
            if why is not None:
                found.append(
                    Violation(
                        self.name,
                        self.term_name(problem, session),
                        why,
                        penalty=self.weight,
                        when=session.start,
                        ride=self.concerns(problem, session),
                    )
                )
        return found


def hours_between(earlier: datetime, later: datetime) -> float:
    """Real hours between two moments (timestamps: same-zone subtraction is wall-clock)."""
    return (later.timestamp() - earlier.timestamp()) / 3600
