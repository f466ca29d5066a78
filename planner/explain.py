"""The weekly `broken` lists: every soft term a plan paid, in words a coach can act on.

The entries come from the soft rules' solver-free `check` on the finished plan (the spec's
word, not the solver's). Each is then diagnosed without the solver: the planner tries other
times in the same week (an hourly grid, the windows' edges and the times the day's rides
allow), asks every hard rule's `breach` about each, and keeps the try that comes closest.
That try names the day and time, the ride or session in the way, and the one change that
would make room (the blocking rule's `suggest`). For missed weekly targets the CP-SAT core
(planner.solve) names the rules; the try is then taken among those the core names.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, partial

from constraints._time import local, utc
from constraints.h7_strength_gap import H7StrengthGap
from constraints.h9_first_exposure import BUILD_UP_DAYS, H9FirstExposure
from constraints.s3_spread import min_spacing_days
from constraints.t1_strength_per_week import stand_in_for
from constraints.t2_mobility_days import not_after_ride
from constraints.t4_taper import heavy_taper_days
from planner.candidates import CandidateFactory
from planner.content import ContentBuilder
from planner.domain import (
    Broken,
    BrokenRide,
    Ride,
    Session,
    SessionKind,
    WeekReport,
)
from planner.problem import Problem
from planner.variables import (
    Candidate,
    Rule,
    SlotPreference,
    SlotRule,
    Span,
    Suggestion,
    Variant,
    Violation,
    blocks,
)

# hours of the day tried besides the windows' edges and the rides' anchors
PROBE_HOURS = range(6, 23, 2)
# outside the athlete's windows, a time tried (and so a window suggested) starts and ends
# within these local hours
WAKING = (time(5, 0), time(23, 0))
# a setting changed by more than this share reads as a rule given up, not a tweak
MILD_CHANGE = 0.35
# settings that are safety margins (domain.md's hard rules on recovery around long rides,
# races and first exposures): loosening one is offered last, and says whose call it is
SAFETY_SETTINGS = frozenset(
    {
        "heavy_before_long_h",
        "heavy_after_long_h",
        "strength_gap_h",
        "first_exposure_gap_h",
        "taper_days_A",
        "taper_days_B",
        "clear_before_B_h",
        "clear_before_C_h",
    }
)
SAFETY_NOTE = " (this loosens a safety margin: the coach's call)"


class Breach:
    """A hard rule's word on a time tried; the ride and the suggestion are asked only for the
    try that gets reported."""

    def __init__(
        self,
        rule: str,
        why: str,
        ride: Callable[[], Ride | None],
        suggest: Callable[[], Suggestion | None],
    ) -> None:
        self.rule, self.why = rule, why
        self._ride, self._suggest = ride, suggest

    @cached_property
    def ride(self) -> Ride | None:
        return self._ride()

    @cached_property
    def suggestion(self) -> Suggestion | None:
        return self._suggest()


class GapBreach(Breach):
    """H7: a try too close to one of the plan's strength sessions (worded only if reported)."""

    def __init__(
        self, problem: Problem, other: Session, gap: float, needed: int, same_day: bool
    ) -> None:
        self.rule = "H7"
        self._zone, self._other, self._gap = problem.zone, other, gap
        self._needed, self._same_day = needed, same_day

    @cached_property
    def why(self) -> str:  # type: ignore[override]
        return (
            f"only {max(self._gap, 0):.0f} h from the strength session of "
            f"{local(self._other.start, self._zone)} (needs {self._needed} h, one a day at most)"
        )

    @cached_property
    def ride(self) -> Ride | None:
        return None

    @cached_property
    def suggestion(self) -> Suggestion | None:
        if not self._same_day and int(self._gap) >= 24:  # the setting's lower bound
            return Suggestion.change("strength_gap_h", int(self._gap))
        return Suggestion(f"move the strength session of {local(self._other.start, self._zone)}")


class SlotBreach(Breach):
    """A per-session hard rule's breach, found by its spans (SlotRule.blocked_starts): its
    words, ride and suggestion come from the rule itself, asked only if the try is reported."""

    def __init__(self, rule: SlotRule, problem: Problem, slot: Candidate) -> None:
        self.rule = rule.name
        self._of, self._problem, self._slot = rule, problem, slot

    @cached_property
    def why(self) -> str:  # type: ignore[override]
        return self._of.breach(self._problem, self._slot) or ""

    @cached_property
    def ride(self) -> Ride | None:
        return self._of.concerns(self._problem, self._slot)

    @cached_property
    def suggestion(self) -> Suggestion | None:
        return self._of.suggest(self._problem, self._slot)


@dataclass
class Attempt:
    """One time tried for a session, and what each hard rule says about it."""

    slot: Candidate
    breaches: list[Breach]

    @property
    def rules(self) -> list[str]:
        return [b.rule for b in self.breaches]


