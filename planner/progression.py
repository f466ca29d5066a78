"""The progression engine: pain zones and the ladders (domain.md, "Pain and progression").

Pure and deterministic: no I/O, no clock, no solver. Every function takes a ProgressionState and
returns a new one (the input is never changed) with the LevelChanges it made; each change is also
appended to the new state's history with the rule that made it and the reports behind it.

Zones, per region, for one session's reports (or one check-in):

- red flag: a score of 8 or more, or any flag (sharp, sudden, swelling, ...);
- red: a score of 6 or more, a next-morning score 2+ above the previous morning, or amber in the
  session before as well;
- amber: a score of 4-5, or a next-morning score above the previous morning (but by less than 2);
- green: everything else (every score at most 3, next morning no higher than the one before).

Effects: red regresses every pattern loading the region one level (once per red spell: a region
already in its 7-day red window, or awaiting clearance, is not regressed again) and blocks heavy
work on it for 7 days; a red flag does the same and marks the region `needs_clearance` until a
coach calls `clear`. Amber holds. Green counts toward the 2-for-2 step up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from planner.domain import (
    REGION_PATTERNS,
    STRENGTH_PATTERNS,
    Athlete,
    LevelChange,
    PainFlag,
    PainReport,
    PainTiming,
    Pattern,
    PatternState,
    ProgressionState,
    Region,
    RegionStatus,
    Zone,
)
from planner.library import Exercise, Library, load_library

# rule ids written to LevelChange.rule
RULE_RED = "red"
RULE_RED_FLAG = "red_flag"
RULE_TWO_FOR_TWO = "2-for-2"
RULE_DEADLIFT_GATE = "deadlift_gate"
RULE_MISSED_TRAINING = "missed_training"

GREEN_MAX = 3  # every score during and after at most 3
AMBER_MAX = 5  # 4-5 is amber, 6 or more is red
RED_FLAG_MIN = 8
MORNING_RISE_RED = 2  # next morning 2+ above the previous morning
NO_HEAVY_DAYS = 7
STEP_UP_DAYS = 7  # at most one step up per pattern per week
SESSIONS_AT_TOP = 2  # NSCA 2-for-2
LOAD_STEP = 0.05  # +5-10 % on loaded rungs (ACSM 2009): the low end
LOAD_ROUND_KG = 0.5
GATE_DAYS_LOGGED = 6 * 7
GATE_GREEN_AT_RDL = 4
GATE_RED_DAYS = 14
GATE_REGIONS = (Region.low_back, Region.hamstring, Region.knee)
RDL_ID = "romanian_deadlift"
DEADLIFT_ID = "deadlift"
MISSED_TRAINING_DAYS = 14
FIRST_EXPOSURE_EXERCISES = ("nordic_curl", "deadlift")  # H9

PATTERN_REGIONS: dict[Pattern, tuple[Region, ...]] = {
    pattern: tuple(r for r, patterns in REGION_PATTERNS.items() if pattern in patterns)
    for pattern in STRENGTH_PATTERNS
}
_ZONE_RANK = {Zone.green: 0, Zone.amber: 1, Zone.red: 2, Zone.red_flag: 3}


@dataclass(frozen=True)
class ExerciseLog:
    """What the athlete did: sets done, reps done on every set (hold seconds for holds), load."""

    exercise_id: str
    sets: int
    reps: int | None
    load_kg: float | None = None


@dataclass(frozen=True)
class SessionFeedback:
    """The athlete's log of one planned session.

    `flags` not tied to a region apply to every region reported in `pain`, or to `other` when
    no region is reported. `prescribed` maps exercise id to (sets, top of the rep range) as
    prescribed; for holds the second number is the hold in seconds, as is ExerciseLog.reps.
    An exercise missing from `prescribed` is judged against the library's full dose.
    """

    session_uid: str
    at: datetime
    completed: bool
    rpe: int | None = None
    pain: list[PainReport] = field(default_factory=list)
    flags: list[PainFlag] = field(default_factory=list)
    exercises: list[ExerciseLog] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    prescribed: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("SessionFeedback.at must carry a UTC offset or time zone")


# --- zones --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where reports came from, for the reasons: a session, a skipped session or a check-in."""

    kind: str  # "session", "skipped", "check-in", ""
    day: date | None = None

    def when(self, timing: PainTiming) -> str:
        if self.kind == "session":
            return {
                PainTiming.during: f"during the session of {self.day}",
                PainTiming.after: f"after the session of {self.day}",
                PainTiming.next_morning: f"the morning after the session of {self.day}",
            }[timing]
        word = {
            PainTiming.during: "during training",
            PainTiming.after: "after training",
            PainTiming.next_morning: "in the morning",
        }[timing]
        if self.kind == "skipped":
            return f"{word}, reported with the skipped session of {self.day}"
        if self.kind == "check-in":
            return f"{word}, check-in of {self.day}"
        return word


