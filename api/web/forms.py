"""Forms in, the API's models out; the API's errors back into the form, in place.

The pages post through the same service functions as the JSON API (api.feedback, api.plans,
api.rides, api.athletes): a form is parsed into the API's own body model, so nothing is
written that the API would refuse, and a refusal shows next to the form with the API's words.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.datastructures import FormMultiDict
from litestar.exceptions import HTTPException
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api import clock
from api.convert import athlete_from_row, progression_of, session_from_row
from api.db import AthleteRow, FeedbackRow, FormSentRow
from api.feedback import (
    AdaptOut,
    AlreadyLogged,
    CheckinIn,
    ExerciseIn,
    FeedbackIn,
    LeftOut,
    logged_loads,
    pain_key,
    record_checkin,
    record_feedback,
    reported,
)
from api.repository import CoachData
from api.settings import Settings
from api.web.views import swaps
from planner.domain import (
    REGION_PATTERNS,
    PainFlag,
    PainKind,
    PainTiming,
    ProgressionState,
    Region,
    Zone,
    last_day,
    region_words,
)
from planner.library import load_library
from planner.progression import RED_FLAG_MIN


@dataclass
class Problem:
    """A refusal to show on the page: the API's status and words, and the fields it names."""

    status: int
    message: str
    fields: list[str] = field(default_factory=list)


# pydantic's words for a refused field, as a coach or athlete reads a form ("Input should be
# a valid integer, unable to parse string as an integer" was what a bad weeks value showed)
_PLAIN = {
    "int_parsing": "a whole number, please",
    "int_from_float": "a whole number, please",
    "int_type": "a whole number, please",
    "float_parsing": "a number, please",
    "float_type": "a number, please",
    "date_parsing": "a date, please (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date, please (YYYY-MM-DD)",
    "date_type": "a date, please (YYYY-MM-DD)",
    "missing": "this one is needed",
}
_BOUNDS = {
    "less_than_equal": ("le", "at most {}"),
    "less_than": ("lt", "less than {}"),
    "greater_than_equal": ("ge", "at least {}"),
    "greater_than": ("gt", "more than {}"),
    "string_too_long": ("max_length", "at most {} characters"),
    "string_too_short": ("min_length", "at least {} character(s)"),
    "enum": ("expected", "one of {}"),
    "literal_error": ("expected", "one of {}"),
}


def plain(error: Any) -> str:
    """A pydantic error in the form's words, with what was given (cut short): the service's
    own checks (value errors) already speak plainly."""
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    words = _PLAIN.get(kind)
    if words is None and kind in _BOUNDS and _BOUNDS[kind][0] in context:
        key, template = _BOUNDS[kind]
        words = template.format(context[key])
    if words is None:
        return str(error.get("msg", "")).removeprefix("Value error, ")
    given = error.get("input")
    if kind != "missing" and isinstance(given, str | int | float) and str(given).strip():
        shown = str(given) if len(str(given)) <= 30 else str(given)[:29] + "…"
        words += f" (not “{shown}”)"
    return words


def by_region(
    exc: ValidationError, entries: list[dict[str, Any]], at: tuple[str, ...] = ("pain",)
) -> HTTPException:
    """A 422 naming a pain entry's errors by region ("knee score: ..."), not by their place in
    the list ("pain.0.score" or "score"): the form has a row per region, not a list. `at`:
    where the entries sit in the validated body (() for a list of entries)."""
    extra = []
    for error in exc.errors():
        loc = error["loc"]
        rest = loc[len(at) :]
        if loc[: len(at)] == at and rest and isinstance(rest[0], int) and rest[0] < len(entries):
            region = region_words(Region(entries[rest[0]]["region"]))
            key = f"{region} {'.'.join(str(p) for p in rest[1:]) or 'pain'}"
        else:
            key = ".".join(str(p) for p in loc)
        extra.append({"key": key, "message": plain(error)})
    said = "; ".join(f"{e['key']}: {e['message']}" for e in extra[:5])
    return HTTPException(
        status_code=422, detail=f"Some answers could not be taken: {said}", extra=extra
    )