def ride_of(ride: Ride | None, problem: Problem) -> BrokenRide | None:
    if ride is None:
        return None
    return BrokenRide(label=ride.label(), start=ride.start.astimezone(problem.zone))


class Diagnosis:
    """Tries other times for sessions of one plan, with the hard rules' solver-free faces."""

    def __init__(
        self, problem: Problem, sessions: list[Session], rules: list[Rule], content: ContentBuilder
    ) -> None:
        self.problem = problem
        self.sessions = sorted(sessions, key=lambda s: s.start.timestamp())
        self.slot_rules = [r for r in rules if isinstance(r, SlotRule) and r.hard]
        self.h7 = next((r for r in rules if isinstance(r, H7StrengthGap)), None)
        self.h9 = next((r for r in rules if isinstance(r, H9FirstExposure)), None)
        self.soft = {r.name: r for r in rules if not r.hard}
        self.content = content
        self._slot_breaches: dict[tuple[object, ...], list] = {}
        self._spans_of: dict[tuple[object, ...], list[tuple[SlotRule, list[Span]]]] = {}
        self._slots: dict[tuple[object, ...], tuple[list[Candidate], tuple]] = {}
        self._priced: dict[tuple[object, ...], list[Span] | None] = {}
        # instants once: the tries compare against these thousands of times
        self._spans = [(s.start.timestamp(), s.end.timestamp(), s) for s in self.sessions]
        self._starts = [start for start, _, _ in self._spans]
        self._longest = max((end - start for start, end, _ in self._spans), default=0.0)
        self._days = {id(s): problem.local_day(s.start) for s in self.sessions}
        self._first_holder: dict[str, float] = {}
        self._strength_days: dict[int, set[object]] = {}
        for start, _, s in self._spans:
            for exercise_id in problem.new_exposures:
                if exercise_id in s.exercise_ids():
                    self._first_holder.setdefault(exercise_id, start)
        # H9's build-up: the sessions holding each lift in it (those before the start are
        # among `sessions`: the callers pass the context with the plan)
        self._build_up: dict[str, list[tuple[date, Session]]] = {
            lift: [(self._days[id(s)], s) for s in self.sessions if lift in s.exercise_ids()]
            for lift in problem.building_up
        }
        self._factory: CandidateFactory | None = None

    def first_exposure_at(self) -> datetime | None:
        """The start of the plan's first session holding a never-done lift (H9), if any."""
        first = min(self._first_holder.values(), default=None)
        return datetime.fromtimestamp(first, UTC) if first is not None else None

    def _near(self, slot: Candidate, days: int = 3) -> list[tuple[float, float, Session]]:
        """The plan's sessions within `days` of the slot (by start: bisected, not scanned)."""
        lo = slot.start.timestamp() - days * 86400
        hi = slot.end.timestamp() + days * 86400
        first = bisect.bisect_left(self._starts, lo - self._longest)
        last = bisect.bisect_left(self._starts, hi)
        return [span for span in self._spans[first:last] if span[1] > lo]

    def strength_days_besides(self, session: Session) -> set[object]:
        """The days of the plan's other strength sessions (asked for every time S3 tries)."""
        found = self._strength_days.get(id(session))
        if found is None:
            # S3 spaces the plan's own sessions: those before its start are not counted
            days = (
                self.problem.local_day(s.start)
                for s in self.sessions
                if s.uid != session.uid and s.kind == SessionKind.strength
            )
            found = {day for day in days if day >= self.problem.start}
            self._strength_days[id(session)] = found
        return found

    # --- the times tried ---

    def starts(self, day: object, length: timedelta) -> list[datetime]:
        problem = self.problem
        settings = problem.settings
        moments: list[datetime] = []
        for hour in PROBE_HOURS:
            moment = problem.at(day, time(hour))  # type: ignore[arg-type]
            if moment is not None:
                moments.append(moment.astimezone(UTC))
        for opens, closes in problem.spans(day):  # type: ignore[arg-type]
            moments += [opens, closes - length]
        gap = timedelta(hours=settings.same_day_gap_h)
        buffer = timedelta(minutes=settings.ride_buffer_min)
        for ride in problem.rides_on(day):  # type: ignore[arg-type]
            # on whole minutes, the side away from the ride: a time tried is a time a coach
            # can type (a ride ending at 07:43:27 gives 08:14, not 08:13:27 shown as 08:13)
            moments += [
                _minute(utc(ride.end) + gap, up=True),
                _minute(utc(ride.start) - gap - length, up=False),
                _minute(utc(ride.end) + buffer, up=True),
            ]
        windows = problem.spans(day)  # type: ignore[arg-type]

        def plausible(moment: datetime) -> bool:
            # outside the windows only waking hours: a ride's anchor before an early ride
            # suggested "a window on Saturday from 01:15 to 02:00" (a coach's review)
            if any(opens <= moment and moment + length <= closes for opens, closes in windows):
                return True
            begins = moment.astimezone(problem.zone)
            ends = (moment + length).astimezone(problem.zone)
            return (
                WAKING[0] <= begins.time()
                and ends.date() == begins.date()
                and ends.time() <= WAKING[1]
            )

        return sorted(
            {m for m in moments if problem.local_day(m) == day and plausible(m)}, key=lambda m: m
        )

    def slot(
        self, kind: SessionKind, start: datetime, heavy: bool, content: tuple | None
    ) -> Candidate | None:
        problem = self.problem
        minutes = (
            problem.settings.strength_session_min
            if kind == SessionKind.strength
            else problem.settings.mobility_session_min
        )
        if content is None:
            return None
        day = problem.local_day(start)
        week = problem.week_of(day)
        if week is None:
            return None
        return Candidate(
            index=-1,
            kind=kind,
            start=start,
            end=start + timedelta(minutes=minutes),
            heavy=heavy,
            day=day,
            week=week.index,
            prescriptions=tuple(content[0]),
        )

    def _rule_spans(self, slot: Candidate, content: tuple) -> list[tuple[SlotRule, list[Span]]]:
        """Each per-session hard rule's forbidden starts for the slot's day, kind and content
        (asked once per day and variant; `breach` then only words the rules that forbid)."""
        key = (slot.day, slot.kind, slot.heavy, content)
        found = self._spans_of.get(key)
        if found is None:
            variant = Variant(
                slot.day, slot.kind, slot.heavy, slot.prescriptions, slot.end - slot.start
            )
            found = [(rule, rule.blocked_starts(self.problem, variant)) for rule in self.slot_rules]
            self._spans_of[key] = found
        return found

    def priced(self, rule: SlotPreference, slot: Candidate) -> bool:
        """Whether the preference prices `slot`: by its spans for the slot's day and variant
        where it has them (the same answer as `cost`, tests/planner/test_screen.py)."""
        key = (rule.name, slot.day, slot.kind, slot.heavy, id(slot.prescriptions))
        spans = self._priced.get(key, False)
        if spans is False:
            variant = Variant(
                slot.day, slot.kind, slot.heavy, slot.prescriptions, slot.end - slot.start
            )
            spans = self._priced[key] = rule.priced_starts(self.problem, variant)
        if spans is None:
            return rule.cost(self.problem, slot) is not None
        return blocks(spans, slot.start.timestamp())

    def attempt(
        self, slot: Candidate, leave_out: Session | None = None, content: tuple | None = None
    ) -> Attempt:
        """What the hard rules say about `slot`, with the plan's other sessions where they are.

        `slot` comes from `slot()`: a UTC start on its local day, of the standard length.
        `content`: the slot's (exercise, heavy) pairs, when the caller has them already."""
        if content is None:
            content = tuple((p.exercise_id, p.heavy) for p in slot.prescriptions)
        key = (slot.kind, slot.start, slot.heavy, content)
        found = self._slot_breaches.get(key)
        if found is None:
            found = []
            moment = slot.start.timestamp()
            for rule, spans in self._rule_spans(slot, content):
                # the spans are exactly the rule's breaches (tests/planner/test_screen.py)
                if blocks(spans, moment):
                    found.append(SlotBreach(rule, self.problem, slot))
            self._slot_breaches[key] = found
        breaches = list(found)
        breaches += self._gap_breaches(slot, leave_out)
        breaches += self._first_exposure_breaches(slot, leave_out)
        breaches += self._build_up_breaches(slot, leave_out)
        return Attempt(slot, breaches)

    def _gap_breaches(self, slot: Candidate, leave_out: Session | None) -> list:
        if self.h7 is None or slot.kind != SessionKind.strength:
            return []
        problem = self.problem
        needed = self.h7.strength_gap_h
        begins, ends = slot.start.timestamp(), slot.end.timestamp()
        reach = max(needed / 24, 1) + 1
        for other_start, other_end, other in self._near(slot, days=int(reach) + 1):
            if other is leave_out or other.kind != SessionKind.strength:
                continue
            if other_end <= begins:
                gap = (begins - other_end) / 3600
            elif ends <= other_start:
                gap = (other_start - ends) / 3600
            else:
                gap = -1.0
            same_day = self._days[id(other)] == slot.day
            if same_day or gap < needed:
                return [GapBreach(problem, other, gap, needed, same_day)]
        return []

    def _first_exposure_breaches(self, slot: Candidate, leave_out: Session | None) -> list:
        if self.h9 is None:
            return []
        problem = self.problem
        new = [p for p in slot.prescriptions if p.exercise_id in problem.new_exposures]
        for lift in new:
            first = self._first_holder.get(lift.exercise_id)
            earlier = first is not None and first < slot.start.timestamp()
            if earlier and leave_out is not None and leave_out.start.timestamp() == first:
                earlier = False  # the session being moved is the first holder itself
            why = None if earlier else self.h9.too_close(problem, slot)
            if why is not None:
                return [
                    Breach(
                        "H9",
                        f"the first {lift.name}: {why}",
                        partial(self.h9.concerns, problem, slot),
                        partial(self.h9.suggest, problem, slot),
                    )
                ]
        return []

    def _build_up_breaches(self, slot: Candidate, leave_out: Session | None) -> list:
        """H9's build-up: a lift in it goes into one session a week (7 days apart)."""
        if self.h9 is None:
            return []
        for lift in slot.prescriptions:
            for day, other in self._build_up.get(lift.exercise_id, ()):
                apart = abs((slot.day - day).days)
                if other is not leave_out and apart < BUILD_UP_DAYS:
                    when = local(other.start, self.problem.zone)
                    why = (
                        f"the {lift.name} builds up once a week ({BUILD_UP_DAYS} days apart) and "
                        f"is in the session of {when}, {apart} day(s) away"
                    )
                    return [Breach("H9", why, lambda: None, lambda: None)]
        return []

    def stand_in(self, day: date) -> tuple | None:
        """The day's heavy content with the stand-in lift (the rung below) where the day's
        heavy session would hold a lift in its first sessions (CandidateFactory), else None."""
        if self._factory is None:
            self._factory = CandidateFactory(self.problem, self.content)
        builder = self._factory.stand_in_content()
        if builder is None or not self._factory.needs_stand_in(day):
            return None
        return builder.strength(day, True)

    def _free(self, slot: Candidate, leave_out: Session | None) -> bool:
        """No planned session (other than the one being moved) overlaps the slot, and a
        mobility slot takes a day without mobility."""
        begins, ends = slot.start.timestamp(), slot.end.timestamp()
        for other_start, other_end, other in self._near(slot, days=1):
            if other is leave_out:
                continue
            if other_start < ends and begins < other_end:
                return False
            if (
                slot.kind == SessionKind.mobility
                and other.kind == SessionKind.mobility
                and self._days[id(other)] == slot.day
            ):
                return False
        return True

    def attempts(
        self,
        week_index: int,
        kind: SessionKind,
        heavy: bool,
        *,
        content: str = "plan",
        leave_out: Session | None = None,
        wanted: Callable[[Candidate], bool] | None = None,
    ) -> list[Attempt]:
        """Every time tried in the week for a session of this kind, heavy or not.

        `content`: "plan" for what the planner would prescribe, "exposure" for the heavy
        session with the first-exposure lift in it. `wanted`: only the times it accepts are
        put to the hard rules (asking them is the costly part).
        """
        problem = self.problem
        week = problem.week_list[week_index]
        minutes = (
            problem.settings.strength_session_min
            if kind == SessionKind.strength
            else problem.settings.mobility_session_min
        )
        found = []
        for offset in range(7):
            day = week.start + timedelta(days=offset)
            if kind == SessionKind.strength:
                built = self.content.strength(day, heavy)
            else:
                built = self.content.mobility(day)
            if content == "exposure" and built is not None:
                if not any(p.exercise_id in problem.stand_in_lifts for p in built[0]):
                    built = None
            variants = [built]
            if content == "plan" and kind == SessionKind.strength and heavy:
                # a heavy session may hold the stand-in (the rung below) where the day's would
                # hold a lift in its first sessions: tried as the session being moved is, or
                # both ways for a session still to place
                other = self.stand_in(day)
                if other is not None and leave_out is not None:
                    holds = any(
                        p.exercise_id in problem.stand_in_lifts for p in leave_out.prescriptions
                    )
                    variants = [built] if holds else [other]
                elif other is not None:
                    variants.append(other)
            for variant in variants:
                slots, held = self._day_slots(day, kind, heavy, variant, timedelta(minutes=minutes))
                for slot in slots:
                    if not self._free(slot, leave_out):
                        continue
                    if wanted is not None and not wanted(slot):
                        continue
                    found.append(self.attempt(slot, leave_out, held))
        return found

    def _day_slots(
        self, day: date, kind: SessionKind, heavy: bool, built: tuple | None, length: timedelta
    ) -> tuple[list[Candidate], tuple]:
        """The slots tried on `day` for this variant (none in the past), and the content they
        hold as `attempt` keys it: made once per diagnosis, whichever session is being moved."""
        key = (day, kind, heavy, id(built))  # the builder keeps `built` alive: ids stay apart
        found = self._slots.get(key)
        if found is None:
            problem = self.problem
            slots: list[Candidate] = []
            for start in self.starts(day, length):
                if problem.now is not None and start < problem.now:
                    continue  # the past is no place to make room in
                slot = self.slot(kind, start, heavy, built)
                if slot is not None:
                    slots.append(slot)
            held = tuple((p.exercise_id, p.heavy) for p in built[0]) if built else ()
            found = self._slots[key] = (slots, held)
        return found

    # --- choosing the closest try ---

    def _mildness(self, attempt: Attempt) -> tuple[int, int, float]:
        """Sort key: fewest rules in the way, then a mild setting change, then a window."""
        suggestion = attempt.breaches[0].suggestion
        if suggestion is not None and len(suggestion.changes) == 1:
            name, value = suggestion.changes[0]
            current = getattr(self.problem.settings, name, None)
            if isinstance(current, int) and current:
                change = abs(current - value) / current
                rank = 0 if change <= MILD_CHANGE and name not in SAFETY_SETTINGS else 2
                return (len(attempt.breaches), rank, change)
        if attempt.rules == ["H1"]:
            return (len(attempt.breaches), 1, 0.0)
        return (len(attempt.breaches), 3 if suggestion is None else 2, 1.0)

    def closest(
        self, attempts: Iterable[Attempt], within: set[str] | None = None
    ) -> Attempt | None:
        """The try with the fewest rules in the way (taken among those `within` names, when
        any try is), the mildest change first."""
        blocked = [a for a in attempts if a.breaches]
        if within:
            inside = [a for a in blocked if set(a.rules) <= within]
            blocked = inside or blocked
        if not blocked:
            return None
        # only the tries with the fewest rules in the way are weighed for their suggestion
        fewest = min(len(a.breaches) for a in blocked)
        blocked = [a for a in blocked if len(a.breaches) == fewest]
        return min(blocked, key=lambda a: (*self._mildness(a), a.slot.start.timestamp()))

    def describe(self, attempt: Attempt) -> tuple[str, Suggestion | None, Ride | None]:
        """'tried Wed 13 Jan 19:00: <why>' and the one change that would make room."""
        problem = self.problem
        first = attempt.breaches[0]
        rule, why, ride, suggestion = first.rule, first.why, first.ride, first.suggestion
        text = f"tried {local(attempt.slot.start, problem.zone)}: {why} ({rule})"
        if len(attempt.breaches) > 1:
            others = ", ".join(sorted({b.rule for b in attempt.breaches[1:]} - {rule}))
            if others:
                text += f"; also {others}"
                return text, _together(attempt, rule, suggestion), ride
        return text, _with_safety_note(suggestion), ride