@dataclass
class _Finding:
    zone: Zone
    reasons: list[str]


def _region_name(region: Region) -> str:
    return region.value.replace("_", " ")


def _describe(report: PainReport, source: _Source) -> str:
    flags = " and ".join(flag.value.replace("_", " ") for flag in report.flags)
    where = source.when(report.timing)
    if report.score == 0 and flags:
        return f"{_region_name(report.region)} {flags} {where}"
    text = f"{_region_name(report.region)} pain {report.score}/10 {where}"
    return f"{text}, with {flags}" if flags else text


def _assess(
    reports: list[PainReport],
    previous_morning: dict[Region, int],
    amber_last_time: set[Region],
    source: _Source,
) -> dict[Region, _Finding]:
    findings: dict[Region, _Finding] = {}
    for region in Region:
        group = [r for r in reports if r.region == region]
        if not group:
            continue
        before = previous_morning.get(region)
        red_flag = [
            f"{_describe(r, source)} (red flag)"
            for r in group
            if r.score >= RED_FLAG_MIN or r.flags
        ]
        if red_flag:
            findings[region] = _Finding(Zone.red_flag, red_flag)
            continue
        red = [f"{_describe(r, source)} (red)" for r in group if r.score > AMBER_MAX]
        amber: list[str] = []
        for r in group:
            rise = (
                r.score - before
                if r.timing == PainTiming.next_morning and before is not None
                else 0
            )
            if r.score > AMBER_MAX:
                continue
            if rise >= MORNING_RISE_RED:
                red.append(
                    f"{_describe(r, source)}, {rise} above the previous morning's {before}/10 (red)"
                )
            elif r.score > GREEN_MAX:
                amber.append(_describe(r, source))
            elif rise > 0:
                amber.append(f"{_describe(r, source)}, above the previous morning's {before}/10")
        if red:
            findings[region] = _Finding(Zone.red, red)
        elif amber and region in amber_last_time:
            findings[region] = _Finding(
                Zone.red, [f"{a} (amber for the second session running: red)" for a in amber]
            )
        elif amber:
            findings[region] = _Finding(Zone.amber, [f"{a} (amber)" for a in amber])
        else:
            findings[region] = _Finding(Zone.green, [])
    return findings


def classify(
    reports: list[PainReport],
    previous_morning: dict[Region, int],
    amber_last_time: set[Region],
) -> dict[Region, Zone]:
    """The zone of every region the reports name (a region not named is green).

    `previous_morning`: the last next-morning score known per region before these reports (no
    entry: no baseline, so the next-morning comparison rules do not apply).
    `amber_last_time`: regions that were amber in the previous session.
    """
    found = _assess(reports, previous_morning, amber_last_time, _Source(""))
    return {region: finding.zone for region, finding in found.items()}


# --- helpers ------------------------------------------------------------------------------