def problem_of(exc: HTTPException | ValidationError) -> Problem:
    if isinstance(exc, ValidationError):
        items = [
            f"{' '.join(str(p).replace('_', ' ') for p in e['loc'])}: {plain(e)}"
            for e in exc.errors()
        ]
        return Problem(422, "Some answers could not be taken: " + "; ".join(items[:5]), items)
    extra = exc.extra if isinstance(exc.extra, list) else []
    fields = [f"{e.get('key', '')}: {e.get('message', '')}" for e in extra if isinstance(e, dict)]
    return Problem(exc.status_code, str(exc.detail), fields)


def texts(form: FormMultiDict, *keys: str) -> dict[str, str]:
    """Text fields as a model reads them: a missing field is empty text (for it to refuse)."""
    return {key: str(form.get(key) or "") for key in keys}


def _number(form: FormMultiDict, key: str) -> int | float | str | None:
    """A number field: None when blank, else the number (or the text, for the model to refuse).
    A decimal comma reads as a point: "20,5" kg is 20.5."""
    text = str(form.get(key) or "").strip()
    if not text:
        return None
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def pain_entries(form: FormMultiDict, default_timing: PainTiming) -> list[dict[str, Any]]:
    """One entry per region given a score: `pain_<region>`, `timing_<region>`, `kind_<region>`
    and the ticked `flags_<region>`."""
    entries = []
    for region in Region:
        score = _number(form, f"pain_{region.value}")
        flags = [str(f) for f in form.getall(f"flags_{region.value}", [])]
        if score is None and not flags:
            continue
        entries.append(
            {
                "region": region.value,
                # a warning sign ticked without a score is still a report of that region
                "score": score if score is not None else 0,
                "timing": str(form.get(f"timing_{region.value}") or default_timing.value),
                "kind": str(form.get(f"kind_{region.value}") or "pain"),
                "flags": flags,
            }
        )
    return entries


def feedback_body(form: FormMultiDict) -> FeedbackIn:
    """The session form as the API's FeedbackIn; a 422 names a bad pain entry by region."""
    # as the API reads it: neither answer ticked is no answer (pain kept, the session open)
    completed = {"yes": True, "no": False}.get(str(form.get("completed") or ""))
    exercises = []
    if completed:
        for index in range(30):
            exercise_id = form.get(f"ex_{index}_id")
            if exercise_id is None:
                break
            sets = _number(form, f"ex_{index}_sets")
            if sets is None:
                continue  # left blank: not logged
            exercises.append(
                {
                    "exercise_id": str(exercise_id),
                    "sets": sets,
                    "reps": _number(form, f"ex_{index}_reps"),
                    "load_kg": _number(form, f"ex_{index}_load"),
                }
            )
    pain = pain_entries(form, PainTiming.after)
    try:
        return FeedbackIn.model_validate(
            {
                "completed": completed,
                "rpe": _number(form, "rpe"),
                "pain": pain,
                "exercises": exercises,
            }
        )
    except ValidationError as exc:
        raise by_region(exc, pain) from None


@dataclass
class Outcome:
    """What a feedback or check-in changed: the API's answer and the lines for the athlete."""

    answer: AdaptOut
    changed: list[str]
    # the regions this report raised a red flag on (one raised before and still waiting for
    # the coach's clearance is said in a line of its own, not as a new warning sign)
    raised: list[str] = field(default_factory=list)
    # what the pain state now asks, in the athlete's words (the API's advice is the coach's)
    for_athlete: list[str] = field(default_factory=list)
    # logged exercises left out, in the athlete's words (the API's lines name fields)
    not_counted: list[str] = field(default_factory=list)

    @property
    def red_flag(self) -> bool:
        return bool(self.raised)


def awaiting_clearance(athlete: AthleteRow) -> set[str]:
    """The regions whose red flag waits for the coach's clearance, before a report."""
    state = progression_of(athlete, athlete_from_row(athlete))
    return {region.value for region in state.flagged_regions()}


def _most(field: str) -> object:
    """A logged exercise's largest value for `field`, as ExerciseIn takes it."""
    return next(m.le for m in ExerciseIn.model_fields[field].metadata if hasattr(m, "le"))