def _minute(moment: datetime, *, up: bool) -> datetime:
    """`moment` on a whole minute: the next one (`up`) or the one before."""
    whole = moment.replace(second=0, microsecond=0)
    return whole + timedelta(minutes=1) if up and whole != moment else whole


def _session_at(sessions: list[Session], problem: Problem, when: object) -> Session | None:
    if not isinstance(when, datetime):
        return None
    for s in sessions:
        if s.start.timestamp() == when.timestamp():
            return s
    for s in problem.previous:
        if s.start.timestamp() == when.timestamp():
            return s
    return None


def _week_index(problem: Problem, violation: Violation) -> int | None:
    when = violation.when
    if isinstance(when, datetime):
        day = problem.local_day(when)
    elif when is not None:
        day = when
    else:
        return None
    week = problem.week_of(day)
    return week.index if week else None


def broken_entries(
    problem: Problem,
    sessions: list[Session],
    rules: list[Rule],
    reports: list[WeekReport],
    content: ContentBuilder,
    *,
    diagnose: bool = True,
) -> None:
    """Fill each report's `broken` list from the soft rules' checks, and say why each was paid."""
    # the sessions just before the start count too: H7 and H9 reach across it (Problem.context)
    diagnosis = Diagnosis(problem, problem.context + sessions, rules, content)
    for rule in rules:
        if rule.hard:
            continue
        for violation in rule.check(problem, sessions):
            index = _week_index(problem, violation)
            if index is None:
                continue
            session = _session_at(sessions, problem, violation.when)
            entry = Broken(
                rule=violation.rule,
                term=violation.term,
                session_id=session.uid if session is not None and session.uid else None,
                ride=ride_of(violation.ride, problem),
                detail=violation.message,
            )
            if diagnose:
                _diagnose(diagnosis, entry, violation, session, index, reports[index])
            reports[index].broken.append(entry)