def _change(
    state: ProgressionState,
    at: datetime,
    pattern: Pattern,
    pattern_state: PatternState,
    *,
    to_level: int | None = None,
    to_load: float | None = None,
    from_load: float | None = None,
    rule: str,
    reason: str,
) -> LevelChange:
    """Apply a level change (the load is cleared: it belonged to the old rung) or a load change."""
    change = LevelChange(
        at=at,
        pattern=pattern,
        from_level=pattern_state.level,
        to_level=pattern_state.level if to_level is None else to_level,
        from_load_kg=pattern_state.load_kg if from_load is None else from_load,
        to_load_kg=to_load if to_level is None else None,
        rule=rule,
        reason=reason,
    )
    if to_level is not None:
        pattern_state.level = to_level
        pattern_state.load_kg = None
        pattern_state.green_streak = 0
    else:
        pattern_state.load_kg = to_load
    pattern_state.green_at_top = 0
    state.history.append(change)
    return change


def _next_load(load_kg: float) -> float:
    """+5 %, rounded to the nearest 0.5 kg, and never less than +0.5 kg."""
    raised = math.floor(load_kg * (1 + LOAD_STEP) / LOAD_ROUND_KG + 0.5) * LOAD_ROUND_KG
    return max(raised, load_kg + LOAD_ROUND_KG)


def _last_red(status: RegionStatus) -> date | None:
    """Red (and red flag) set `no_heavy_until` to the day of the report plus 7 days."""
    if status.no_heavy_until is None:
        return None
    return status.no_heavy_until - timedelta(days=NO_HEAVY_DAYS)


def _in_red(status: RegionStatus, day: date) -> bool:
    return status.needs_clearance or (
        status.no_heavy_until is not None and day < status.no_heavy_until
    )


def _with_session_flags(feedback: SessionFeedback) -> list[PainReport]:
    """The session's pain reports with its unattached flags put on every region reported."""
    reports = list(feedback.pain)
    if not feedback.flags:
        return reports
    regions = sorted({r.region for r in reports}, key=list(Region).index) or [Region.other]
    for region in regions:
        reports.append(
            PainReport(region=region, score=0, timing=PainTiming.after, flags=list(feedback.flags))
        )
    return reports


def _apply_pain(
    state: ProgressionState,
    reports: list[PainReport],
    at: datetime,
    day: date,
    source: _Source,
    *,
    session: bool,
) -> tuple[list[LevelChange], set[Pattern], dict[Region, Zone]]:
    """Zones and their effects. Returns the changes, the patterns regressed and the zones.

    A completed session sets each region's zone to what it found (a red flag stays until
    cleared). A check-in or a skipped session only escalates: it is not a session, so it cannot
    make the region green, nor count as the second amber session running.
    """
    previous = {
        region: status.morning_score
        for region, status in state.regions.items()
        if status.morning_score is not None
    }
    amber_last = (
        {region for region, status in state.regions.items() if status.zone == Zone.amber}
        if session
        else set()
    )
    findings = _assess(reports, previous, amber_last, source)

    regress: dict[Pattern, list[str]] = defaultdict(list)
    regress_rule: dict[Pattern, str] = {}
    hold: set[Pattern] = set()
    for region, finding in findings.items():
        status = state.regions.setdefault(region, RegionStatus())
        reason = "; ".join(finding.reasons)
        if finding.zone in (Zone.red, Zone.red_flag):
            already = _in_red(status, day)
            until = day + timedelta(days=NO_HEAVY_DAYS)
            status.no_heavy_until = max(until, status.no_heavy_until or until)
            if finding.zone == Zone.red_flag:
                status.zone = Zone.red_flag
                status.needs_clearance = True
                status.reason = reason
            elif not status.needs_clearance:
                status.zone = Zone.red
                status.reason = reason
            for pattern in REGION_PATTERNS[region]:
                hold.add(pattern)
                if not already:
                    regress[pattern].extend(finding.reasons)
                    if regress_rule.get(pattern) != RULE_RED_FLAG:
                        regress_rule[pattern] = (
                            RULE_RED_FLAG if finding.zone == Zone.red_flag else RULE_RED
                        )
        elif status.needs_clearance:
            continue
        elif session:
            status.zone = finding.zone
            if finding.zone == Zone.amber or not _in_red(status, day):
                status.reason = reason
        elif finding.zone == Zone.amber:
            # the last session was not green after all: its count toward a step up is void
            if _ZONE_RANK[status.zone] < _ZONE_RANK[Zone.amber]:
                status.zone = Zone.amber
                status.reason = reason
            hold.update(REGION_PATTERNS[region])

    for region in Region:
        mornings = [
            r.score for r in reports if r.region == region and r.timing == PainTiming.next_morning
        ]
        if mornings:
            state.regions.setdefault(region, RegionStatus()).morning_score = max(mornings)

    if session:  # regions this session did not find amber are no longer amber
        for region, status in state.regions.items():
            if region not in findings and status.zone == Zone.amber:
                status.zone = Zone.green
                status.reason = ""

    changes: list[LevelChange] = []
    for pattern in STRENGTH_PATTERNS:
        pattern_state = state.patterns.get(pattern)
        if pattern_state is None or pattern not in hold:
            continue
        pattern_state.green_at_top = 0
        pattern_state.green_streak = 0
        if pattern in regress and pattern_state.level > 1:
            changes.append(
                _change(
                    state,
                    at,
                    pattern,
                    pattern_state,
                    to_level=pattern_state.level - 1,
                    rule=regress_rule[pattern],
                    reason="; ".join(regress[pattern]),
                )
            )
    zones = {region: finding.zone for region, finding in findings.items()}
    return changes, set(regress), zones