# what a logged exercise's field is, and what it takes, in the athlete's words
FIELD_WORDS = {
    "load_kg": ("load", f"a number of kg up to {_most('load_kg')}"),
    "sets": ("sets", f"a whole number up to {_most('sets')}"),
    "reps": ("reps", f"a whole number up to {_most('reps')}"),
    "rpe": ("effort", f"1 to {_most('rpe')}"),
}


def left_out_for_athlete(entries: list[Any]) -> list[str]:
    """A logged exercise the report could not take, said without the API's field names: "Input
    should be less than or equal to 500" reached the athlete (a trial)."""
    library = load_library()
    lines = []
    for entry in entries:
        if not isinstance(entry, LeftOut):
            continue
        exercise = library.by_id.get(entry.exercise_id or "")
        name = exercise.name if exercise else "An exercise"
        fields = [FIELD_WORDS[f] for f in entry.fields if f in FIELD_WORDS]
        said = "; ".join(f"the {what} should be {takes}" for what, takes in fields)
        lines.append(
            f"{name}: {said or 'what you entered could not be read'}, so it was not counted. "
            "The rest of your report is saved."
        )
    return lines


def athlete_advice(state: ProgressionState, today: date) -> list[str]:
    """The pain state after a report, told to the athlete: a region in red and until when, and
    low-grade pain the coach will look at. A red flag has its own block on the page."""
    lines = []
    for region, status in sorted(state.regions.items()):
        name = region_words(region)
        if status.needs_clearance:
            continue
        if region == Region.other and status.no_heavy_until and status.no_heavy_until > today:
            # no exercise is known to load it: nothing in the plan changes for it
            lines.append(f"Your {name} is logged: your coach will see it.")
        elif status.no_heavy_until is not None and status.no_heavy_until > today:
            last = last_day(status.no_heavy_until)
            # on the easiest rung a red halves the sets instead of stepping down (the sessions'
            # notes name the exercises)
            halved = bool(set(REGION_PATTERNS[region]) & state.reduced_patterns(today))
            lines.append(
                f"Your {name}: no heavy work for it through {last:%A} {last.day} {last:%B}"
                + (", and its easiest exercises at half their sets." if halved else ".")
            )
        if status.needs_review:
            lines.append(f"Your {name} has ached a little for a week: your coach will take a look.")
    return lines


async def upcoming(data: CoachData, athlete: AthleteRow) -> list[Any]:
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    return [session_from_row(r, zone) for r in await data.sessions(athlete) if r.start >= now]


def noted_for_athlete(
    state: ProgressionState, pain: list[Any], rpe: int | None, held: list[str], today: date
) -> list[str]:
    """What this report holds back, in the athlete's words: a region left amber by it (red and
    red flags have their own lines), soreness, and a step held by a hard effort. The coach's
    `held` lines name rules and counts; the athlete needs the gist."""
    lines = []
    for entry in pain:
        status = state.regions.get(entry.region)
        name = region_words(entry.region)
        if entry.kind == PainKind.soreness:
            lines.append(
                f"Your {name} soreness ({entry.score}/10) is noted: soreness changes nothing "
                "unless it stays at 6 or more two mornings running."
            )
        elif (
            status is not None
            and status.zone == Zone.amber
            and not status.needs_clearance
            and not (status.no_heavy_until and status.no_heavy_until > today)
        ):
            lines.append(
                f"Your {name} ({entry.score}/10) is noted: its exercises stay where they are "
                "until a session without that pain."
            )
    if held and rpe is not None and rpe >= 9:
        lines.append(
            f"It felt very hard (RPE {rpe}): the exercises stay where they are until they feel "
            "a little easier (RPE 8 or less)."
        )
    return lines