def _diagnose(
    diagnosis: Diagnosis,
    entry: Broken,
    violation: Violation,
    session: Session | None,
    index: int,
    report: WeekReport,
) -> None:
    """Why the plan could not avoid this term: the closest try, and what it would take."""
    term = violation.term
    problem = diagnosis.problem
    if term.startswith(("T1 strength_sessions", "T2 mobility_days", "T1 heavy_sessions")):
        # the weekly target's explanation fills this in (planner.solve.explain), with the core
        return
    if term.startswith("T1 stand_in") and session is not None:
        # where the lift could go instead, this stand-in's own place left free
        tries = diagnosis.attempts(
            index, SessionKind.strength, True, content="exposure", leave_out=session
        )
        missing = stand_in_for(problem, session, diagnosis.content)
        # a lift in its build-up, done before, has the week's own slots as its whole answer
        if any(p.exercise_id in problem.new_exposures for p in missing):
            placed = diagnosis.first_exposure_at()
            entry.detail += (
                f"; the first exposure is planned for {local(placed, problem.zone)}"
                if placed is not None
                else "; no week of this plan can hold the first exposure"
            )
        _explain_with(diagnosis, entry, tries, ok_text="a heavy slot with the lift was free")
        return
    if term.startswith("T4 taper_heavy"):
        # where the taper's heavy session could go this week, or what is in the way
        days = set(heavy_taper_days(problem, _race_of(term))[0])
        heavy = diagnosis.attempts(
            index, SessionKind.strength, True, wanted=lambda c: c.day in days
        )
        _explain_with(diagnosis, entry, heavy, ok_text="a heavy session was free")
        return
    if term.startswith("T4") and "is light" in violation.message and session is not None:
        # intensity: where a heavy session could go this week, or what is in the way
        heavy = diagnosis.attempts(index, SessionKind.strength, True, leave_out=session)
        _explain_with(diagnosis, entry, heavy, ok_text="a heavy session was free", session=session)
        return
    if term.startswith(("T3", "T4")):
        entry.suggestion = "fewer sets in this session"
        entry.detail += "; the session's content, not its time, sets its volume"
        return
    if term.startswith("S4 changed") and session is not None:
        _explain_flip(diagnosis, entry, session)
        return
    if term.startswith("S4 moved") and session is not None:
        _explain_moved(diagnosis, entry, session)
        return
    if session is None:
        if term.startswith("S4"):
            entry.detail += "; a change elsewhere in the plan needed its place"
        return
    kind, heavy = session.kind, session.heavy
    avoid = diagnosis.attempts(
        index,
        kind,
        heavy,
        leave_out=session,
        wanted=lambda slot: _avoids(diagnosis, violation, slot, session, index),
    )
    _explain_with(
        diagnosis, entry, avoid, ok_text="a time without this cost was free", session=session
    )


