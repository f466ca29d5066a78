"""The planner's vocabulary: athletes, rides, sessions, plans and progression, as pydantic models."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class RideKind(StrEnum):
    recovery = "recovery"
    endurance = "endurance"
    intervals = "intervals"
    long = "long"
    race = "race"


class Priority(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class SessionKind(StrEnum):
    strength = "strength"
    mobility = "mobility"


class Phase(StrEnum):
    base = "base"
    build = "build"
    peak = "peak"
    race = "race"
    transition = "transition"
    in_season = "in_season"


class Pattern(StrEnum):
    hinge = "hinge"
    knee_flexion = "knee_flexion"
    squat = "squat"
    single_leg = "single_leg"
    calf = "calf"
    hip_abduction = "hip_abduction"
    core_anti_extension = "core_anti_extension"
    core_anti_rotation = "core_anti_rotation"
    upper_pull = "upper_pull"
    mobility = "mobility"


STRENGTH_PATTERNS = (
    Pattern.hinge,
    Pattern.knee_flexion,
    Pattern.squat,
    Pattern.single_leg,
    Pattern.calf,
    Pattern.hip_abduction,
    Pattern.core_anti_extension,
    Pattern.core_anti_rotation,
    Pattern.upper_pull,
)


class Region(StrEnum):
    knee = "knee"
    low_back = "low_back"
    hamstring = "hamstring"
    hip = "hip"
    other = "other"


def last_day(until: date) -> date:
    """The last day a window ending before `until` holds (no_heavy_until, reduced_until are
    exclusive): what a coach or athlete reads in "through Monday" """
    return until - timedelta(days=1)


def _red_line(region: Region, until: date) -> str:
    return f"{region_words(region)} in red: no heavy work loading it through {last_day(until)}"


def _listed(names: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)


def pattern_words(pattern: Pattern) -> str:
    """A pattern as a coach or athlete reads it: "knee flexion"."""
    return pattern.value.replace("_", " ")


def region_words(region: Region) -> str:
    """A region as a coach or athlete reads it: "low back", and "pain elsewhere" for `other`."""
    return "pain elsewhere" if region == Region.other else region.value.replace("_", " ")


# domain.md, "Regions to patterns"; the patterns of Revision 2 follow the joints they bend under
# load: the step-up loads knee and hip like the squat, side-lying and banded abduction the hip.
# Calf raises and the supported one-arm row load none of the five regions.
REGION_PATTERNS: dict[Region, tuple[Pattern, ...]] = {
    Region.knee: (Pattern.knee_flexion, Pattern.squat, Pattern.single_leg),
    Region.low_back: (Pattern.hinge, Pattern.core_anti_extension),
    Region.hamstring: (Pattern.hinge, Pattern.knee_flexion),
    Region.hip: (Pattern.hinge, Pattern.squat, Pattern.single_leg, Pattern.hip_abduction),
    Region.other: (),
}


class Equipment(StrEnum):
    bodyweight = "bodyweight"
    band = "band"
    ball = "ball"
    box = "box"
    dumbbell = "dumbbell"
    barbell = "barbell"
    kettlebell = "kettlebell"
    bench = "bench"
    machine = "machine"


# What an IANA zone name can look like ("Europe/Paris", "America/Port-au-Prince", "Etc/GMT+1"):
# checked before ZoneInfo sees it, since ZoneInfo turns the name into a file path and answers
# a long, odd or directory-like name with OSError rather than "not found".
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
ZONE_NAME_MAX = 64  # the longest IANA name is 32 characters; the column holds 64


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones() - {"Factory", "localtime", "posixrules"})


# Validation context for what the service stored itself under older, looser rules: such a row
# is read as it is (a level above its ladder is taken as the top, any zone ZoneInfo opens is
# kept) instead of failing every read of the athlete. New input is held to today's rules.
STORED = {"stored": True}


def _stored(info: ValidationInfo | None) -> bool:
    return bool(info is not None and info.context and info.context.get("stored"))


def _check_timezone(name: str, info: ValidationInfo) -> str:
    hint = "use an IANA name such as Europe/Paris"
    if len(name) > ZONE_NAME_MAX:
        raise ValueError(
            f"not a time zone: {len(name)} characters, more than {ZONE_NAME_MAX} ({hint})"
        )
    unknown = f"unknown time zone {name!r} ({hint})"
    # only the tz database's own zones: not "localtime" (this machine's), "Factory" or
    # "posixrules", which ZoneInfo also opens but which name no place
    if not _ZONE_NAME.fullmatch(name) or (name not in _known_zones() and not _stored(info)):
        raise ValueError(unknown)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(unknown) from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]

DateOrTime = TypeVar("DateOrTime", date, datetime)

# Dates the service accepts: wide enough for any training calendar, and far enough from
# datetime's limits (years 1 and 9999) that no time-zone shift or day arithmetic overflows.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


# the instants whose wall-clock date lies within EARLIEST .. LATEST in every zone (UTC-12 to
# UTC+14): a ride's start is read in the athlete's zone, whichever it is now or later
FIRST_INSTANT = datetime.combine(EARLIEST, time(12), UTC)
END_INSTANT = datetime.combine(LATEST, time(10), UTC)


def outside_calendar(value: date | datetime) -> str | None:
    """Why a date or time lies outside EARLIEST .. LATEST, or None when it does not. A datetime
    is judged by its own wall-clock date, before any conversion (0001-01-01T00:00+14:00 would
    overflow on its way to UTC)."""
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST <= day <= LATEST:
        return None
    return f"must lie between {EARLIEST} and {LATEST} (got {value.isoformat()})"


def outside_every_zone(value: datetime) -> str | None:
    """Why an instant (already within the calendar as written) would lie outside it in some
    zone: 2199-12-31T23:00-05:00 is 2200 in the athlete's zone, and a ride there answered 500
    on its way out (a hostile-input trial); a later change of zone could do the same."""
    if FIRST_INSTANT <= value < END_INSTANT:
        return None
    return (
        f"must lie between {EARLIEST} and {LATEST} in every time zone, from "
        f"{FIRST_INSTANT.isoformat()} to before {END_INSTANT.isoformat()} (got {value.isoformat()})"
    )


def _within_calendar(value: DateOrTime, info: ValidationInfo | None = None) -> DateOrTime:
    if _stored(info):
        return value  # what was stored stays readable
    problem = outside_calendar(value)
    if problem:
        raise ValueError(problem)
    return value


def _aware(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset or time zone, e.g. 2026-03-14T08:00:00+01:00")
    return _within_calendar(value, info)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Day = Annotated[date, AfterValidator(_within_calendar)]


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and in JSONB; no name, title or note needs one
    position = value.find("\x00")
    if position >= 0:
        raise ValueError(f"contains a NUL character (\\u0000) at position {position}")
    return value


# Every free text a client sends (names, titles, ids from calendars, notes) is this type.
Text = Annotated[str, AfterValidator(_storable)]


def is_control(character: str) -> bool:
    """A line break, tab or other control character: none belongs in a name."""
    return unicodedata.category(character) == "Cc"


def _one_line(value: str) -> str:
    # a name heads the calendar feed (X-WR-CALNAME): a line break there broke the feed of an
    # athlete renamed with a trailing newline pasted from a spreadsheet (a hostile-input trial)
    for position, character in enumerate(value):
        if is_control(character):
            raise ValueError(
                f"contains a line break or control character ({character!r}) at position "
                f"{position}: a name is one line"
            )
    return value


# a name: one line of text
Line = Annotated[str, AfterValidator(_storable), AfterValidator(_one_line)]


_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


def _time_of_day(value: Any) -> Any:
    """A local wall-clock time written HH:MM ("07:00"); seconds are allowed, offsets are not
    (a window is local to the athlete's zone)."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        return time.fromisoformat(value)
    raise ValueError("must be a local time of day as HH:MM, e.g. 07:00")


# Declared as an HH:MM string in the OpenAPI (Litestar would call a `time` a duration)
TimeOfDayHHMM = Annotated[
    time,
    BeforeValidator(_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M:%S" if t.second else "%H:%M"), return_type=str),
    Field(
        description="Local time of day, HH:MM (24-hour)",
        json_schema_extra={"format": None, "pattern": _CLOCK.pattern, "examples": ["07:00"]},
    ),
]


class Window(Model):
    """A span of local wall-clock time in which the athlete can train."""

    start: TimeOfDayHHMM
    end: TimeOfDayHHMM

    @model_validator(mode="after")
    def _ends_after_start(self) -> Window:
        if self.end <= self.start:
            raise ValueError(
                f"window ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})"
            )
        return self


class AvailabilityException(Model):
    """A dated override of the weekly template; an empty list means not available that day."""

    date: Day
    windows: list[Window] = Field(default_factory=list)


MAX_WINDOWS_A_DAY = 8
MAX_EXCEPTIONS = 400  # a season of dated changes, and some


class Availability(Model):
    monday: list[Window] = Field(default_factory=list)
    tuesday: list[Window] = Field(default_factory=list)
    wednesday: list[Window] = Field(default_factory=list)
    thursday: list[Window] = Field(default_factory=list)
    friday: list[Window] = Field(default_factory=list)
    saturday: list[Window] = Field(default_factory=list)
    sunday: list[Window] = Field(default_factory=list)
    exceptions: list[AvailabilityException] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounded(self, info: ValidationInfo) -> Availability:
        """A few windows a day and a year of dated exceptions: the planner's work grows with
        each window (bound what one request can cause). What was stored stays readable."""
        if _stored(info):
            return self
        days = [(name, getattr(self, name)) for name in WEEKDAYS]
        days += [(f"exceptions[{e.date}]", e.windows) for e in self.exceptions]
        for name, windows in days:
            if len(windows) > MAX_WINDOWS_A_DAY:
                raise ValueError(
                    f"{name}: {len(windows)} windows, at most {MAX_WINDOWS_A_DAY} a day"
                )
        if len(self.exceptions) > MAX_EXCEPTIONS:
            raise ValueError(
                f"exceptions: {len(self.exceptions)} dated exceptions, at most {MAX_EXCEPTIONS}"
            )
        return self

    def windows_on(self, day: date) -> list[Window]:
        for exception in self.exceptions:
            if exception.date == day:
                return exception.windows
        return list(getattr(self, WEEKDAYS[day.weekday()]))


class TimeOfDay(StrEnum):
    morning = "morning"
    midday = "midday"
    evening = "evening"


class RuleSettings(Model):
    """The rule defaults of domain.md by their names; a coach may override each within its bounds."""

    long_ride_min: int = Field(150, ge=60, le=600)
    ride_buffer_min: int = Field(30, ge=0, le=240)
    heavy_before_long_h: int = Field(48, ge=24, le=168)
    heavy_after_long_h: int = Field(24, ge=12, le=96)
    same_day_gap_h: int = Field(6, ge=3, le=16)
    strength_gap_h: int = Field(48, ge=24, le=120)
    taper_days_A: int = Field(7, ge=3, le=21)
    taper_days_B: int = Field(3, ge=0, le=14)
    # domain.md Revision 2, race weeks: no strength session in the hours before a B or C race
    clear_before_B_h: int = Field(48, ge=0, le=96)
    clear_before_C_h: int = Field(24, ge=0, le=72)
    first_exposure_gap_h: int = Field(72, ge=48, le=168)
    mobility_after_ride_h: int = Field(2, ge=1, le=6)
    strength_session_min: int = Field(45, ge=20, le=120)
    mobility_session_min: int = Field(15, ge=10, le=20)
    mobility_days_min: int = Field(3, ge=0, le=7)
    # validate_default: the check against the minimum runs when only the minimum is given
    mobility_days_max: int = Field(5, ge=0, le=7, validate_default=True)
    preferred_weekdays: list[str] = Field(default_factory=list)
    preferred_time: TimeOfDay | None = None

    @field_validator("preferred_weekdays")
    @classmethod
    def _weekday_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in WEEKDAYS:
                raise ValueError(f"{name!r} is not a weekday name (monday ... sunday)")
        return value

    @field_validator("mobility_days_max")
    @classmethod
    def _mobility_bounds(cls, value: int, info: ValidationInfo) -> int:
        # on the field, so that the error names it (the minimum is read first)
        low = info.data.get("mobility_days_min")
        if low is not None and value < low:
            raise ValueError(f"{value} is below mobility_days_min ({low})")
        return value


class Athlete(Model):
    """The body of POST /api/v1/athletes, and the CLI's athlete file."""

    name: Line = Field(min_length=1, max_length=200)
    timezone: TimeZoneName
    availability: Availability = Field(default_factory=Availability)
    equipment: list[Equipment] = Field(default_factory=lambda: [Equipment.bodyweight])
    settings: RuleSettings = Field(default_factory=RuleSettings)
    phase: Phase | None = None
    starting_levels: dict[Pattern, int] = Field(default_factory=dict)
    # the coach's load per loaded exercise (kg), used until the athlete logs one
    starting_loads: dict[str, float] = Field(default_factory=dict)

    @field_validator("starting_levels")
    @classmethod
    def _levels_on_the_ladders(
        cls, value: dict[Pattern, int], info: ValidationInfo
    ) -> dict[Pattern, int]:
        from planner.library import load_library  # the library's models import this module

        library = load_library()
        for pattern, level in value.items():
            top = library.top_level(pattern)
            if _stored(info) and level > top:
                value[pattern] = top  # stored before the cap: the top of the ladder
            elif not 1 <= level <= top:
                raise ValueError(
                    f"starting level for {pattern.value} must be between 1 and {top}, the top "
                    f"of its ladder (got {level}; GET /api/v1/exercises lists the rungs)"
                )
        return value

    @field_validator("starting_loads")
    @classmethod
    def _loads_of_loaded_exercises(cls, value: dict[str, float]) -> dict[str, float]:
        from planner.library import load_library  # the library's models import this module

        library = load_library()
        for exercise_id, kg in value.items():
            exercise = library.by_id.get(exercise_id)
            if exercise is None:
                raise ValueError(f"{exercise_id!r} is not an exercise id (GET /api/v1/exercises)")
            if exercise.implement is None:
                raise ValueError(f"{exercise_id!r} takes no external load")
            if not 0 < kg <= 500:
                raise ValueError(
                    f"starting load for {exercise_id} must be above 0 and at most 500 kg"
                )
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def has_equipment(self, needed: list[Equipment]) -> bool:
        owned = set(self.equipment) | {Equipment.bodyweight}
        return all(item in owned for item in needed)


class Ride(Model):
    """One entry of the ride calendar (the shape of the PUT .../rides list)."""

    start: AwareDatetime
    duration_min: int
    kind: RideKind = RideKind.endurance
    priority: Priority | None = None
    title: Text | None = Field(None, max_length=500)
    external_id: Text | None = Field(None, max_length=500)
    id: Text | None = None

    @field_validator("start")
    @classmethod
    def _in_every_zone(cls, value: datetime, info: ValidationInfo) -> datetime:
        problem = None if _stored(info) else outside_every_zone(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("duration_min")
    @classmethod
    def _positive_duration(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the ride ends before it starts (duration_min must be above 0)")
        if value > 24 * 60:
            raise ValueError("a ride longer than 24 hours is not a ride (duration_min over 1440)")
        return value

    @cached_property
    def end(self) -> datetime:
        # in real time: `start + timedelta` on a ZoneInfo datetime moves the wall clock, so a
        # ride across the night the clocks change would end an hour early or late
        elapsed = self.start.astimezone(UTC) + timedelta(minutes=self.duration_min)
        return elapsed.astimezone(self.start.tzinfo)

    @cached_property
    def starts_at(self) -> float:
        """The start as a UTC timestamp (the rules compare thousands of these)."""
        return self.start.timestamp()

    @cached_property
    def ends_at(self) -> float:
        """The end as a UTC timestamp."""
        return self.end.timestamp()

    def is_long(self, settings: RuleSettings) -> bool:
        return self.kind in (RideKind.long, RideKind.race) or (
            self.duration_min >= settings.long_ride_min
        )

    def is_key(self, settings: RuleSettings) -> bool:
        return self.kind in (RideKind.intervals, RideKind.long, RideKind.race) or self.is_long(
            settings
        )

    def label(self) -> str:
        return self.title or self.kind.value


class Prescription(Model):
    exercise_id: str
    name: str
    pattern: Pattern
    level: int
    sets: int
    reps: str | None = None
    hold_s: int | None = None
    load_hint: str
    rest_s: int
    side: str
    cue: str
    heavy: bool = False
    regions: list[Region] = Field(default_factory=list)

    def dose(self) -> str:
        amount = f"{self.reps} reps" if self.reps else f"{self.hold_s} s hold"
        side = {"each_leg": " each leg", "each_side": " each side"}.get(self.side, "")
        return f"{self.sets} x {amount}{side}"

    def volume(self) -> int:
        """Sets times reps (the top of the range) or times hold seconds, for T3/T4."""
        if self.reps:
            return self.sets * int(self.reps.split("-")[-1])
        return self.sets * (self.hold_s or 0)


class Session(Model):
    uid: str = ""
    kind: SessionKind
    start: AwareDatetime
    end: AwareDatetime
    heavy: bool = False
    prescriptions: list[Prescription] = Field(default_factory=list)
    after_ride: str | None = None
    notes: list[str] = Field(default_factory=list)
    sequence: int = 0
    changed_at: datetime | None = None

    def exercise_ids(self) -> set[str]:
        return {p.exercise_id for p in self.prescriptions}

    def content_key(self) -> tuple[object, ...]:
        """What the athlete would notice if it changed: the time and the prescriptions."""
        return (
            self.kind,
            self.start,
            self.end,
            self.heavy,
            tuple(
                (p.exercise_id, p.sets, p.reps, p.hold_s, p.load_hint) for p in self.prescriptions
            ),
            tuple(self.notes),
        )


class TargetResult(Model):
    rule: str
    met: bool
    wanted: str
    planned: int
    reason: str = ""
    blocked_by: list[str] = Field(default_factory=list)


class BrokenRide(Model):
    """The ride a soft term concerns, as the coach knows it."""

    label: str
    start: datetime


class Broken(Model):
    """One soft term the plan paid in a week: a missed target or a broken preference."""

    rule: str  # T1-T4, S1-S5
    term: str = ""  # the solver's penalty term, e.g. "S1 heavy_before_intervals[2027-03-14]"
    session_id: str | None = None  # the session's calendar uid
    ride: BrokenRide | None = None
    detail: str
    blocked_by: list[str] = Field(default_factory=list)
    suggestion: str = ""


class WeekReport(Model):
    index: int
    start: date
    end: date
    phase: Phase
    deload: bool = False
    taper: bool = False
    # the races of the week and what each does to the strength work around it (H8, T4,
    # domain.md Revision 2 race weeks): a B race's week reads half volume, not a deload
    races: list[str] = Field(default_factory=list)
    strength_min: int
    strength_max: int
    strength_planned: int = 0
    heavy_planned: int = 0
    mobility_planned: int = 0
    targets: list[TargetResult] = Field(default_factory=list)
    # every soft term paid this week; the week is ok only when this is empty
    broken: list[Broken] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


class SolverReport(Model):
    status: str
    build_ms: float
    solve_ms: float
    explain_ms: float = 0.0
    objective: float = 0.0
    best_bound: float = 0.0
    gap: float = 0.0
    # the soft terms the plan paid, by term: the weekly reports' `broken` entries say each
    penalties: dict[str, int] = Field(default_factory=dict)
    # what the objective holds besides: costs that only keep the plan from asking for more
    # than a target (T2's small cost per mobility session), no preference given up
    bookkeeping: int = 0


class Plan(Model):
    athlete: str
    timezone: str
    start: date
    weeks: int
    sessions: list[Session] = Field(default_factory=list)
    week_reports: list[WeekReport] = Field(default_factory=list)
    solver: SolverReport
    warnings: list[str] = Field(default_factory=list)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7 * self.weeks)


# --- pain and progression (the engine itself lives in planner.progression) ---


class PainTiming(StrEnum):
    during = "during"
    after = "after"
    next_morning = "next_morning"


class PainFlag(StrEnum):
    sharp = "sharp"
    sudden = "sudden"
    swelling = "swelling"
    numbness = "numbness"
    tingling = "tingling"
    giving_way = "giving_way"
    night_pain = "night_pain"
    lasting_over_7_days = "lasting_over_7_days"


class PainKind(StrEnum):
    pain = "pain"
    # muscle ache that eases once warm: moves no level unless 6+ two mornings running
    soreness = "soreness"


class PainReport(Model):
    region: Region
    score: int = Field(ge=0, le=10)
    timing: PainTiming
    flags: list[PainFlag] = Field(default_factory=list)
    reported_at: AwareDatetime | None = None
    kind: PainKind = PainKind.pain


class Zone(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"
    red_flag = "red_flag"


class RegionStatus(Model):
    zone: Zone = Zone.green
    no_heavy_until: date | None = None
    needs_clearance: bool = False
    reason: str = ""
    # the latest next-morning pain score
    morning_score: int | None = Field(default=None, ge=0, le=10)
    # next-morning pain scores by local day (the last 7 days give the baseline: their lowest)
    mornings: dict[date, int] = Field(default_factory=dict)
    # the last morning judged amber (amber two mornings running is red)
    morning_amber_on: date | None = None
    # the last morning with soreness of 6 or more (two running is red)
    sore_morning_on: date | None = None
    # days with pain of 1-5 (7 in a row ask the coach to review)
    low_grade_days: list[date] = Field(default_factory=list)
    needs_review: bool = False
    review_reason: str = ""


class LevelChange(Model):
    at: AwareDatetime
    pattern: Pattern
    from_level: int
    to_level: int
    from_load_kg: float | None = None
    to_load_kg: float | None = None
    rule: str
    reason: str


class PatternState(Model):
    level: int = 1
    load_kg: float | None = None
    green_at_top: int = 0
    green_streak: int = 0
    last_step_up: date | None = None
    # the exercise of the next rung, earned but waiting for a coach's sign-off
    awaiting_approval: str | None = None
    # red on the easiest rung (nothing to step down to): half the sets before this day
    reduced_until: date | None = None
    # when `load_kg` was last set (a log, a step): a report of an older session, logged late,
    # does not set it back (a trial's late log took 18 kg back to 17.5 kg)
    load_at: AwareDatetime | None = None


class Approval(Model):
    """A coach's sign-off for a first barbell hinge (romanian_deadlift, deadlift)."""

    at: AwareDatetime
    note: str


# Lifts brought in gently (domain.md's knee-flexion ladder: the Nordic's build-up, Mjolsnes
# 2004, starts at 2 x 5): their first sessions hold at most BUILD_UP_DOSE until this many
# sessions with the lift are logged
BUILD_UP_SESSIONS = {"nordic_curl": 2}
BUILD_UP_SETS, BUILD_UP_REPS = 2, 5


class ProgressionState(Model):
    patterns: dict[Pattern, PatternState] = Field(default_factory=dict)
    regions: dict[Region, RegionStatus] = Field(default_factory=dict)
    exposures: list[str] = Field(default_factory=list)
    # sessions logged with a lift still in its build-up (BUILD_UP_SESSIONS); a lift done but
    # not listed here is past it (a state stored before the count was kept included)
    build_up: dict[str, int] = Field(default_factory=dict)
    history: list[LevelChange] = Field(default_factory=list)
    # the last load logged (or set by a step) per exercise id: a step down lands on it
    loads: dict[str, float] = Field(default_factory=dict)
    # when each of `loads` was logged: an older session's report, logged late, leaves it
    loads_at: dict[str, AwareDatetime] = Field(default_factory=dict)
    approvals: dict[str, Approval] = Field(default_factory=dict)
    # numbering of the ladders' levels: 2 since the hinge technique rungs (levels 6-7) came in;
    # a stored state without it is on the old numbering (api.convert moves it up)
    ladders: int = 2

    @classmethod
    def starting(cls, athlete: Athlete, at: datetime | None = None) -> ProgressionState:
        """Every ladder at the athlete's starting level (1 unless the coach placed them).

        A coach who places an athlete on or above a rung that needs a sign-off (the first
        barbell Romanian deadlift, the deadlift) has signed it off by doing so: it is recorded
        as an approval at `at` (now by default), so the record says who allowed the lift."""
        from planner.library import load_library  # the library's models import this module

        patterns = {
            pattern: PatternState(level=athlete.starting_levels.get(pattern, 1))
            for pattern in STRENGTH_PATTERNS
        }
        approvals = {
            exercise.id: Approval(
                at=at or datetime.now(UTC),
                note=f"placed at {exercise.pattern.value} level "
                f"{patterns[exercise.pattern].level} by the coach (starting_levels)",
            )
            for exercise in load_library().exercises
            if exercise.needs_approval
            and exercise.pattern in patterns
            and patterns[exercise.pattern].level >= exercise.level
        }
        return cls(patterns=patterns, approvals=approvals)

    def level(self, pattern: Pattern) -> int:
        state = self.patterns.get(pattern)
        return state.level if state else 1

    def building_up(self) -> frozenset[str]:
        """The lifts still in their build-up: never done, or done fewer times than
        BUILD_UP_SESSIONS asks."""
        return frozenset(
            lift
            for lift, sessions in BUILD_UP_SESSIONS.items()
            if lift not in self.exposures or self.build_up.get(lift, sessions) < sessions
        )

    def record_done(self, lifts: list[str], first_exposures: tuple[str, ...]) -> None:
        """Lifts a logged session held: first exposures (H9) and build-up counts (once per
        session, however many entries a lift has in its log)."""
        for lift in dict.fromkeys(lifts):
            if lift in self.build_up:
                self.build_up[lift] += 1
                if self.build_up[lift] >= BUILD_UP_SESSIONS[lift]:
                    del self.build_up[lift]  # past its build-up
            elif lift in BUILD_UP_SESSIONS and lift not in self.exposures:
                if BUILD_UP_SESSIONS[lift] > 1:
                    self.build_up[lift] = 1
            if lift in first_exposures and lift not in self.exposures:
                self.exposures.append(lift)

    def region(self, region: Region) -> RegionStatus:
        return self.regions.get(region) or RegionStatus()

    def flagged_regions(self) -> set[Region]:
        return {r for r, s in self.regions.items() if s.needs_clearance}

    def suspends_all_strength(self) -> bool:
        """A red flag in `other` (a place no pattern is mapped to) stops every strength pattern:
        the planner cannot tell what loads it, so it takes the safe side until a coach clears it."""
        return Region.other in self.flagged_regions()

    def blocked_patterns(self) -> set[Pattern]:
        """Patterns that get no strength work while a red flag awaits clearance (H10)."""
        if self.suspends_all_strength():
            return set(STRENGTH_PATTERNS)
        return {p for region in self.flagged_regions() for p in REGION_PATTERNS[region]}

    def review_warnings(self) -> list[str]:
        """Low-grade pain on 7 days running: the coach should look at it (no level moves)."""
        return [
            status.review_reason
            for _, status in sorted(self.regions.items())
            if status.needs_review and status.review_reason
        ]

    def pain_warnings(self, today: date) -> list[str]:
        """What the pain state keeps out of a plan, for its warnings: a week whose sessions
        shrank for it is otherwise reported as ok (no soft term was paid)."""
        found = []
        for region, status in sorted(self.regions.items()):
            name = region_words(region)
            if status.needs_clearance:
                kept_out = (
                    "all strength work is stopped"
                    if region == Region.other
                    else "no exercise loading it is planned"
                )
                found.append(
                    f"{name}: red flag awaiting the coach's clearance; {kept_out} until then"
                )
            elif status.no_heavy_until is not None and status.no_heavy_until > today:
                found.append(_red_line(region, status.no_heavy_until))
        return found + self.reduced_warnings(today)

    def red_warnings(self, today: date) -> list[str]:
        """The pain warnings of the regions in red (a red flag's have their own words): what
        a feedback's advice says."""
        return [
            _red_line(region, status.no_heavy_until)
            for region, status in sorted(self.regions.items())
            if not status.needs_clearance
            and status.no_heavy_until is not None
            and status.no_heavy_until > today
        ] + self.reduced_warnings(today)

    def reduced_patterns(self, day: date) -> frozenset[Pattern]:
        """Patterns held at half their sets on this day: red on their easiest rung."""
        return frozenset(
            pattern
            for pattern, status in self.patterns.items()
            if status.reduced_until is not None and day < status.reduced_until
        )

    def reduced_warnings(self, today: date) -> list[str]:
        """The patterns a red left on their easiest rung, halved for now (plan warnings and
        the feedback's advice)."""
        by_day: dict[date, list[str]] = {}
        # a pattern a red flag stops holds no sets at all: "half the sets" beside "stopped"
        # contradicted itself (a coach's review)
        stopped = self.blocked_patterns()
        for pattern, status in self.patterns.items():
            if pattern in stopped:
                continue
            if status.reduced_until is not None and status.reduced_until > today:
                by_day.setdefault(status.reduced_until, []).append(pattern_words(pattern))
        return [
            f"{_listed(names)}: red on the easiest rung, so half the sets through "
            f"{last_day(until).isoformat()}"
            for until, names in sorted(by_day.items())
        ]

    def no_heavy_regions(self, day: date) -> set[Region]:
        """Regions that may not carry heavy work on this day (red for 7 days, or flagged)."""
        blocked = self.flagged_regions()
        for region, status in self.regions.items():
            if status.no_heavy_until is not None and day < status.no_heavy_until:
                blocked.add(region)
        return blocked


def as_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
