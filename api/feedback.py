"""The adaptive loop: session feedback, pain check-ins, progression and red-flag clearance.

Each write moves the progression state through planner.progression, then re-plans the
future with the S4 stability preference, and answers what changed in the plan and why.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_201_CREATED
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from sqlalchemy import select

from api import clock
from api.bodies import StrictBody
from api.convert import athlete_from_row, progression_of, session_from_row
from api.db import AthleteRow, FeedbackRow, RideRow
from api.errors import JSON_BODY, OWNED, Conflict, invalid
from api.plans import not_done, replan, withdraw_after_failure
from api.repository import CoachData
from api.settings import Settings
from planner.calendar_out import NOT_DONE_NOTE
from planner.content import prescribed_load
from planner.domain import (
    Athlete,
    AwareDatetime,
    PainFlag,
    PainKind,
    PainReport,
    PainTiming,
    Pattern,
    Prescription,
    ProgressionState,
    Region,
    RegionStatus,
    Session,
    SessionKind,
    Text,
    Zone,
    last_day,
    region_words,
)
from planner.errors import PlannerFailure, PlannerInputError
from planner.library import Library, load_library
from planner.progression import (
    DEADLIFT_ID,
    GATE_DAYS_LOGGED,
    GATE_GREEN_AT_RDL,
    GATE_RED_DAYS,
    GATE_REGIONS,
    ExerciseLog,
    SessionFeedback,
    apply_checkin,
    apply_feedback,
    apply_missed_training,
    approve,
    clear,
    lighter_doses,
    target_dose,
)

CLINICIAN = (
    "Red flag on {regions}: strength loading there is stopped until a coach clears it. "
    "Refer the athlete to a clinician (doctor or physiotherapist). Coaching guidance, not medical advice."
)
CLINICIAN_OTHER = (
    "Red flag on {regions}: the planner cannot tell which exercises load pain outside the "
    "knee, low back, hamstring and hip, so all strength work is stopped until a coach clears "
    "it. Refer the athlete to a clinician (doctor or physiotherapist). Coaching guidance, not "
    "medical advice."
)


def clinician_advice(state: ProgressionState) -> list[str]:
    flagged = sorted(r.value for r in state.flagged_regions())
    if not flagged:
        return []
    text = CLINICIAN_OTHER if state.suspends_all_strength() else CLINICIAN
    return [text.format(regions=", ".join(flagged))]


class PainIn(BaseModel):
    region: Region
    score: int = Field(ge=0, le=10)
    timing: PainTiming
    flags: list[PainFlag] = Field(default_factory=list)
    kind: PainKind = Field(
        PainKind.pain,
        description="'pain' (default) or 'soreness': muscle ache that eases once warm; "
        "soreness moves no level unless it is 6 or more two mornings running",
    )


MAX_SETS = 20  # sets one logged exercise may give


class ExerciseIn(BaseModel):
    exercise_id: Text = Field(max_length=100)
    sets: int = Field(ge=0, le=MAX_SETS)
    reps: int | None = Field(None, ge=0, le=300)
    load_kg: float | None = Field(None, ge=0, le=500)
    rpe: int | None = Field(
        None, ge=1, le=10, description="Effort of the exercise's sets (RPE 1-10); 9-10 holds"
    )


MAX_LOGGED = 30  # exercises one report counts (a session holds 5-7)


class LeftOut(BaseModel):
    """A logged exercise entry that did not validate, kept as why it was left out, and the sets
    it gave where they read as a count (work done needs its rest: api.plans.not_done); the
    exercise and the fields that failed, for the athlete's page to word (never stored)."""

    left_out: str
    sets: int | None = None
    exercise_id: str | None = Field(None, exclude=True)
    fields: list[str] = Field(default_factory=list, exclude=True)


# what a report without a readable `completed` or `rpe` still does, in the answer's not_counted
COMPLETED_UNREAD = (
    "the pain is recorded with the session; its exercises are not counted and it is not marked "
    "done or missed until feedback with completed (true or false) is sent for it"
)
RPE_UNREAD = "an effort that cannot be read earns no step up: the levels hold"
AT_UNREAD = "the report is dated by the session's end (or now, while it is under way)"
# the effort an unreadable RPE counts as (planner.progression: 9-10 holds)
RPE_HOLD = 10


_MOMENT = TypeAdapter(AwareDatetime)


@dataclass(frozen=True)
class _Unread:
    """A `completed` or `rpe` that could not be read, with why (FeedbackIn, until validated)."""

    why: str