def _explain_flip(diagnosis: Diagnosis, entry: Broken, session: Session) -> None:
    """S4 changed: the session kept its time but not its variant. The published variant is
    tried at that time: a hard rule in the way, or the week's targets and preferences."""
    problem = diagnosis.problem
    was = not session.heavy
    day = problem.local_day(session.start)
    slot = diagnosis.slot(
        session.kind, utc(session.start), was, diagnosis.content.strength(day, was)
    )
    tried = diagnosis.attempt(slot, leave_out=session) if slot is not None else None
    if tried is None or not tried.breaches:
        entry.detail += (
            f"; the {'heavy' if was else 'light'} session was free at that time but the plan "
            "traded it against its targets and preferences"
        )
        return
    _tell(diagnosis, entry, tried)


def _tell(diagnosis: Diagnosis, entry: Broken, tried: Attempt, lead: str = "") -> Suggestion | None:
    """The try's rules in the way, its account ("tried ...", or after `lead`) and suggestion
    (returned too: the settings it moves), and the ride behind it where the entry names none."""
    entry.blocked_by = sorted(set(tried.rules), key=_rule_order)
    text, suggestion, ride = diagnosis.describe(tried)
    entry.detail += f"; {lead}{text.removeprefix('tried ') if lead else text}"
    entry.suggestion = suggestion.text if suggestion is not None else ""
    if entry.ride is None and ride is not None:
        entry.ride = ride_of(ride, diagnosis.problem)
    return suggestion