def _outcome(
    answer: AdaptOut,
    before: list[Any],
    after: list[Any],
    athlete: AthleteRow,
    reported: str,
    pain: list[Any] | None = None,
    rpe: int | None = None,
    exercises: list[Any] | None = None,
    waiting: set[str] | None = None,
    flags: list[Any] | None = None,
) -> Outcome:
    """`waiting`: the regions awaiting clearance before the report (awaiting_clearance);
    `flags`: the report's own warning signs, on every region it names."""
    zone = ZoneInfo(athlete.timezone)
    # each exercise's change says its own pattern's reason (the level change behind it, its
    # "level 4 -> 3" left to the coach); any other change, the report itself (the API's
    # advice is worded for the coach)
    why = f"you reported {reported}" if reported else ""
    by_pattern = {
        c.pattern: c.reason.split(": level")[0].split(": already on the easiest rung")[0]
        for c in answer.progression_changes
    }
    # a load the report logged is why its lift's next load changed (not the report's pain: "at
    # 12.5 kg in each hand, because you reported knee pain 4/10", a trial)
    logged = {
        pattern.value: f"you logged {kg:g} kg"
        for pattern, kg in logged_loads(exercises or [], load_library()).items()
    }
    today = clock.now().astimezone(zone).date()
    # the pain state after the report, read once for both kinds of line
    state = progression_of(athlete, athlete_from_row(athlete))
    worded = {e.left_out for e in exercises or [] if isinstance(e, LeftOut)}
    before_flags = waiting or set()
    # a warning sign in this report raises its region's flag again, waiting or not (a review:
    # knee 8/10 with numbness on a knee waiting for clearance got no "see a clinician")
    told = {
        e.region.value
        for e in pain or []
        if e.flags or (e.kind == PainKind.pain and e.score >= RED_FLAG_MIN)
    }
    if flags:
        told |= {e.region.value for e in pain or []} or {Region.other.value}
    raised = [r for r in sorted(answer.needs_clearance) if r not in before_flags or r in told]
    still = [
        f"Your {region_words(Region(region))} still waits for your coach's clearance: its "
        "strength work stays paused."
        for region in sorted(set(answer.needs_clearance) - set(raised))
    ]
    return Outcome(
        answer,
        swaps(before, after, zone, why, by_pattern, logged=logged),
        raised=raised,
        for_athlete=athlete_advice(state, today)
        + still
        + noted_for_athlete(state, pain or [], rpe, answer.held, today),
        # the exercises left out in the athlete's words, and what else the answer did not count
        not_counted=left_out_for_athlete(exercises or [])
        + [line for line in answer.not_counted if line not in worded],
    )


# the hidden field a feedback form is drawn with: its one-time id (FormSentRow)
FORM_ID = "form_id"


FORM_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_form_id() -> str:
    return secrets.token_urlsafe(16)


# a morning check-in the same as one stored this long ago is that one sent again
RESENT_WITHIN = timedelta(minutes=30)


async def _not_sent_just_now(
    data: CoachData, athlete: AthleteRow, bodies: list[CheckinIn]
) -> list[CheckinIn]:
    """The check-ins not stored already in the last RESENT_WITHIN, the same in every word;
    SentAlready when none is left. Back to the form, the browser draws it again with a new
    one-time id and the answers refilled: a second send stored the same pain twice (a trial)."""
    since = clock.now() - RESENT_WITHIN
    rows = await data.db.execute(
        select(FeedbackRow.body, FeedbackRow.at).where(
            FeedbackRow.athlete_id == athlete.id,
            FeedbackRow.kind == "checkin",
            FeedbackRow.at >= since,  # the service's clock (created_at is the database's)
        )
    )
    stored: dict[object, datetime] = {}
    for body, created in rows.all():
        try:
            stored[pain_key(CheckinIn.model_validate(body))] = created
        except ValidationError:
            continue
    fresh = [b for b in bodies if pain_key(b) not in stored]
    if not fresh:
        raise SentAlready(max(stored[pain_key(b)] for b in bodies))
    return fresh


class SentAlready(Exception):
    """The form was sent before (a reload of its answer, a second tap): `at` is when."""

    def __init__(self, at: datetime) -> None:
        super().__init__(f"sent already at {at.isoformat()}")
        self.at = at


def unsent_form_id(form: FormMultiDict) -> str:
    """The form's one-time id, as new_form_id draws it ('' for a hand-made post without one,
    or with anything else there: a NUL byte in it was a 500 on PostgreSQL)."""
    form_id = str(form.get(FORM_ID) or "")
    return form_id if FORM_ID_SHAPE.fullmatch(form_id) else ""