# --- progression --------------------------------------------------------------------------


def full_dose(exercise: Exercise) -> tuple[int, int]:
    """(sets, top of the rep range) of an ordinary week; for holds the second is seconds."""
    top = int(exercise.reps.split("-")[-1]) if exercise.reps else (exercise.hold_s or 0)
    return exercise.sets, top


def _target(exercise: Exercise, prescribed: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return prescribed.get(exercise.id) or full_dose(exercise)


def _deadlift_gate(
    state: ProgressionState, pattern_state: PatternState, day: date, first_logged: date | None
) -> list[str]:
    """Why the deadlift gate is closed (empty: open)."""
    closed: list[str] = []
    logged_days = (day - first_logged).days if first_logged else 0
    if logged_days < GATE_DAYS_LOGGED:
        closed.append(
            f"{logged_days // 7} weeks of logged training (needs {GATE_DAYS_LOGGED // 7})"
        )
    if pattern_state.green_streak < GATE_GREEN_AT_RDL:
        closed.append(
            f"{pattern_state.green_streak} green sessions in a row at the Romanian deadlift "
            f"(needs {GATE_GREEN_AT_RDL})"
        )
    for region in GATE_REGIONS:
        status = state.region(region)
        red_day = _last_red(status)
        if status.needs_clearance:
            closed.append(f"{_region_name(region)} awaits clearance of a red flag")
        elif red_day is not None and (day - red_day).days < GATE_RED_DAYS:
            closed.append(
                f"{_region_name(region)} was red on {red_day} (needs {GATE_RED_DAYS} days clear)"
            )
    return closed


def _step_up(
    state: ProgressionState,
    pattern: Pattern,
    pattern_state: PatternState,
    logged: list[tuple[ExerciseLog, Exercise, tuple[int, int]]],
    at: datetime,
    day: date,
    first_logged: date | None,
    library: Library,
) -> LevelChange | None:
    log, exercise, (sets, top) = logged[0]
    evidence = (
        f"{exercise.id} at the top of its range ({sets} x {top}) on every set, green, "
        f"in {pattern_state.green_at_top} sessions running (latest {day})"
    )
    load = log.load_kg if log.load_kg is not None else pattern_state.load_kg
    level = pattern_state.level
    next_level = level + 1 if level < library.top_level(pattern) else None

    def raise_load(note: str = "") -> LevelChange | None:
        if load is None:
            return None
        new_load = _next_load(load)
        reason = f"{evidence}: load {load:g} -> {new_load:g} kg (+5 %){note}"
        return _change(
            state,
            at,
            pattern,
            pattern_state,
            to_load=new_load,
            from_load=load,
            rule=RULE_TWO_FOR_TWO,
            reason=reason,
        )

    deadlift = library.by_id.get(DEADLIFT_ID)
    if deadlift is not None and pattern == deadlift.pattern and next_level == deadlift.level:
        closed = _deadlift_gate(state, pattern_state, day, first_logged)
        if closed:
            return raise_load(f"; deadlift gate closed: {'; '.join(closed)}")
        reason = (
            f"{evidence}; deadlift gate open: {GATE_DAYS_LOGGED // 7}+ weeks of logged training, "
            f"{pattern_state.green_streak} green sessions in a row at the Romanian deadlift, "
            f"no red for low back, hamstring or knee in {GATE_RED_DAYS} days: "
            f"level {level} -> {next_level}"
        )
        return _change(
            state,
            at,
            pattern,
            pattern_state,
            to_level=next_level,
            rule=RULE_DEADLIFT_GATE,
            reason=reason,
        )
    if load is not None:
        return raise_load()
    if next_level is None:
        return None
    return _change(
        state,
        at,
        pattern,
        pattern_state,
        to_level=next_level,
        rule=RULE_TWO_FOR_TWO,
        reason=f"{evidence}: level {level} -> {next_level}",
    )


def _progress(
    state: ProgressionState,
    feedback: SessionFeedback,
    zones: dict[Region, Zone],
    skip: set[Pattern],
    day: date,
    first_logged: date | None,
    library: Library,
    athlete: Athlete,
) -> list[LevelChange]:
    logged: dict[Pattern, list[tuple[ExerciseLog, Exercise, tuple[int, int]]]] = defaultdict(list)
    for log in feedback.exercises:
        exercise = library.by_id.get(log.exercise_id)
        if exercise is not None:
            logged[exercise.pattern].append((log, exercise, _target(exercise, feedback.prescribed)))
    prescribed_levels: dict[Pattern, list[int]] = defaultdict(list)
    for exercise_id in feedback.prescribed:
        exercise = library.by_id.get(exercise_id)
        if exercise is not None:
            prescribed_levels[exercise.pattern].append(exercise.level)

    changes: list[LevelChange] = []
    for pattern in STRENGTH_PATTERNS:
        if pattern not in feedback.patterns or pattern in skip:
            continue
        pattern_state = state.patterns[pattern]
        regions = PATTERN_REGIONS[pattern]
        green = all(
            zones.get(region, Zone.green) == Zone.green and not state.region(region).needs_clearance
            for region in regions
        )
        entries = logged.get(pattern, [])
        # A session that held a lighter stand-in for the athlete's rung (a light session, or a
        # region's 7-day heavy block: kickstand RDL for the Romanian deadlift) says nothing about
        # the rung: green, it neither counts toward the step (nor the deadlift gate's sessions
        # "at the Romanian deadlift") nor breaks the count; its load is not the rung's load.
        rung = library.rung(pattern, pattern_state.level, athlete)
        if rung is not None:
            done = [exercise.level for _, exercise, _ in entries] or prescribed_levels[pattern]
            if done and max(done) < rung.level:
                if not green:
                    pattern_state.green_streak = pattern_state.green_at_top = 0
                continue
            entries = [entry for entry in entries if entry[1].level >= rung.level]
        pattern_state.green_streak = pattern_state.green_streak + 1 if green else 0
        at_top = bool(entries) and all(
            log.sets >= sets and log.reps is not None and log.reps >= top
            for log, _, (sets, top) in entries
        )
        if not (green and at_top):
            pattern_state.green_at_top = 0
            continue
        pattern_state.green_at_top += 1
        if pattern_state.green_at_top < SESSIONS_AT_TOP:
            continue
        last = pattern_state.last_step_up
        if last is not None and (day - last).days < STEP_UP_DAYS:
            continue
        change = _step_up(
            state, pattern, pattern_state, entries, feedback.at, day, first_logged, library
        )
        if change is not None:
            pattern_state.last_step_up = day
            changes.append(change)
    return changes


# --- the API ------------------------------------------------------------------------------


def apply_feedback(
    state: ProgressionState,
    feedback: SessionFeedback,
    athlete: Athlete,
    first_logged: date | None,
    *,
    library: Library | None = None,
) -> tuple[ProgressionState, list[LevelChange]]:
    """One session's log: pain zones and their effects, first exposures (H9), 2-for-2 steps.

    `first_logged`: the day of the athlete's first logged strength session (deadlift gate).
    A skipped session (completed=False) only has its pain reports applied, as a check-in.
    """
    library = library or load_library()
    new = state.model_copy(deep=True)
    for pattern in STRENGTH_PATTERNS:
        new.patterns.setdefault(
            pattern, PatternState(level=athlete.starting_levels.get(pattern, 1))
        )
    day = feedback.at.astimezone(athlete.zone).date()
    reports = _with_session_flags(feedback)
    if not feedback.completed:
        changes, _, _ = _apply_pain(
            new, reports, feedback.at, day, _Source("skipped", day), session=False
        )
        return new, changes

    changes, regressed, zones = _apply_pain(
        new, reports, feedback.at, day, _Source("session", day), session=True
    )
    done = [log.exercise_id for log in feedback.exercises if log.sets > 0]
    if not feedback.exercises:  # completed with no per-exercise log: done as prescribed
        done = list(feedback.prescribed)
    for exercise_id in FIRST_EXPOSURE_EXERCISES:
        if exercise_id in done and exercise_id not in new.exposures:
            new.exposures.append(exercise_id)
    changes += _progress(new, feedback, zones, regressed, day, first_logged, library, athlete)
    return new, changes


def apply_checkin(
    state: ProgressionState, report: PainReport, at: datetime
) -> tuple[ProgressionState, list[LevelChange]]:
    """A pain score not tied to a session (usually next morning's).

    Red and red flag act as after a session; amber voids the count toward a step up of the
    patterns loading the region; a next-morning score becomes the region's new baseline.
    """
    new = state.model_copy(deep=True)
    day = at.date()
    changes, _, _ = _apply_pain(new, [report], at, day, _Source("check-in", day), session=False)
    return new, changes


def apply_missed_training(
    state: ProgressionState, last_strength: date | None, today: date
) -> tuple[ProgressionState, list[LevelChange]]:
    """2 weeks or more with no strength logged: every pattern one level down (not below 1).

    Once per gap: a missed-training change dated after `last_strength` means it was done.
    With no strength ever logged the athlete is on the coach's starting levels: nothing drops.
    """
    new = state.model_copy(deep=True)
    if last_strength is None or (today - last_strength).days < MISSED_TRAINING_DAYS:
        return new, []
    if any(c.rule == RULE_MISSED_TRAINING and c.at.date() > last_strength for c in new.history):
        return new, []
    at = datetime.combine(today, time.min, tzinfo=UTC)
    weeks = (today - last_strength).days // 7
    changes: list[LevelChange] = []
    for pattern in STRENGTH_PATTERNS:
        pattern_state = new.patterns.get(pattern)
        if pattern_state is None or pattern_state.level <= 1:
            continue
        changes.append(
            _change(
                new,
                at,
                pattern,
                pattern_state,
                to_level=pattern_state.level - 1,
                rule=RULE_MISSED_TRAINING,
                reason=(
                    f"no strength logged since {last_strength} ({weeks} weeks by {today}): "
                    f"level {pattern_state.level} -> {pattern_state.level - 1}"
                ),
            )
        )
    return new, changes


def clear(state: ProgressionState, region: Region, note: str, at: datetime) -> ProgressionState:
    """A coach clears a region's red flag; loading may resume (the 7-day heavy block stands)."""
    new = state.model_copy(deep=True)
    status = new.regions.get(region)
    if status is None or not status.needs_clearance:
        return new
    day = at.date()
    status.needs_clearance = False
    status.zone = Zone.red if _in_red(status, day) else Zone.green
    status.reason = f"red flag cleared by the coach on {day}: {note}"
    return new