def _explain_moved(diagnosis: Diagnosis, entry: Broken, session: Session) -> None:
    """S4 moved: a published session that is not at its time any more. The session is tried
    at that time as published: what is in the way now (a ride moved onto it, say), or the
    preferences that kept it elsewhere. ("no other time in the week was tried" read as a
    failure where the calendar had changed: a new user's trial.)"""
    problem = diagnosis.problem
    day = problem.local_day(session.start)
    built = (
        diagnosis.content.strength(day, session.heavy)
        if session.kind == SessionKind.strength
        else diagnosis.content.mobility(day)
    )
    slot = diagnosis.slot(session.kind, utc(session.start), session.heavy, built)
    # the session itself, where it went that day, is not in its own way (an H7 gap of 0 h
    # "from the strength session" 45 minutes earlier was the moved session: a new user's trial)
    moved = min(
        (
            s
            for s in diagnosis.sessions
            if s.kind == session.kind and problem.local_day(s.start) == day
        ),
        key=lambda s: abs(s.start.timestamp() - session.start.timestamp()),
        default=None,
    )
    tried = diagnosis.attempt(slot, leave_out=moved) if slot is not None else None
    if tried is None:
        entry.detail += "; the session as published cannot be made any more (its content is gone)"
        return
    if not tried.breaches:
        traded = _traded(diagnosis, slot, None).removeprefix("kept it: ")
        if traded.startswith("traded"):
            traded = f"the plan {traded}"  # where no preference prices it: say who traded
        entry.detail += f"; its time was still free, but {traded}"
        return
    _tell(diagnosis, entry, tried, lead="at its published time now: ")