class FeedbackIn(BaseModel):
    completed: bool | None = Field(
        None,
        validate_default=True,
        description="Whether the session was done. Needed to count it: a report without it (or "
        "with one that cannot be read) is taken for its pain only, and says so in not_counted",
    )
    rpe: int | None = Field(
        None,
        ge=1,
        le=10,
        description="Effort of the session (RPE 1-10). One that cannot be read is named in "
        "not_counted and holds the levels",
    )
    pain: list[PainIn] = Field(default_factory=list, max_length=20)
    flags: list[PainFlag] = Field(default_factory=list)
    exercises: list[ExerciseIn | LeftOut] = Field(
        default_factory=list,
        max_length=200,
        description=f"At most {MAX_LOGGED} are counted. An entry that does not validate (a load "
        "written as text, 25 sets) is left out and named in the answer's not_counted: it never "
        "turns the report's pain away",
    )
    at: AwareDatetime | None = None
    # set by _named, never by a client (private: in no schema, in no stored body): each field
    # not read, with why
    _unread: list[tuple[str, str]] = PrivateAttr(default_factory=list)

    @property
    def unread(self) -> list[str]:
        """What of the report was not read, and what the report counts for without it."""
        then = {"completed": COMPLETED_UNREAD, "rpe": RPE_UNREAD, "at": AT_UNREAD}
        return [f"{key}: {why}; {then[key]}" for key, why in self._unread]

    @property
    def rpe_unread(self) -> bool:
        return any(key == "rpe" for key, _ in self._unread)

    def refuse_unread_without_pain(self) -> None:
        """422 naming each field not read, where the report has no pain or flag to keep: the
        slip is then all there is to say (with pain, the pain is taken and the slip named)."""
        if self._unread and not (self.pain or self.flags):
            extra = [{"key": key, "message": why} for key, why in self._unread]
            detail = "; ".join(f"{key}: {why}" for key, why in self._unread)
            raise invalid(f"invalid input: {detail}", extra)

    def leave_out(self, key: str, why: str) -> None:
        """A field found unusable after validation (an `at` before the session): named in
        not_counted like one that could not be read; the stored report holds none of it."""
        self._unread.append((key, why))
        setattr(self, key, None)

    @field_validator("completed", "rpe", "at", mode="wrap")
    @classmethod
    def _unreadable_left_out(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """A `completed`, `rpe` or `at` that is missing or cannot be read (a string, an RPE of
        11, a time without its offset) is left out, as a logged exercise is (validated in the
        body's own mode): a pain report is never turned away for a reason unrelated to the
        pain. `_named` says what it counts for."""
        if value is None:
            return _Unread("needed (true or false)") if info.field_name == "completed" else None
        try:
            if info.field_name == "at" and isinstance(value, str) and info.mode == "json":
                # the wrapped handler sees the decoded text in Python's strict mode, where
                # text is no datetime: read it as the JSON string it was
                return _MOMENT.validate_json(json.dumps(value), strict=True)
            return handler(value)
        except ValidationError as exc:
            return _Unread("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))

    @field_validator("pain", "flags", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any) -> Any:
        # null from a client with nothing to say means none (a hostile-input trial: a knee
        # 8/10 was refused for `"flags": null`, and no red flag raised), also as an entry
        if value is None:
            return []
        return [item for item in value if item is not None] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _named(self) -> FeedbackIn:
        unread: list[tuple[str, str]] = []
        for key in ("completed", "rpe", "at"):
            value = getattr(self, key)
            if isinstance(value, _Unread):
                unread.append((key, value.why))
                setattr(self, key, None)
        self._unread = unread
        return self

    @field_validator("exercises", mode="before")
    @classmethod
    def _take_what_validates(cls, value: Any, info: ValidationInfo) -> Any:
        """Each logged exercise validated on its own, as the body is (strict JSON from the API,
        a form's values from the pages): one that fails stands as a LeftOut with why, so a slip
        in a load or a count never costs the report its pain."""
        if value is None:
            return []  # nothing logged
        if not isinstance(value, list):
            # not a list of entries at all: nothing is counted, and the answer says why
            why = f"exercises: a list of logged exercises, not {_kind(value)}"
            return [_left_out(why, [], None)]
        as_json = info.mode == "json"
        return [
            item
            if (found := _exercise_error(index, item, as_json)) is None
            else _left_out(*found, item)
            for index, item in enumerate(value)
        ]

    def logged(self) -> tuple[list[ExerciseIn], list[str]]:
        """The exercise entries taken, and why each other one was left out."""
        taken = [e for e in self.exercises if isinstance(e, ExerciseIn)]
        return taken, [e.left_out for e in self.exercises if isinstance(e, LeftOut)]


def _kind(value: Any) -> str:
    return {dict: "an object", str: "text", bool: "true or false"}.get(type(value), "a number")


def _left_out(why: str, fields: list[str], item: Any) -> dict[str, Any]:
    sets = item.get("sets") if isinstance(item, dict) else None
    readable = isinstance(sets, int) and not isinstance(sets, bool) and 0 <= sets <= MAX_SETS
    name = item.get("exercise_id") if isinstance(item, dict) else None
    return {
        "left_out": why,
        "sets": sets if readable else None,
        "exercise_id": name if isinstance(name, str) else None,
        "fields": fields,
    }


def _exercise_error(index: int, item: Any, as_json: bool = True) -> tuple[str, list[str]] | None:
    """Why a logged exercise entry is left out, and the fields that failed; None when it
    validates."""
    name = item.get("exercise_id") if isinstance(item, dict) else None
    # the id as sent, printable only (a NUL would not store)
    shown = "".join(c for c in name[:100] if c.isprintable()) if isinstance(name, str) else ""
    label = f"{shown} (exercises.{index})" if shown else f"exercises.{index}"
    if index >= MAX_LOGGED:
        return f"{label}: more than {MAX_LOGGED} exercises logged; not counted", []
    try:
        if as_json:
            ExerciseIn.model_validate_json(json.dumps(item), strict=True)
        else:
            ExerciseIn.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
        )
        fields = [str(e["loc"][0]) for e in exc.errors() if e["loc"]]
        return f"{label}: {problems}; not counted", fields
    except (TypeError, ValueError):  # not JSON-encodable as sent (a 5,000-digit number)
        return f"{label}: not a readable entry; not counted", []
    return None


class CheckinIn(PainIn):
    at: AwareDatetime | None = None


class AlreadyLogged(HTTPException):
    """The session has its report already (a 409): the pages answer it in their own words."""


def _said(note: str, what: str) -> str:
    """A sign-off's note with its blanks cut: blank, it records nobody's word (a new user's
    trial cleared a red flag with three spaces)."""
    note = note.strip()
    # a letter or a digit: zero-width spaces, a full stop or a bell are not a word either
    if not any(character.isalnum() for character in note):
        raise ValueError(f"a note is needed: {what}")
    return note


class ApprovalIn(StrictBody):
    exercise_id: Literal["romanian_deadlift", "deadlift"] = Field(
        description="The first barbell hinge the coach signs off"
    )
    note: Text = Field(min_length=1, max_length=2000)

    @field_validator("note")
    @classmethod
    def _note_said(cls, note: str) -> str:
        return _said(note, "what the coach saw (the technique, the lift at what load)")


class ApprovalOut(BaseModel):
    exercise_id: str
    at: datetime
    note: str


class ClearanceIn(StrictBody):
    region: Region
    note: Text = Field(min_length=1, max_length=2000)

    @field_validator("note")
    @classmethod
    def _note_said(cls, note: str) -> str:
        return _said(note, "who saw the athlete, and what they said")


class ChangeOut(BaseModel):
    pattern: str
    from_level: int
    to_level: int
    from_load_kg: float | None
    to_load_kg: float | None
    rule: str
    reason: str
    at: datetime


class AdaptOut(BaseModel):
    progression_changes: list[ChangeOut]
    plan_changes: list[str]
    sessions_changed: int
    needs_clearance: list[str]
    advice: list[str]
    # logged exercises the engine did not count, each with why (an id the library does not
    # know, or an exercise the session did not hold): stored with the report, never refused
    not_counted: list[str] = Field(default_factory=list)
    # exercises logged at the top of their range whose step did not come, each with why (a
    # region not green, RPE over 8, one step a week): no level moved, so no change says it
    held: list[str] = Field(default_factory=list)


class PatternOut(BaseModel):
    pattern: str
    level: int
    exercise_id: str | None
    exercise: str | None
    dosage: str | None
    load_kg: float | None
    # True while a red flag stops this pattern (or its current exercise): not in the plan now
    suspended: bool = False
    # the next rung's exercise, earned and waiting for a coach's sign-off (POST .../approvals)
    awaiting_approval: str | None = None
    # red on the easiest rung (nothing to step down to): its sets are halved before this day
    reduced_until: date | None = None
    history: list[ChangeOut]


class ProgressionOut(BaseModel):
    patterns: list[PatternOut]
    regions: dict[str, dict[str, Any]]
    exposures: list[str]
    # lifts in their build-up (the Nordic: 2 x 5, once a week) -> sessions with it logged
    build_up: dict[str, int] = Field(default_factory=dict)
    needs_clearance: bool
    approvals: list[ApprovalOut] = Field(default_factory=list)
    # exercise ids whose first step waits for a coach's sign-off
    awaiting_approval: list[str] = Field(default_factory=list)
    loads: dict[str, float] = Field(default_factory=dict)
    # low-grade pain on 7 days running: the coach should review (no level moved)
    review: list[str] = Field(default_factory=list)


def _changes_out(changes: list[Any]) -> list[ChangeOut]:
    return [
        ChangeOut(
            pattern=c.pattern.value,
            from_level=c.from_level,
            to_level=c.to_level,
            from_load_kg=c.from_load_kg,
            to_load_kg=c.to_load_kg,
            rule=c.rule,
            reason=c.reason,
            at=c.at,
        )
        for c in changes
    ]


def slot_of(item: Prescription) -> str:
    """Where an exercise sits in its session: its pattern, or for a mobility hold the hold."""
    return item.exercise_id if item.pattern == Pattern.mobility else item.pattern.value


def slot_changes(
    was: Session, now: Session
) -> Iterator[tuple[Prescription | None, Prescription | None]]:
    """(before, after) for each slot of a session that changed, in the new session's order,
    then the slots it lost: (None, p) added, (p, q) another exercise or dose, (p, None) gone.

    A strength session holds one exercise per pattern (a swap is its exercise changing); a
    mobility session holds several holds of pattern `mobility`: each is its own slot."""
    before = {slot_of(p): p for p in was.prescriptions}
    after = {slot_of(p): p for p in now.prescriptions}
    for slot, item in after.items():
        previous = before.get(slot)
        if (
            previous is None
            or previous.name != item.name
            or previous.dose() != item.dose()
            or previous.load_hint != item.load_hint
        ):
            yield previous, item
    for slot, item in before.items():
        if slot not in after:
            yield item, None


def dose_words(item: Prescription, other: Prescription) -> str:
    """An exercise's dose, with its load where the load is what differs from `other` (a step
    of load keeps the sets and reps: "3 x 8-12 reps, 14 kg")."""
    if item.load_hint == other.load_hint:
        return item.dose()
    if item.dose() == other.dose():
        return item.load_hint
    return f"{item.dose()}, {item.load_hint}"


def describe_plan_changes(
    before: list[Session],
    after: list[Session],
    why: str,
    by_pattern: dict[Pattern, str] | None = None,
    logged: dict[Pattern, str] | None = None,
    stepped_up: set[Pattern] | None = None,
) -> list[str]:
    """Sentences a coach can pass on: swaps counted over sessions, moves, drops and additions.

    A line about one pattern's exercise gives that pattern's reason (`by_pattern`: the level
    change behind it) where it has one, else `why` (the report itself): a knee's step down is
    no reason for the hinge's swap."""
    old = {s.uid: s for s in before}
    new = {s.uid: s for s in after}
    reasons = by_pattern or {}
    # (was, now, pattern, down): `down` when the new exercise is a lower rung
    swaps: Counter[tuple[str, str, Pattern, bool]] = Counter()
    dropped: Counter[tuple[str, Pattern]] = Counter()
    returned: Counter[tuple[str, Pattern]] = Counter()
    # the same exercise at another dose (a red on the easiest rung halves its sets)
    dosed: Counter[tuple[str, str, str, Pattern]] = Counter()
    notes_changed = 0
    moved = 0
    for uid, now in new.items():
        was = old.get(uid)
        if was is None:
            continue
        if was.start != now.start:
            moved += 1
        for gone, kept in slot_changes(was, now):
            if gone is None:
                returned[(kept.name, kept.pattern)] += 1  # type: ignore[union-attr]
            elif kept is None:
                dropped[(gone.name, gone.pattern)] += 1
            elif kept.name != gone.name:
                swaps[(gone.name, kept.name, gone.pattern, kept.level < gone.level)] += 1
            else:
                dosed[
                    (kept.name, dose_words(gone, kept), dose_words(kept, gone), kept.pattern)
                ] += 1
        if was.notes != now.notes:
            notes_changed += 1

    def because(pattern: Pattern, dose: bool = False) -> str:
        # a dose line of a pattern with no step of its own: the load its log set ("12 kg
        # logged"), not another pattern's step (a coach's review read "at 12 kg instead of
        # 14 kg: Bird dog at the top of its range")
        own = (logged or {}).get(pattern) if dose else None
        reason = reasons.get(pattern, own or why)
        return f": {reason}" if reason else ""

    def sessions(n: int) -> str:
        return f"{n} session{'s' if n > 1 else ''}"

    def swapped(pattern: Pattern, down: bool) -> str:
        # a lower rung is never the doing of the pattern's step up: "replaced by the kickstand
        # RDL: Romanian deadlift at the top of its range" read as a progression taking load
        # away (a coach's review); the re-plan made those sessions lighter for its own reasons
        if down and pattern in (stepped_up or set()):
            return ": the re-plan made these sessions lighter (the week's report says why)"
        return because(pattern)

    lines = [
        f"{a} replaced by {b} in {sessions(n)}{swapped(pattern, down)}"
        for (a, b, pattern, down), n in sorted(swaps.items())
    ]
    lines += [
        f"{name} removed from {sessions(n)}{because(pattern)}"
        for (name, pattern), n in sorted(dropped.items())
    ]
    lines += [
        f"{name} added to {sessions(n)}{because(pattern)}"
        for (name, pattern), n in sorted(returned.items())
    ]
    lines += [
        f"{name} at {dose} instead of {was} in {sessions(n)}{because(pattern, dose=True)}"
        for (name, was, dose, pattern), n in sorted(dosed.items())
    ]
    if notes_changed:
        # e.g. a red flag's "see a clinician" note in every session, beside the exercises removed
        lines.append(f"advice in {notes_changed} session{'s' if notes_changed > 1 else ''} updated")
    # moves, removals and additions one by one while they are few (a skipped session's work
    # put elsewhere: which day it went to), counted when a re-plan moved many
    shifted = sorted(
        ((old[uid], s) for uid, s in new.items() if uid in old and old[uid].start != s.start),
        key=lambda pair: pair[1].start,
    )
    removed = sorted((s for uid, s in old.items() if uid not in new), key=lambda s: s.start)
    added = sorted((s for uid, s in new.items() if uid not in old), key=lambda s: s.start)
    if len(shifted) + len(removed) + len(added) <= NAMED_MOVES:
        lines += [
            f"{was.kind.value} of {_at(was.start)} moved to {_at(now.start)}"
            for was, now in shifted
        ]
        lines += [f"{s.kind.value} of {_at(s.start)} removed" for s in removed]
        lines += [f"{s.kind.value} added on {_at(s.start)}" for s in added]
    else:
        for count, what in ((moved, "moved in time"), (len(removed), "removed")):
            if count:
                lines.append(f"{count} session{'s' if count > 1 else ''} {what}")
        if added:
            lines.append(f"{len(added)} session{'s' if len(added) > 1 else ''} added")
    return lines or ["no change to the planned sessions"]


# moves, removals and additions named one by one up to this many in all (else counted)
NAMED_MOVES = 6


def _at(moment: datetime) -> str:
    """A session's start as the athlete reads it (sessions carry the athlete's zone)."""
    return f"{moment:%a} {moment.day} {moment:%b} {moment:%H:%M}"


def reported(pain: list[PainIn], flags: list[PainFlag]) -> str:
    """The athlete's words back: "knee pain 6/10 after; flags: numbness"."""
    parts = [
        # a warning sign ticked with no score is no "pain 0/10" (a trial)
        f"a warning sign at the {p.region.value.replace('_', ' ')} "
        f"{p.timing.value.replace('_', ' ')}"
        if p.score == 0 and (p.flags or flags)
        else f"{p.region.value.replace('_', ' ')} {p.kind.value} {p.score}/10 "
        f"{p.timing.value.replace('_', ' ')}"
        for p in pain
    ]
    # a flag sent on a region and on the session is one flag ("night pain, night_pain")
    every_flag = sorted(
        {f.value.replace("_", " ") for p in pain for f in p.flags}
        | {f.value.replace("_", " ") for f in flags}
    )
    if every_flag:
        parts.append("flags: " + ", ".join(every_flag))
    return "; ".join(parts)


def rides_without_overlaps(rows: list[RideRow]) -> list[RideRow]:
    """The stored rides less each one that overlaps an earlier one (by start).

    Only for taking work out of a published plan when the re-plan was refused for overlapping
    rides: the planner's checks need rides that do not overlap, and what the withdrawal keeps
    is checked against these. The coach is told to fix the rides and re-plan.
    """
    kept: list[RideRow] = []
    for row in sorted(rows, key=lambda r: r.start):
        if kept and row.start < kept[-1].start + timedelta(minutes=kept[-1].duration_min):
            continue
        kept.append(row)
    return kept


# feedback rows about a session (one per session); "checkin" rows stand on their own
SESSION_KINDS = ("session", "mobility", "skipped")
# a session's report that did not say whether it was done: its pain counted, and the session's
# own feedback (with `completed`) still taken later
UNSAID = "unsaid"


# clocks of phones and servers differ by a little; more than this ahead is a mistake
CLOCK_SKEW = timedelta(minutes=5)


def check_not_ahead(at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise invalid(
            f"at {at.isoformat()} is in the future (now {now.isoformat()})",
            [{"key": "at", "message": "a report cannot be dated ahead of now"}],
        )


async def adapt(
    data_scope: CoachData,
    settings: Settings,
    athlete: AthleteRow,
    new_state: ProgressionState,
    changes: list[Any],
    reported: str = "",
    logged: dict[Pattern, str] | None = None,
) -> AdaptOut:
    """Store the new progression state, re-plan the future (S4 keeps what is published) and
    say what changed and why. `logged`: the patterns whose load this report's log set, in
    words ("12 kg logged"), the reason of their dose lines where no step of theirs is (not of
    their swaps, removals or additions)."""
    zone = ZoneInfo(athlete.timezone)
    athlete.progression = new_state.model_dump(mode="json")
    flagged = sorted(r.value for r in new_state.flagged_regions())
    athlete.needs_clearance = bool(flagged)
    plan_row = await data_scope.plan(athlete)
    plan_changes: list[str] = []
    changed = 0
    if plan_row is not None:
        now = clock.now()
        before = [
            session_from_row(r, zone) for r in await data_scope.sessions(athlete) if r.start >= now
        ]
        rides = await data_scope.rides(athlete)
        failed: list[str] = []
        try:
            _, rows = await replan(
                data_scope.db, athlete, rides, settings, plan_row.start, plan_row.weeks
            )
        except PlannerFailure as exc:
            # the report is stored whatever the solver does; the calendar still loses
            # what the new pain state forbids, and the coach is asked to re-plan
            rows = await withdraw_after_failure(data_scope.db, athlete, rides, exc)
            failed = [
                f"the plan could not be re-solved ({exc}): sessions stay at their times "
                "with the work the pain state forbids taken out, and levels in the plan "
                "are not stepped yet; re-plan with POST .../plan"
            ]
        except PlannerInputError as exc:
            # stored rides that overlap (an import or a hand-entered ride) must not turn a
            # pain report away: it is kept, loading is withdrawn as after a solver failure
            # (over rides the planner accepts), and the coach is asked to mend the rides
            rows = await withdraw_after_failure(
                data_scope.db, athlete, rides_without_overlaps(rides), exc
            )
            failed = [
                f"the plan could not be re-solved: {exc.message}. Sessions stay at their "
                "times with the work the pain state forbids taken out; fix the rides "
                "(DELETE .../rides/{ride_id} or PUT .../rides) and re-plan with "
                "POST .../plan"
            ]
        after = [session_from_row(r, zone) for r in rows if r.start >= now]
        why = reported or "; ".join(c.reason for c in changes)
        # each pattern's own change explains its swaps (the last, where a report made two)
        by_pattern = {c.pattern: c.reason for c in changes}
        up = {c.pattern for c in changes if c.to_level > c.from_level}
        plan_changes = failed + describe_plan_changes(
            before, after, why, by_pattern, logged, stepped_up=up
        )
        old = {s.uid: s.content_key() for s in before}
        changed = sum(1 for s in after if old.get(s.uid) != s.content_key()) + len(
            set(old) - {s.uid for s in after}
        )
    advice = clinician_advice(new_state) + new_state.review_warnings()
    today = clock.now().astimezone(zone).date()
    advice += new_state.red_warnings(today)
    return AdaptOut(
        progression_changes=_changes_out(changes),
        plan_changes=plan_changes,
        sessions_changed=changed,
        needs_clearance=flagged,
        advice=advice,
    )


async def record_feedback(
    athlete_id: uuid.UUID,
    session_id: str,
    data: FeedbackIn,
    data_scope: CoachData,
    settings: Settings,
) -> AdaptOut:
    """POST .../sessions/{id}/feedback, for the API, the dashboard and the check-in page."""
    data.refuse_unread_without_pain()
    # the athlete row is locked (PostgreSQL) / writes serialized (SQLite) for the whole
    # read-modify-write, so concurrent feedback for one athlete loses nothing
    athlete = await data_scope.athlete(athlete_id, lock=True)
    person = athlete_from_row(athlete)
    zone = ZoneInfo(athlete.timezone)
    session_row = await data_scope.session(athlete, session_id)
    session = session_from_row(session_row, zone)
    library = load_library()
    taken, left_out = data.logged()
    counted, not_counted = counted_exercises(taken, session, library)
    said = data.completed is not None
    if not said:  # only the pain counts (FeedbackIn._unreadable_left_out)
        counted = []
    now = clock.now()
    if session.start > now and (data.pain or data.flags):
        # a pain report is never refused for a reason unrelated to the pain: sent before the
        # session (a wrong link, a pain that came first), its pain goes in as check-ins now
        starts = session.start.astimezone(zone)
        return await _pain_as_checkins(
            data_scope,
            settings,
            athlete,
            person,
            data,
            now,
            session.uid,
            f"session {session_id} has not started (it starts {starts:%a %d %b %H:%M}): this "
            "report's pain is kept as a check-in dated now; whether it was done, its RPE and "
            "its exercises are not counted",
            once=True,
        )
    if session.start > now:
        # logged ahead, it would move the ladder for work not done, and the re-plan could
        # move or drop the very session it is about
        raise HTTPException(
            status_code=409,
            detail=(
                f"session {session_id} starts {session.start.isoformat()}: feedback once it "
                "has started"
            ),
        )
    # feedback is about the session: dated by its end (or now, while it is under way)
    # unless the athlete says otherwise
    at = data.at or min(session.end, now)
    try:
        if at < session.start:
            raise invalid(
                f"at {at.isoformat()} is before the session starts ({session.start.isoformat()})",
                [{"key": "at", "message": "feedback cannot come before its session starts"}],
            )
        check_not_ahead(at, now)
    except HTTPException as exc:
        if not (data.pain or data.flags):
            raise
        # a slip in the date never costs the report its pain
        data.leave_out("at", str(exc.detail).removeprefix("at "))
        at = min(session.end, now)
    logged = await data_scope.db.scalar(
        select(FeedbackRow.at).where(
            FeedbackRow.athlete_id == athlete.id,
            FeedbackRow.session_uid == session.uid,
            FeedbackRow.kind.in_(SESSION_KINDS),
        )
    )
    if logged is not None and (data.pain or data.flags):
        # a pain report is never refused for a reason unrelated to the pain: sent twice (a
        # second tab, a back-and-send), its new pain is kept as check-ins; the rest is not
        # counted again. Pain the session's report already holds (the same form sent again)
        # is not counted twice either: amber twice would read as amber two sessions running
        told = await _pain_told(data_scope, athlete, session.uid)
        fresh = data.model_copy(
            update={
                "pain": [p for p in data.pain if pain_key(p) not in told],
                "flags": [f for f in data.flags if ("flag", f.value) not in told],
            }
        )
        if fresh.pain or fresh.flags:
            first = logged.astimezone(zone)
            return await _pain_as_checkins(
                data_scope,
                settings,
                athlete,
                person,
                fresh,
                at,
                session.uid,
                f"this session already has its feedback (logged for {first:%a %d %b %H:%M}): "
                "this report's pain is kept as a check-in; whether it was done, its RPE and "
                "its exercises are not counted twice",
            )
    if logged is not None:
        # counted twice, one session would count double toward 2-for-2 and the deadlift gate
        raise AlreadyLogged(
            status_code=409,
            detail=(
                f"session {session_id} already has feedback (logged for "
                f"{logged.astimezone(zone).isoformat()}); report later pain with "
                "POST /api/v1/athletes/{id}/pain"
            ),
        )
    state = progression_of(athlete, person)
    first, last_strength = await data_scope.strength_logged(athlete)
    due = None
    if last_strength is not None:
        last_strength, due = await data_scope.missed_training_clock(
            athlete, last_strength, session.start
        )
    state, missed = apply_missed_training(
        state,
        last_strength.astimezone(zone).date() if last_strength else None,
        at.astimezone(zone).date(),
        due=due.astimezone(zone).date() if due is not None else None,
        athlete=person,
    )
    strength = session.kind == SessionKind.strength
    # an unreadable session RPE holds every lift, those logged with their own RPE too
    hold = RPE_HOLD if data.rpe_unread else None
    feedback = SessionFeedback(
        session_uid=session.uid,
        at=at,
        completed=data.completed,
        rpe=hold or data.rpe,
        pain=[PainReport(**p.model_dump(), reported_at=at) for p in data.pain],
        flags=list(data.flags),
        exercises=[
            ExerciseLog(e.exercise_id, e.sets, e.reps, e.load_kg, hold or e.rpe) for e in counted
        ],
        log_sent=bool(data.exercises),
        patterns=sorted(
            {p.pattern for p in session.prescriptions if p.pattern != Pattern.mobility}
        ),
        # what the session held, judged against the library's full dose or the session's own
        # sets where it asked for more (a base-phase 4 x 4-6): "top of the range" is the full
        # range, so a deload or taper session (fewer sets) does not earn it (`lighter`), and
        # three sets of a prescribed four do not earn the step; a session that held a lighter
        # stand-in does not count at the athlete's rung
        prescribed={
            p.exercise_id: target_dose(library.by_id[p.exercise_id], p.sets)
            for p in session.prescriptions
            if p.pattern != Pattern.mobility and p.exercise_id in library.by_id
        },
        lighter=lighter_doses(session.prescriptions, library),
    )
    # the deadlift gate's weeks of logged training start at the first completed strength
    # session (this one, when it is the first or was logged late)
    if data.completed and strength:
        first = min(first, at) if first else at
    held: list[str] = []
    new_state, changes = apply_feedback(
        state,
        feedback,
        person,
        first.astimezone(zone).date() if first else None,
        held=held,
    )
    kind = "session" if strength else "mobility"
    if not said:
        kind = UNSAID  # the session's feedback is still to come: this row holds no place
    elif not data.completed:
        kind = "skipped"
    report = data.model_dump(mode="json")
    if said and not_done(report):
        # it stays in the calendar as history, marked: the re-plan leaves it out (api.plans)
        notes = list(session_row.body.get("notes") or [])
        if NOT_DONE_NOTE not in notes:
            session_row.body = {**session_row.body, "notes": [NOT_DONE_NOTE, *notes]}
            session_row.sequence += 1
            session_row.changed_at = clock.now()
    data_scope.db.add(
        FeedbackRow(
            athlete_id=athlete.id,
            session_uid=session.uid,
            kind=kind,
            at=at,
            body=report,
        )
    )
    loads = {pattern: f"{kg:g} kg logged" for pattern, kg in logged_loads(counted, library).items()}
    answer = await adapt(
        data_scope,
        settings,
        athlete,
        new_state,
        missed + changes,
        reported(data.pain, data.flags),
        loads,
    )
    answer.not_counted = data.unread + left_out + not_counted
    if hold is not None:  # the RPE no one could read holds the levels: say that, not "RPE 10"
        held = [
            line.replace(f"at RPE {RPE_HOLD}, held", "with an RPE that could not be read, held")
            for line in held
        ]
    answer.held = held
    return answer


def counted_exercises(
    logged: list[ExerciseIn], session: Session, library: Library
) -> tuple[list[ExerciseIn], list[str]]:
    """The logged exercises the progression engine counts: those the session held. An id the
    library does not know (a typo, or an exercise since renamed) or an exercise the session did
    not hold is stored with the report but moves no level, load or first exposure (H9): the
    plan progresses on what it prescribed, and a lift it has not yet given (a deadlift before
    the coach's sign-off) is not taken as done. Never a reason to refuse the report's pain."""
    held = {p.exercise_id for p in session.prescriptions}
    counted: list[ExerciseIn] = []
    not_counted: list[str] = []
    for entry in logged:
        if entry.exercise_id not in library.by_id:
            not_counted.append(
                f"{entry.exercise_id}: not an exercise the planner knows (GET /api/v1/exercises "
                "lists them); stored with the report, not counted"
            )
        elif entry.exercise_id not in held:
            not_counted.append(
                f"{entry.exercise_id}: not in this session; stored with the report, not counted "
                "(levels, loads and first exposures move on what the plan prescribed)"
            )
        else:
            counted.append(entry)
    return counted, not_counted


def logged_loads(entries: list[Any], library: Library) -> dict[Pattern, float]:
    """The load each pattern's logged exercise gave (a load of 0 is none), by pattern: the
    reason its lift's next load changed."""
    return {
        library.by_id[e.exercise_id].pattern: e.load_kg
        for e in entries
        if isinstance(e, ExerciseIn)
        and e.load_kg is not None
        and e.load_kg > 0
        and e.exercise_id in library.by_id
    }


def pain_key(entry: PainIn) -> tuple[object, ...]:
    flags = tuple(sorted(f.value for f in entry.flags))
    return (entry.region.value, entry.score, entry.timing.value, entry.kind.value, flags)


async def _pain_told(data_scope: CoachData, athlete: AthleteRow, uid: str) -> set[object]:
    """The pain entries (and session flags) the session's stored reports already hold: its
    feedback, and the check-ins a repeated report left (stored under the session's UID)."""
    told: set[object] = set()
    for row in await data_scope.session_feedback(athlete, uid, checkins=True):
        body = row.body or {}
        entries = [body] if row.kind == "checkin" else body.get("pain") or []
        for entry in entries:
            try:
                told.add(pain_key(PainIn.model_validate(entry)))
            except ValidationError:
                continue
        if row.kind != "checkin":
            told.update(("flag", f) for f in body.get("flags") or [])
    return told


async def _pain_as_checkins(
    data_scope: CoachData,
    settings: Settings,
    athlete: AthleteRow,
    person: Athlete,
    data: FeedbackIn,
    at: datetime,
    uid: str | None,
    why: str,
    *,
    once: bool = False,
) -> AdaptOut:
    """A session report whose pain alone counts (a second report, or one sent before the
    session starts): each pain entry (the report's own flags on every region it names, or on
    `other`) goes in as a check-in at `at`, stored under the session `uid` when given; done,
    RPE and exercises are not counted, and `not_counted` leads with `why`."""
    entries = [p.model_copy(update={"flags": [*p.flags, *data.flags]}) for p in data.pain]
    if not entries:  # flags alone: a warning sign with no region named
        entries = [PainIn(region=Region.other, score=0, timing=PainTiming.after, flags=data.flags)]
    if once and uid is not None:
        # the same report sent again (a retry) adds nothing: its check-ins are stored under
        # the session (a review: a retry stored the pain twice)
        told = await _pain_told(data_scope, athlete, uid)
        entries = [e for e in entries if pain_key(e) not in told]
        if not entries:
            raise HTTPException(
                status_code=409,
                detail="this pain is in already (kept as a check-in): nothing was counted twice",
            )
    state = progression_of(athlete, person)
    changes: list[Any] = []
    for entry in entries:
        # stored under the session it was sent for: the same report sent again adds nothing
        state, made = _take_checkin(
            data_scope, athlete, person, state, CheckinIn(**entry.model_dump(), at=at), at, uid
        )
        changes += made
    answer = await adapt(
        data_scope, settings, athlete, state, changes, reported(entries, data.flags)
    )
    answer.not_counted = [why, *data.unread]
    return answer


def _take_checkin(
    data_scope: CoachData,
    athlete: AthleteRow,
    person: Athlete,
    state: ProgressionState,
    data: CheckinIn,
    at: datetime,
    session_uid: str | None,
) -> tuple[ProgressionState, list[Any]]:
    """One pain score into the state as a check-in at `at`, stored as sent."""
    report = PainReport(**data.model_dump(exclude={"at"}), reported_at=at)
    # the engine takes the check-in's day from `at`: give it in the athlete's zone
    local = at.astimezone(ZoneInfo(athlete.timezone))
    new_state, changes = apply_checkin(state, report, local, athlete=person)
    data_scope.db.add(
        FeedbackRow(
            athlete_id=athlete.id,
            session_uid=session_uid,
            kind="checkin",
            at=at,
            body=data.model_dump(mode="json"),
        )
    )
    return new_state, changes


async def record_checkin(
    athlete_id: uuid.UUID,
    data: CheckinIn,
    data_scope: CoachData,
    settings: Settings,
) -> AdaptOut:
    """POST .../pain: a pain score not tied to a session (the morning check-in)."""
    athlete = await data_scope.athlete(athlete_id, lock=True)
    person = athlete_from_row(athlete)
    at = data.at or clock.now()
    check_not_ahead(at, clock.now())
    new_state, changes = _take_checkin(
        data_scope, athlete, person, progression_of(athlete, person), data, at, None
    )
    return await adapt(
        data_scope, settings, athlete, new_state, changes, reported([data], data.flags)
    )


def _region_today(status: RegionStatus, today: date) -> dict[str, Any]:
    """A region's status as it stands today: a red whose 7 days are over reads green (the
    stored zone stays red until the next report, which the planner no longer acts on), its
    reason saying the red is over."""
    out = status.model_dump(mode="json")
    if (
        status.zone == Zone.red
        and not status.needs_clearance
        and (status.no_heavy_until is None or status.no_heavy_until <= today)
    ):
        out["zone"] = Zone.green.value
        if status.no_heavy_until is not None:
            over = f"red through {last_day(status.no_heavy_until)}, over"
            out["reason"] = f"{status.reason} ({over})" if status.reason else over
    return out


async def progression_report(athlete_id: uuid.UUID, data_scope: CoachData) -> ProgressionOut:
    """GET .../progression: each ladder's rung, load and history."""
    athlete = await data_scope.athlete(athlete_id)
    person = athlete_from_row(athlete)
    state = progression_of(athlete, person)
    today = clock.now().astimezone(ZoneInfo(athlete.timezone)).date()
    library = load_library()
    patterns = []
    blocked = state.blocked_patterns()
    for pattern, pattern_state in state.patterns.items():
        exercise = library.rung(pattern, pattern_state.level, person)
        patterns.append(
            PatternOut(
                pattern=pattern.value,
                level=pattern_state.level,
                suspended=pattern in blocked
                or bool(exercise and set(exercise.regions) & state.flagged_regions()),
                exercise_id=exercise.id if exercise else None,
                exercise=exercise.name if exercise else None,
                dosage=(
                    f"{exercise.sets} x {exercise.reps or f'{exercise.hold_s} s'}"
                    if exercise
                    else None
                ),
                load_kg=prescribed_load(state, person, library, exercise) if exercise else None,
                awaiting_approval=pattern_state.awaiting_approval,
                reduced_until=pattern_state.reduced_until,
                history=_changes_out([c for c in state.history if c.pattern == pattern]),
            )
        )
    return ProgressionOut(
        patterns=patterns,
        regions={r.value: _region_today(s, today) for r, s in state.regions.items()},
        exposures=list(state.exposures),
        build_up={lift: state.build_up.get(lift, 0) for lift in sorted(state.building_up())},
        needs_clearance=bool(state.flagged_regions()),
        approvals=[
            ApprovalOut(exercise_id=exercise_id, at=a.at, note=a.note)
            for exercise_id, a in sorted(state.approvals.items())
        ],
        awaiting_approval=sorted(
            {p.awaiting_approval for p in state.patterns.values() if p.awaiting_approval}
        ),
        loads=dict(sorted(state.loads.items())),
        review=state.review_warnings(),
    )


async def clear_red_flag(
    athlete_id: uuid.UUID,
    data: ClearanceIn,
    data_scope: CoachData,
    settings: Settings,
) -> AdaptOut:
    """POST .../clearance: a coach clears a region's red flag (409 when none waits)."""
    athlete = await data_scope.athlete(athlete_id, lock=True)
    state = progression_of(athlete, athlete_from_row(athlete))
    if data.region not in state.flagged_regions():
        raise HTTPException(
            status_code=409, detail=f"{data.region.value} has no red flag waiting for clearance"
        )
    new_state = clear(
        state, data.region, data.note, clock.now().astimezone(ZoneInfo(athlete.timezone))
    )
    return await adapt(
        data_scope,
        settings,
        athlete,
        new_state,
        [],
        f"{data.region.value} cleared by the coach",
    )


async def approve_exercise(
    athlete_id: uuid.UUID,
    data: ApprovalIn,
    data_scope: CoachData,
    settings: Settings,
) -> AdaptOut:
    """A coach's sign-off for the first barbell Romanian deadlift or deadlift. A pattern
    that earned the step and waits for it moves up at once; otherwise the sign-off stands
    for when the athlete earns it (the deadlift: once its gate opens)."""
    athlete = await data_scope.athlete(athlete_id, lock=True)
    person = athlete_from_row(athlete)
    state = progression_of(athlete, person)
    if data.exercise_id in state.approvals:
        given = state.approvals[data.exercise_id]
        raise HTTPException(
            status_code=409,
            detail=f"{data.exercise_id} was already signed off on "
            f"{given.at.date().isoformat()}: {given.note}",
        )
    new_state, changes = approve(
        state,
        data.exercise_id,
        data.note,
        clock.now().astimezone(ZoneInfo(athlete.timezone)),
        person,
    )
    answer = await adapt(
        data_scope,
        settings,
        athlete,
        new_state,
        changes,
        f"{load_library().by_id[data.exercise_id].name} signed off by the coach",
    )
    if not changes:
        answer.advice.append(_sign_off_waits(data.exercise_id, new_state, person))
    return answer


def _sign_off_waits(exercise_id: str, state: ProgressionState, athlete: Athlete) -> str:
    """A sign-off that moved no level: what was recorded and what the lift still waits for
    (the step to its rung, the equipment, the deadlift's gate, a red flag)."""
    library = load_library()
    exercise = library.by_id[exercise_id]
    reached = library.rung(exercise.pattern, exercise.level, athlete)
    if reached is None or reached.id != exercise.id:
        instead = reached.name if reached is not None else "no exercise"
        waits = (
            f"with the athlete's equipment, level {exercise.level} of the ladder is {instead}, "
            "so it enters no plan until the equipment has a barbell"
        )
    else:
        waits = f"it enters the plan once the athlete earns the step to it (level {exercise.level})"
        if exercise_id == DEADLIFT_ID:
            *most, last = [region_words(r) for r in GATE_REGIONS]
            waits += (
                f" and its gate opens ({GATE_DAYS_LOGGED // 7} weeks of logged training, "
                f"{GATE_GREEN_AT_RDL} green sessions in a row at the Romanian deadlift, no red "
                f"in {GATE_RED_DAYS} days for {', '.join(most)} or {last})"
            )
    if exercise.pattern in state.blocked_patterns():
        waits += f"; {exercise.pattern.value} is stopped by a red flag until a coach clears it"
    return f"{exercise.name} signed off and recorded: {waits}"


class AdaptController(Controller):
    path = "/api/v1/athletes/{athlete_id:uuid}"
    tags = ["feedback"]

    @post(
        "/sessions/{session_id:str}/feedback",
        status_code=HTTP_201_CREATED,
        raises=OWNED + JSON_BODY + [Conflict],
    )
    async def feedback(
        self,
        athlete_id: uuid.UUID,
        session_id: str,
        data: FeedbackIn,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
    ) -> AdaptOut:
        return await record_feedback(athlete_id, session_id, data, data_scope, settings)

    @post("/pain", status_code=HTTP_201_CREATED, raises=OWNED + JSON_BODY + [Conflict])
    async def checkin(
        self,
        athlete_id: uuid.UUID,
        data: CheckinIn,
        data_scope: NamedDependency[CoachData],
        settings: Settings,
    ) -> AdaptOut:
        return await record_checkin(athlete_id, data, data_scope, settings)

    @get("/progression", raises=OWNED)
    async def progression(
        self, athlete_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> ProgressionOut:
        return await progression_report(athlete_id, data_scope)

    @post("/clearance", status_code=HTTP_201_CREATED, raises=OWNED + JSON_BODY + [Conflict])
    async def clearance(
        self,
        athlete_id: uuid.UUID,
        data: ClearanceIn,
        data_scope: NamedDependency[CoachData],
        settings: Settings,
    ) -> AdaptOut:
        return await clear_red_flag(athlete_id, data, data_scope, settings)

    @post("/approvals", status_code=HTTP_201_CREATED, raises=OWNED + JSON_BODY + [Conflict])
    async def approval(
        self,
        athlete_id: uuid.UUID,
        data: ApprovalIn,
        data_scope: NamedDependency[CoachData],
        settings: Settings,
    ) -> AdaptOut:
        """A coach's sign-off for the first barbell Romanian deadlift or deadlift. A pattern
        that earned the step and waits for it moves up at once; otherwise the sign-off stands
        for when the athlete earns it (the deadlift: once its gate opens)."""
        return await approve_exercise(athlete_id, data, data_scope, settings)