async def check_form_id(data: CoachData, athlete: AthleteRow, form_id: str) -> None:
    """Raises SentAlready when the form was taken before (its id is in form_sent)."""
    if not form_id:
        return
    query = select(FormSentRow.created_at).where(
        FormSentRow.athlete_id == athlete.id, FormSentRow.form_id == form_id
    )
    taken = await data.db.scalar(query)
    if taken is not None:
        raise SentAlready(taken)


async def take_form_id(data: CoachData, athlete: AthleteRow, form_id: str) -> None:
    """Record the form's one-time id once its report is taken, in the request's transaction: a
    refusal (raised before this) rolls everything back, the id included, so the corrected form
    goes through. A sending racing this one with the same id fails here on the unique key:
    its report is rolled back whole and it answers SentAlready. (No SAVEPOINT: on SQLite one
    opened as the request's first write committed at once, leaving the id of a refused form.)"""
    if not form_id:
        return
    data.db.add(FormSentRow(athlete_id=athlete.id, form_id=form_id))
    try:
        await data.db.flush()
    except IntegrityError:
        await data.db.rollback()
        # the page drawn next reads the coach (and the athlete) again: after the rollback
        # their attributes are expired, and an async session cannot load them lazily
        await data.db.refresh(data.coach)
        raise SentAlready(clock.now()) from None


async def submit_feedback(
    data: CoachData,
    settings: Settings,
    athlete: AthleteRow,
    session_id: str,
    form: FormMultiDict,
) -> Outcome:
    """POST .../sessions/{id}/feedback from a form. Raises HTTPException, ValidationError or
    SentAlready."""
    body = feedback_body(form)
    form_id = unsent_form_id(form)
    await check_form_id(data, athlete, form_id)
    before = await upcoming(data, athlete)
    waiting = awaiting_clearance(athlete)
    try:
        answer = await record_feedback(
            athlete_id=athlete.id,
            session_id=session_id,
            data=body,
            data_scope=data,
            settings=settings,
        )
    except AlreadyLogged:
        # a double tap: the other sending took the report while this one waited for it
        await check_form_id(data, athlete, form_id)
        raise HTTPException(
            status_code=409,
            detail="this session's report is in already: nothing was counted twice. Pain "
            "that came later goes in the morning check-in",
        ) from None
    await take_form_id(data, athlete, form_id)
    after = await upcoming(data, athlete)
    return _outcome(
        answer,
        before,
        after,
        athlete,
        reported(body.pain, body.flags),
        body.pain,
        body.rpe,
        body.exercises,
        waiting,
        body.flags,
    )


async def submit_morning(
    data: CoachData,
    settings: Settings,
    athlete: AthleteRow,
    form: FormMultiDict,
    *,
    timing: PainTiming | None = PainTiming.next_morning,
) -> Outcome | None:
    """POST .../pain once per region scored on the morning form; None when nothing was scored.
    `timing` None: each region's own timing (a session's form whose session is gone)."""
    entries = pain_entries(form, timing or PainTiming.after)
    if timing is not None:
        entries = [{**e, "timing": timing.value} for e in entries]
    try:  # every region's row at once, each error under its region's name
        bodies = TypeAdapter(list[CheckinIn]).validate_python(entries)
    except ValidationError as exc:
        raise by_region(exc, entries, at=()) from None
    if not bodies:
        return None
    form_id = unsent_form_id(form)
    await check_form_id(data, athlete, form_id)
    bodies = await _not_sent_just_now(data, athlete, bodies)
    before = await upcoming(data, athlete)
    waiting = awaiting_clearance(athlete)
    answer: AdaptOut | None = None
    for body in bodies:
        answer = await record_checkin(
            athlete_id=athlete.id, data=body, data_scope=data, settings=settings
        )
    await take_form_id(data, athlete, form_id)
    after = await upcoming(data, athlete)
    assert answer is not None
    return _outcome(answer, before, after, athlete, reported(bodies, []), bodies, waiting=waiting)


def flags_of(values: list[str]) -> list[PainFlag]:
    return [PainFlag(v) for v in values if v in PainFlag.__members__]


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