def _avoids(
    diagnosis: Diagnosis, violation: Violation, slot: Candidate, session: Session, index: int
) -> bool:
    """Whether moving the session to `slot` would not pay the same kind of term."""
    problem = diagnosis.problem
    name = violation.rule
    if name == "S3":
        # bunched: the moved session keeps S3's own spacing from the week's other strength days
        # (the session's own day is no move at all)
        here = problem.local_day(session.start)
        spacing = min_spacing_days(problem, index)
        others = diagnosis.strength_days_besides(session)
        return slot.day != here and all(abs((slot.day - d).days) >= spacing for d in others)
    if name == "T2":
        return not_after_ride(problem, slot) is None
    rule = diagnosis.soft.get(name)
    if isinstance(rule, SlotPreference):
        return not diagnosis.priced(rule, slot)
    return False


def _traded(diagnosis: Diagnosis, slot: Candidate, session: Session | None) -> str:
    """What the free time would have cost instead, as far as the per-session terms tell."""
    costs = _costs(diagnosis, slot, session)
    if not costs:
        return "traded it against its other targets and preferences"
    return f"kept it: there it would pay {', '.join(costs)}"


def _costs(diagnosis: Diagnosis, slot: Candidate, session: Session | None) -> list[str]:
    """The per-session terms a time would pay: the preferences that price it, and S4 where the
    session is published where it is."""
    problem = diagnosis.problem
    costs = [
        f"{name} ({rule.title})"
        for name, rule in sorted(diagnosis.soft.items())
        if isinstance(rule, SlotPreference)
        and rule.judges(slot.kind, slot.heavy)
        and diagnosis.priced(rule, slot)
    ]
    if (
        session is not None
        and "S4" in diagnosis.soft
        and (session.kind, utc(session.start), session.heavy) in problem.published
    ):
        costs.append("S4 (it is published at its time)")
    return costs


def _with_safety_note(suggestion: Suggestion | None) -> Suggestion | None:
    """The suggestion, saying so where it loosens a safety margin (SAFETY_SETTINGS)."""
    if suggestion is None or not _safety_settings_in(suggestion):
        return suggestion
    return Suggestion(suggestion.text + SAFETY_NOTE, suggestion.changes)


def _together(attempt: Attempt, rule: str, suggestion: Suggestion | None) -> Suggestion | None:
    """The change that makes room at a time more than one rule blocks: each rule's own, all
    of them (a window on Sunday evening was suggested where H7 and H9 blocked the time as
    well: the coach would add it and nothing would change; a coach's review)."""
    parts = [suggestion] if suggestion else []
    unsaid = [] if suggestion else [rule]
    for other in sorted({b.rule for b in attempt.breaches} - {rule}, key=_rule_order):
        said = next(
            (b.suggestion for b in attempt.breaches if b.rule == other and b.suggestion), None
        )
        if said:
            parts.append(said)
        else:
            unsaid.append(other)
    if not parts:
        return None
    said = "; ".join(_with_safety_note(part).text for part in parts)  # type: ignore[union-attr]
    tail = f", and {', '.join(unsaid)} out of the way" if unsaid else ""
    return Suggestion(
        f"all of: {said}{tail} (one alone makes no room at this time)",
        tuple(change for part in parts for change in part.changes),
    )


def _race_of(term: str) -> date:
    """The race day a per-race term names ("T4 taper_heavy[2027-05-28]")."""
    return date.fromisoformat(term.split("[", 1)[1].rstrip("]"))


def _explain_with(
    diagnosis: Diagnosis,
    entry: Broken,
    tries: list[Attempt],
    ok_text: str,
    session: Session | None = None,
) -> None:
    free = [t for t in tries if not t.breaches]
    if free:
        # a free time that pays nothing of its own first: "would pay S5 there" beside "move it
        # there" read as a contradiction (a trial)
        ordered = sorted(free, key=lambda t: t.slot.start.timestamp())
        first, paid = ordered[0], _costs(diagnosis, ordered[0].slot, session)
        for other in ordered[1:] if paid else ():  # the earliest that pays nothing, if any
            if not _costs(diagnosis, other.slot, session):
                first, paid = other, []
                break
        at = local(first.slot.start, diagnosis.problem.zone)
        entry.detail += f"; {ok_text} ({at}) but the plan {_traded(diagnosis, first.slot, session)}"
        # said as the trade it is where that time pays a term of its own
        instead = f", paying {', '.join(c.split(' (')[0] for c in paid)} there instead"
        entry.suggestion = entry.suggestion or f"move it to {at}{instead if paid else ''}"
        return
    best = diagnosis.closest(tries)
    if best is None:
        entry.detail += _none_tried(diagnosis.problem, session)
        return
    suggestion = _tell(diagnosis, entry, best)
    entry.blocked_by = in_the_way(tries)  # the few rules that block every try, not one try's
    loosened = _safety_settings_in(suggestion) if suggestion is not None else []
    if entry.rule.startswith("S") and loosened:
        # a preference (the spread of the week, a time of day) is no reason to give up a
        # margin kept for the knees and back: heavy work 25 h before a long ride was offered
        # to spread the week better (a coach's review)
        entry.detail += (
            f"; only loosening a safety margin ({', '.join(loosened)}) would avoid it, which a "
            "preference does not warrant: the plan takes this cost"
        )
        entry.suggestion = ""


def _safety_settings_in(suggestion: Suggestion) -> list[str]:
    """The safety settings (SAFETY_SETTINGS) a suggestion changes ("all of: ..." included)."""
    return sorted({name for name, _ in suggestion.changes} & SAFETY_SETTINGS)


def _none_tried(problem: Problem, session: Session | None) -> str:
    """Why no other time was tried: a re-plan late in the week leaves none of it ahead (the
    past is no place to make room in)."""
    now = problem.now
    week = problem.week_of(problem.local_day(session.start)) if session is not None else None
    if now is not None and week is not None and problem.local_day(now) >= week.end:
        # a week long gone: "it came late in the week" read of a week a month before the
        # re-plan (a coach's review)
        return (
            f"; the week was over when the plan was re-made ({local(now, problem.zone)}): "
            "what it held stands"
        )
    if now is not None and week is not None and problem.local_day(now) > week.start:
        return (
            f"; no time left in the week after the plan was made ({local(now, problem.zone)}) "
            "avoids this: it came late in the week"
        )
    return "; no other time in the week was tried"


def late_reason(problem: Problem, monday: date, kind: SessionKind) -> str:
    """Why a week that had begun when the plan was made (or re-made) misses its target: the
    sessions of the kind reported as not done, then how much of the week was left. A re-plan
    weeks later said of every past week 'the plan was made on <today>: too little of the week
    was left', hiding the skipped sessions (a new user's trial)."""
    now = problem.now
    assert now is not None
    end = monday + timedelta(days=7)
    skipped = sorted(
        (
            s
            for s in problem.previous
            if s.kind == kind
            and problem.was_skipped(s)
            and monday <= problem.local_day(s.start) < end
        ),
        key=lambda s: s.start,
    )
    parts = []
    if skipped:
        times = ", ".join(local(s.start, problem.zone) for s in skipped)
        parts.append(
            f"{len(skipped)} {kind.value} session{'s' if len(skipped) > 1 else ''} of the week "
            f"reported not done ({times})"
        )
    made = local(now, problem.zone)
    over = problem.local_day(now) >= end
    if skipped:
        # the skips are the reason; the plan's timing only says why none was made up (a
        # trial read 'the week was over when the plan was made' as the plan causing the miss)
        them = "them" if len(skipped) > 1 else "it"
        parts.append(
            f"the week was over by the re-plan of {made}: too late to make {them} up"
            if over
            else f"the re-plan of {made} left too little of the week to make {them} up"
        )
    elif over:
        parts.append(f"the week was over when the plan was made ({made})")
    else:
        parts.append(f"the plan was made on {made}: too little of the week was left for it")
    return "; ".join(parts)


def explain_target(
    diagnosis: Diagnosis,
    entry: Broken,
    index: int,
    kind: SessionKind,
    heavy: bool,
    core: list[str],
) -> None:
    """A missed weekly target: the closest try among those the CP-SAT core names."""
    tries = diagnosis.attempts(index, kind, heavy)
    entry.blocked_by = list(core)
    if core:
        # the core's rules lead each try's account: a rule it leaves out (H7's gap to one of
        # the plan's own sessions, say) is one the solver could get round by moving that
        # session, so a change to it would make no room
        tries = [
            Attempt(t.slot, sorted(t.breaches, key=lambda b: b.rule not in core)) for t in tries
        ]
    best = diagnosis.closest(tries, within=set(core))
    if best is None:
        if any(not t.breaches for t in tries):
            entry.detail += "; free times remained: it was traded against other weeks"
        return
    if core and any(b.rule in core for b in best.breaches):
        # only the core's rules: one it leaves out is movable, and naming it ("also H7" beside
        # "in the way: H6, H9", a coach's review) or its change would make no room
        best = Attempt(best.slot, [b for b in best.breaches if b.rule in core])
    _tell(diagnosis, entry, best)
    if core:
        entry.blocked_by = list(core)


def in_the_way(tries: list[Attempt]) -> list[str]:
    """A small set of hard rules that together block every time tried (greedy: the rule that
    blocks the most tries first), so the coach sees the few that matter, not every rule."""
    remaining = [set(t.rules) for t in tries if t.breaches]
    chosen: list[str] = []
    while remaining:
        counts = Counter(rule for rules in remaining for rule in rules)
        top = min(counts, key=lambda rule: (-counts[rule], _rule_order(rule)))
        chosen.append(top)
        remaining = [rules for rules in remaining if top not in rules]
    return sorted(chosen, key=_rule_order)


def _rule_order(name: str) -> tuple[str, int]:
    return (name[0], int(name[1:]))
