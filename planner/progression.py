"""The progression engine: pain zones and the ladders (domain.md, "Pain and progression").

Pure and deterministic: no I/O, no clock, no solver. Every function takes a ProgressionState and
returns a new one (the input is never changed) with the LevelChanges it made; each change is also
appended to the new state's history with the rule that made it and the reports behind it.

Zones, per region, for one session's reports (or one check-in), domain.md with its Revision 2:

- red flag: a pain score of 8 or more, or any flag (sharp, sudden, swelling, ...);
- red: a score of 6 or more; amber in the session before as well; a next-morning amber for the
  second morning running; soreness of 6 or more two mornings running;
- amber: a score of 4-5 during or after; a next-morning score of 3-5 above the baseline (the
  lowest next-morning score of the 7 days before, 0 when none);
- green: everything else. Soreness (`kind: soreness`) is green unless it stays high.

Effects: red steps every pattern loading the region down once (once per red spell: a region
already in its 7-day red window, or awaiting clearance, is not stepped down again) and blocks
heavy work on it for 7 days; a step down keeps a load (the rung below at its last load, or the
same lift at 10 % less); from a first-exposure lift never done (H9) it steps from the rung the
sessions held in its place. A pattern with nothing easier to step to (its easiest rung, or a load
already at the empty bar) is held at half its sets for the 7 days instead (`reduced_until`,
recorded in the history with the same level): a red that changed nothing would leave the same
work in the plan. A red flag does the same and marks the region `needs_clearance` until
a coach calls `clear`. Amber holds. Green counts toward the 2-for-2 step up, which also needs
RPE 8 or less when an RPE is given. Pain of 1-5 on 7 days running marks the region for the
coach's review without moving a level. The first barbell Romanian deadlift and the deadlift
wait for a coach's sign-off (`approve`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from planner.domain import (
    REGION_PATTERNS,
    STRENGTH_PATTERNS,
    Approval,
    Athlete,
    LevelChange,
    PainFlag,
    PainKind,
    PainReport,
    PainTiming,
    Pattern,
    PatternState,
    Prescription,
    ProgressionState,
    Region,
    RegionStatus,
    Zone,
    last_day,
)
from planner.library import Exercise, Library, load_library
from planner.loads import next_load, reduced_load

# rule ids written to LevelChange.rule
RULE_RED = "red"
RULE_RED_FLAG = "red_flag"
RULE_TWO_FOR_TWO = "2-for-2"
# a loaded rung below a max-strength lift takes this many load steps before the next rung
# (domain.md: +5-10 % load on loaded rungs; then the harder variation)
LOAD_STEPS_PER_RUNG = 2
RULE_DEADLIFT_GATE = "deadlift_gate"
RULE_MISSED_TRAINING = "missed_training"
RULE_APPROVAL = "approval"

GREEN_MAX = 3  # every score during and after at most 3
AMBER_MAX = 5  # 4-5 is amber, 6 or more is red
RED_FLAG_MIN = 8
MORNING_GREEN_MAX = 2  # next morning: green while at most 2 (or no higher than the baseline)
BASELINE_DAYS = 7  # the baseline is the lowest morning of the last 7 days
# pain of 1-3 (domain.md Revision 2) and of 4-5 too: a next-morning 4/10 no higher than the
# 7-day baseline reads green, so 4/10 every morning went on for good with nothing said to the
# coach (a coach's review) ...
LOW_GRADE = (1, 5)
LOW_GRADE_DAYS = 7  # ... on 7 days running asks the coach to review
NO_HEAVY_DAYS = 7
STEP_UP_DAYS = 7  # at most one step up per pattern per week
SESSIONS_AT_TOP = 2  # NSCA 2-for-2
RPE_STEP_MAX = 8  # the 2-for-2 step needs 2 reps in reserve; RPE 9-10 holds
GATE_DAYS_LOGGED = 6 * 7
GATE_GREEN_AT_RDL = 4
GATE_RED_DAYS = 14
GATE_REGIONS = (Region.low_back, Region.hamstring, Region.knee)
RDL_ID = "romanian_deadlift"
DEADLIFT_ID = "deadlift"
MISSED_TRAINING_DAYS = 14
# the usual longest spacing of a plan's strength sessions (T1 wants one a week outside race
# weeks): a longer gap the plan made after the last log is not counted as missed training
PLANNED_SPACING_DAYS = 7
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
    rpe: int | None = None  # effort of the exercise's sets; the session's RPE when missing


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
    # None: the report did not say whether the session was done (api.feedback takes its pain
    # all the same): the pain counts as reported with the session, nothing else does
    completed: bool | None
    rpe: int | None = None
    pain: list[PainReport] = field(default_factory=list)
    flags: list[PainFlag] = field(default_factory=list)
    exercises: list[ExerciseLog] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    prescribed: dict[str, tuple[int, int]] = field(default_factory=dict)
    # exercises the session held below their full dose (a deload, taper or race week, a B
    # race's half volume, a red's halving): (sets, top of the prescribed range) as prescribed
    lighter: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the report logged exercises, though none was counted (api.feedback leaves out entries it
    # cannot take): then nothing is done as prescribed, only what was counted
    log_sent: bool = False

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("SessionFeedback.at must carry a UTC offset or time zone")


# --- zones --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where reports came from, for the reasons: a session, a skipped session or a check-in."""

    kind: str  # "session", "skipped", "unsaid" (done or not not said), "check-in", ""
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
        if self.kind == "unsaid":
            return f"{word}, reported with the session of {self.day}"
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
    # soreness is named as such: a red from soreness high two mornings running read as "pain"
    # (a coach's review)
    text = f"{_region_name(report.region)} {report.kind.value} {report.score}/10 {where}"
    return f"{text}, with {flags}" if flags else text


@dataclass(frozen=True)
class _Mornings:
    """What the next-morning rules of Revision 2 compare with, per region."""

    # the lowest next-morning pain score of the 7 days before (0 when none)
    baseline: dict[Region, int] = field(default_factory=dict)
    # regions whose morning before was amber, or sore at 6 or more
    amber_yesterday: frozenset[Region] = frozenset()
    sore_yesterday: frozenset[Region] = frozenset()


def _assess(
    reports: list[PainReport],
    mornings: _Mornings,
    amber_last_time: set[Region],
    source: _Source,
) -> dict[Region, _Finding]:
    findings: dict[Region, _Finding] = {}
    for region in Region:
        group = [r for r in reports if r.region == region]
        if not group:
            continue
        red_flag = [
            f"{_describe(r, source)} (red flag)"
            for r in group
            if r.flags or (r.kind == PainKind.pain and r.score >= RED_FLAG_MIN)
        ]
        if red_flag:
            findings[region] = _Finding(Zone.red_flag, red_flag)
            continue
        red: list[str] = []
        amber: list[str] = []
        baseline = mornings.baseline.get(region, 0)
        for r in group:
            morning = r.timing == PainTiming.next_morning
            if r.kind == PainKind.soreness:
                # muscle soreness moves nothing unless it stays high: 6+ two mornings running
                if morning and r.score > AMBER_MAX and region in mornings.sore_yesterday:
                    red.append(f"{_describe(r, source)}, 6 or more two mornings running (red)")
                continue
            if r.score > AMBER_MAX:
                red.append(f"{_describe(r, source)} (red)")
            elif morning:
                if r.score <= MORNING_GREEN_MAX or r.score <= baseline:
                    continue
                if region in mornings.amber_yesterday:
                    red.append(
                        f"{_describe(r, source)}, above the 7-day baseline of {baseline}/10 "
                        "for the second morning running (red)"
                    )
                else:
                    amber.append(
                        f"{_describe(r, source)}, above the 7-day baseline of {baseline}/10"
                    )
            elif r.score > GREEN_MAX:
                amber.append(_describe(r, source))
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
    baseline: dict[Region, int],
    amber_last_time: set[Region],
    *,
    amber_yesterday: set[Region] = frozenset(),  # type: ignore[assignment]
    sore_yesterday: set[Region] = frozenset(),  # type: ignore[assignment]
) -> dict[Region, Zone]:
    """The zone of every region the reports name (a region not named is green).

    `baseline`: the lowest next-morning score of the last 7 days per region (none: 0).
    `amber_last_time`: regions that were amber in the previous session; `amber_yesterday` and
    `sore_yesterday`: regions amber, or sore at 6 or more, the morning before.
    """
    mornings = _Mornings(baseline, frozenset(amber_yesterday), frozenset(sore_yesterday))
    found = _assess(reports, mornings, amber_last_time, _Source(""))
    return {region: finding.zone for region, finding in found.items()}


def morning_baseline(status: RegionStatus, morning: date) -> int:
    """The lowest next-morning pain score of the 7 days before `morning`; 0 when there is none
    (a morning report older than 7 days is no baseline)."""
    recent = [
        score for day, score in status.mornings.items() if 0 < (morning - day).days <= BASELINE_DAYS
    ]
    return min(recent, default=0)


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
    """Apply a level change, a load change, or both: a level change lands on `to_load` (the
    new rung's load when one is known, else none), a load change keeps the level."""
    change = LevelChange(
        at=at,
        pattern=pattern,
        from_level=pattern_state.level,
        to_level=pattern_state.level if to_level is None else to_level,
        from_load_kg=pattern_state.load_kg if from_load is None else from_load,
        to_load_kg=to_load,
        rule=rule,
        reason=reason,
    )
    if to_level is not None and to_level != pattern_state.level:
        pattern_state.level = to_level
        pattern_state.green_streak = 0
        pattern_state.awaiting_approval = None
    pattern_state.load_kg = to_load
    pattern_state.load_at = at
    pattern_state.green_at_top = 0
    state.history.append(change)
    return change


def _known_load(
    state: ProgressionState, exercise: Exercise | None, athlete: Athlete | None
) -> float | None:
    """The load last logged (or stepped to) on an exercise, else the coach's starting load."""
    if exercise is None or exercise.implement is None:
        return None
    logged = state.loads.get(exercise.id)
    if logged is not None:
        return logged
    return athlete.starting_loads.get(exercise.id) if athlete else None


def _current_load(
    state: ProgressionState,
    pattern_state: PatternState,
    exercise: Exercise | None,
    athlete: Athlete | None,
) -> float | None:
    if pattern_state.load_kg is not None:
        return pattern_state.load_kg
    return _known_load(state, exercise, athlete)


LESS = "10 % less, rounded down to the plates"


def _step_down(
    state: ProgressionState,
    pattern: Pattern,
    pattern_state: PatternState,
    athlete: Athlete | None,
    library: Library,
    *,
    layoff: bool,
) -> tuple[int, float | None, str]:
    """Where a step down lands: (level, load, words) (domain.md Revision 2, "a step down keeps
    a load").

    A loaded lift with a known load drops to the rung below at that rung's last logged load
    (a layoff takes 10 % off it too), or, when the rung below takes a load nobody has logged,
    stays on the same lift at 10 % less: never back to an empty bar. Unloaded work, or a lift
    with no load known, drops one rung.
    """
    level = pattern_state.level
    current = library.rung(pattern, level, athlete) if athlete else None
    words = f"level {level} -> "
    if (
        current is not None
        and current.id in FIRST_EXPOSURE_EXERCISES
        and current.id not in state.exposures
        and (below := library.below(current, athlete)) is not None
    ):
        # a first-exposure lift never done (H9): the sessions held the rung below in its place
        # (a stand-in), so the step down is from what the athlete has been doing
        words = f"level {level} ({current.name}, not yet done) -> "
        current, level = below, below.level
    lower = library.below(current, athlete) if current and athlete else None
    load = (
        _current_load(state, pattern_state, current, athlete)
        if level == pattern_state.level
        else _known_load(state, current, athlete)
    )
    if current is None or current.implement is None or load is None:
        lower_load = _known_load(state, lower, athlete)
        return level - 1, lower_load, f"{words}{level - 1}"
    assert athlete is not None
    if lower is not None and lower.implement is None:
        return level - 1, None, f"{words}{level - 1} ({lower.name})"
    lower_load = _known_load(state, lower, athlete)
    if lower is not None and lower_load is not None and lower.implement is not None:
        if layoff:
            lower_load = reduced_load(lower_load, lower.implement)
            return (
                level - 1,
                lower_load,
                f"{words}{level - 1} ({lower.name} at {lower_load:g} kg, 10 % under its last load)",
            )
        return (
            level - 1,
            lower_load,
            f"{words}{level - 1} ({lower.name} at its last load, {lower_load:g} kg)",
        )
    less = reduced_load(load, current.implement)
    if level != pattern_state.level:
        return level, less, f"{words}{level} ({current.name} at {less:g} kg, {LESS})"
    return level, less, f"{current.name} kept at {LESS}: {load:g} -> {less:g} kg"


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


def _morning_of(report: PainReport, day: date, source: _Source) -> date:
    """The local day a report speaks for: a session's next-morning report is the day after."""
    if report.timing == PainTiming.next_morning and source.kind in ("session", "skipped", "unsaid"):
        return day + timedelta(days=1)
    return day


def _mornings(
    state: ProgressionState, reports: list[PainReport], day: date, source: _Source
) -> _Mornings:
    baseline: dict[Region, int] = {}
    amber: set[Region] = set()
    sore: set[Region] = set()
    for report in reports:
        if report.timing != PainTiming.next_morning:
            continue
        morning = _morning_of(report, day, source)
        status = state.region(report.region)
        baseline[report.region] = morning_baseline(status, morning)
        yesterday = morning - timedelta(days=1)
        if status.morning_amber_on == yesterday:
            amber.add(report.region)
        if status.sore_morning_on == yesterday:
            sore.add(report.region)
    return _Mornings(baseline, frozenset(amber), frozenset(sore))


def _record_mornings_and_low_grade(
    state: ProgressionState,
    reports: list[PainReport],
    findings: dict[Region, _Finding],
    day: date,
    source: _Source,
) -> None:
    """Keep what the next reports are judged by: morning scores (baseline), an amber or sore
    morning (two running), and the days of low-grade pain (7 running ask for a review)."""
    for report in reports:
        status = state.regions.setdefault(report.region, RegionStatus())
        when = _morning_of(report, day, source)
        if report.timing == PainTiming.next_morning:
            if report.kind == PainKind.soreness:
                if report.score > AMBER_MAX:
                    status.sore_morning_on = when
                continue
            status.mornings[when] = max(report.score, status.mornings.get(when, 0))
            status.mornings = {
                d: score for d, score in status.mornings.items() if (when - d).days <= BASELINE_DAYS
            }
            status.morning_score = report.score
            finding = findings.get(report.region)
            if (
                finding is not None
                and finding.zone == Zone.amber
                and report.score > MORNING_GREEN_MAX
            ):
                status.morning_amber_on = when
        if report.kind != PainKind.pain:
            continue
        low, high = LOW_GRADE
        if report.score == 0 and not report.flags:
            status.low_grade_days = []
            status.needs_review = False
            status.review_reason = ""
        elif low <= report.score <= high:
            days = sorted({*status.low_grade_days, when})
            days = [d for d in days if (when - d).days < 2 * LOW_GRADE_DAYS]
            status.low_grade_days = days
            run = [when - timedelta(days=i) for i in range(LOW_GRADE_DAYS)]
            if all(d in days for d in run):
                status.needs_review = True
                status.review_reason = (
                    f"{_region_name(report.region)}: pain of {low}-{high}/10 reported on "
                    f"{LOW_GRADE_DAYS} days running ({run[-1]} to {when}); levels are "
                    "unchanged, but the coach should review it with the athlete"
                )


def _apply_pain(
    state: ProgressionState,
    reports: list[PainReport],
    at: datetime,
    day: date,
    source: _Source,
    *,
    session: bool,
    athlete: Athlete | None = None,
    library: Library | None = None,
) -> tuple[list[LevelChange], set[Pattern], dict[Region, Zone]]:
    """Zones and their effects. Returns the changes, the patterns regressed and the zones.

    A completed session sets each region's zone to what it found (a red flag stays until
    cleared). A check-in or a skipped session only escalates: it is not a session, so it cannot
    make the region green, nor count as the second amber session running.
    """
    library = library or load_library()
    amber_last = (
        {region for region, status in state.regions.items() if status.zone == Zone.amber}
        if session
        else set()
    )
    findings = _assess(reports, _mornings(state, reports, day, source), amber_last, source)

    regress: dict[Pattern, list[str]] = defaultdict(list)
    regress_rule: dict[Pattern, str] = {}
    hold: set[Pattern] = set()
    for region, finding in findings.items():
        status = state.regions.setdefault(region, RegionStatus())
        reason = "; ".join(finding.reasons)
        if finding.zone in (Zone.red, Zone.red_flag):
            already = _in_red(status, day)
            until = day + timedelta(days=NO_HEAVY_DAYS)
            # a report dated before the region's latest red (logged late) does not rename it
            latest = status.no_heavy_until is None or until >= status.no_heavy_until
            status.no_heavy_until = max(until, status.no_heavy_until or until)
            if finding.zone == Zone.red_flag:
                status.zone = Zone.red_flag
                status.needs_clearance = True
                status.reason = reason
            elif not status.needs_clearance:
                status.zone = Zone.red
                if latest:
                    status.reason = reason
            for pattern in REGION_PATTERNS[region]:
                hold.add(pattern)
                halved = state.patterns.get(pattern)
                if already and halved and halved.reduced_until and halved.reduced_until > day:
                    # a red inside the window extends the halving with the heavy block
                    halved.reduced_until = max(halved.reduced_until, until)
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

    _record_mornings_and_low_grade(state, reports, findings, day, source)

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
        # a step earned before the pain waits for no sign-off now: it has to be earned again
        pattern_state.awaiting_approval = None
        if pattern not in regress:
            continue
        level, load, words = _step_down(
            state, pattern, pattern_state, athlete, library, layoff=False
        )
        if level < 1 or (level == pattern_state.level and load == pattern_state.load_kg):
            # nothing easier to step down to: the red window halves the pattern's sets instead
            # (a red that changed nothing would leave the same work in the plan)
            until = day + timedelta(days=NO_HEAVY_DAYS)
            pattern_state.reduced_until = max(until, pattern_state.reduced_until or until)
            level, load = pattern_state.level, pattern_state.load_kg
            last = last_day(pattern_state.reduced_until).isoformat()
            words = (
                f"already on the easiest rung, half the sets through {last}"
                if regress_rule[pattern] != RULE_RED_FLAG
                else "already on the easiest rung: stopped until the coach clears the red flag, "
                f"then half the sets for {NO_HEAVY_DAYS} days"
            )
        changes.append(
            _change(
                state,
                at,
                pattern,
                pattern_state,
                to_level=level,
                to_load=load,
                rule=regress_rule[pattern],
                reason=f"{'; '.join(regress[pattern])}: {words}",
            )
        )
    zones = {region: finding.zone for region, finding in findings.items()}
    return changes, set(regress), zones


# --- progression --------------------------------------------------------------------------


def full_dose(exercise: Exercise) -> tuple[int, int]:
    """(sets, top of the rep range) of an ordinary week; for holds the second is seconds."""
    return exercise.sets, exercise.top_reps


def lighter_doses(
    prescriptions: list[Prescription], library: Library
) -> dict[str, tuple[int, int]]:
    """The strength exercises held below their full dose, each (sets, top of the range) as
    prescribed (seconds for holds): what a deload or taper session asked (SessionFeedback)."""
    found = {}
    for p in prescriptions:
        exercise = library.by_id.get(p.exercise_id)
        if exercise is None or p.pattern == Pattern.mobility:
            continue
        top = int(p.reps.split("-")[-1]) if p.reps else (p.hold_s or 0)
        full_sets, full_top = full_dose(exercise)
        if p.sets < full_sets or top < full_top:
            found[p.exercise_id] = (p.sets, top)
    return found


def target_dose(exercise: Exercise, prescribed_sets: int) -> tuple[int, int]:
    """The top of the range a logged session is judged against: the library's full dose, or
    the session's own sets where it asked for more (a base phase's 4 sets of a heavy lift)."""
    sets, top = full_dose(exercise)
    return max(sets, prescribed_sets), top


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


def _awaits_sign_off(state: ProgressionState, exercise: Exercise) -> bool:
    return exercise.needs_approval and exercise.id not in state.approvals


def _step_up(
    state: ProgressionState,
    pattern: Pattern,
    pattern_state: PatternState,
    logged: list[tuple[ExerciseLog, Exercise, tuple[int, int]]],
    at: datetime,
    day: date,
    first_logged: date | None,
    library: Library,
    athlete: Athlete,
    *,
    stale: bool = False,
    held: list[str] | None = None,
) -> LevelChange | None:
    """The 2-for-2 step: the next rung, or a plate-sized load step on a lift that has no
    (other) rung above it for this athlete or is a max-strength lift short of its gate.
    `stale`: the log is older than the pattern's load (logged late): the step starts from the
    pattern's load, not the log's. `held` gets a line when missing kit stops the climb."""
    log, exercise, (sets, top) = logged[0]
    evidence = (
        f"{exercise.name} at the top of its range ({sets} x {top}) on every set, green"
        f"{', RPE 8 or less' if _effort(log, None) is not None else ''}, "
        f"in {pattern_state.green_at_top} sessions running (latest {day})"
    )
    load = log.load_kg if log.load_kg is not None and not stale else pattern_state.load_kg
    if load is None:
        load = _known_load(state, exercise, athlete)
    level = pattern_state.level
    after, no_kit = library.next_rung(pattern, level, athlete)
    skipped = f" (over {', '.join(e.name for e in no_kit)}: no kit)" if after and no_kit else ""

    def raise_load(note: str = "") -> LevelChange | None:
        if load is None or exercise.implement is None:
            return None
        new_load = next_load(load, exercise.implement)
        reason = f"{evidence}: load {load:g} -> {new_load:g} kg{note}"
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

    def wait_for(rung: Exercise, note: str = "") -> LevelChange | None:
        pattern_state.awaiting_approval = rung.id
        # keep progressing the current lift's load while the coach has not signed off
        return raise_load(f"{note}; {rung.name} waits for the coach's sign-off") or None

    if after is not None and after.id == DEADLIFT_ID:
        closed = _deadlift_gate(state, pattern_state, day, first_logged)
        if closed:
            return raise_load(f"; deadlift gate closed: {'; '.join(closed)}")
        opened = (
            f"deadlift gate open: {GATE_DAYS_LOGGED // 7}+ weeks of logged training, "
            f"{pattern_state.green_streak} green sessions in a row at the Romanian deadlift, "
            f"no red for low back, hamstring or knee in {GATE_RED_DAYS} days"
        )
        if _awaits_sign_off(state, after):
            return wait_for(after, f"; {opened}")
        return _change(
            state,
            at,
            pattern,
            pattern_state,
            to_level=after.level,
            to_load=_known_load(state, after, athlete),
            rule=RULE_DEADLIFT_GATE,
            reason=f"{evidence}; {opened}; signed off by the coach: level {level} -> {after.level}",
        )
    if after is None or (exercise.max_strength and load is not None):
        # a max-strength lift grows by load; so does a loaded top rung
        change = raise_load()
        if change is None and no_kit and held is not None:
            # the kit is what stops the climb: the coach hears it (a bodyweight-only athlete
            # held every ladder at the top of its range for a season without a word)
            held.append(_no_kit_line(exercise, no_kit, athlete))
        return change
    if (
        exercise.implement is not None
        and load is not None
        and not after.needs_approval
        and (steps_highest := _steps_and_highest(state, pattern, level))[0] < LOAD_STEPS_PER_RUNG
    ):
        # a loaded rung grows by load first (domain.md: +5-10 % on loaded rungs), then climbs;
        # not the light technique rung before a lift that needs the coach's sign-off: it stays
        # light, its step is the sign-off. A step to a load not above the rung's highest is the
        # same step again (the athlete has not lifted it yet): not numbered as a new one
        steps, highest = steps_highest
        if exercise.implement is not None and next_load(load, exercise.implement) <= highest:
            return raise_load(f" (again: {highest:g} kg is not logged yet at this rung)")
        return raise_load(
            f" (step {steps + 1} of {LOAD_STEPS_PER_RUNG} at this rung before {after.name})"
        )
    if _awaits_sign_off(state, after):
        return wait_for(after)
    return _change(
        state,
        at,
        pattern,
        pattern_state,
        to_level=after.level,
        to_load=_known_load(state, after, athlete),
        rule=RULE_TWO_FOR_TWO,
        reason=f"{evidence}: level {level} -> {after.level}{skipped}",
    )


def _no_kit_line(exercise: Exercise, no_kit: list[Exercise], athlete: Athlete) -> str:
    wanted = "; ".join(
        f"{e.name} needs {' and '.join(k.value for k in e.equipment if k not in athlete.equipment)}"
        for e in no_kit
    )
    return (
        f"{exercise.name}: the step is earned, but the next rung needs kit the athlete has not "
        f"got ({wanted}): add it to the athlete's equipment to climb"
    )


def _steps_and_highest(state: ProgressionState, pattern: Pattern, level: int) -> tuple[int, float]:
    """The 2-for-2 load steps the pattern has taken on this rung, over its whole history, and the
    highest load one prescribed (0: none). A rung returned to after a step down has its earlier
    steps behind it (counted from the return, the athlete would climb 2 steps past the load they
    had before the pain). Only a step to a load above every earlier one counts: an athlete who
    kept lifting 12 kg when 14 kg was prescribed was stepped "12 -> 14 kg" twice, and climbed
    to the next rung without ever lifting 14 kg (a coach's review)."""
    steps, highest = 0, 0.0
    for change in state.history:
        if (
            change.pattern == pattern
            and change.rule == RULE_TWO_FOR_TWO
            and change.from_level == change.to_level == level
            and change.from_load_kg is not None
            and change.to_load_kg is not None
            and change.to_load_kg > change.from_load_kg
            and change.to_load_kg > highest
        ):
            steps += 1
            highest = change.to_load_kg
    return steps, highest


def _effort(log: ExerciseLog, session_rpe: int | None) -> int | None:
    """The effort of a logged exercise: its own RPE, else the session's, else unknown."""
    return log.rpe if log.rpe is not None else session_rpe


def _listed_names(entries: list[tuple[ExerciseLog, Exercise, tuple[int, int]]]) -> str:
    return " and ".join(dict.fromkeys(exercise.name for _, exercise, _ in entries))


def _held_line(
    state: ProgressionState,
    entries: list[tuple[ExerciseLog, Exercise, tuple[int, int]]],
    regions: tuple[Region, ...],
    zones: dict[Region, Zone],
    session_rpe: int | None,
    green: bool,
) -> str:
    """Why a log at the top of its range did not count toward the step."""
    names = _listed_names(entries)
    if not green:
        why = [
            f"{_region_name(r)} "
            + ("awaits clearance" if state.region(r).needs_clearance else zones[r].value)
            for r in regions
            if state.region(r).needs_clearance or zones.get(r, Zone.green) != Zone.green
        ]
        return (
            f"{names}: top of the range, held because {' and '.join(why)} (the step needs "
            "green); the count starts again"
        )
    hardest = max((_effort(log, session_rpe) or 0) for log, _, _ in entries)
    return (
        f"{names}: top of the range at RPE {hardest}, held (the step needs RPE {RPE_STEP_MAX} or "
        "less: 2 reps in reserve); the count starts again"
    )


def _lighter_as_prescribed(
    feedback: SessionFeedback,
    pattern: Pattern,
    entries: list[tuple[ExerciseLog, Exercise, tuple[int, int]]],
    library: Library,
) -> bool:
    """Whether the session prescribed the pattern below its full dose (`feedback.lighter`) and
    the athlete did what it asked: each logged exercise at its prescribed sets and reps, or the
    session completed with no exercise logged (taken as done as prescribed)."""
    lighter = feedback.lighter
    if not lighter:
        return False
    if not entries:
        held = [
            exercise_id
            for exercise_id in feedback.prescribed
            if (e := library.by_id.get(exercise_id)) is not None and e.pattern == pattern
        ]
        return bool(held) and not feedback.log_sent and all(i in lighter for i in held)
    return all(
        log.exercise_id in lighter
        and log.sets >= lighter[log.exercise_id][0]
        and log.reps is not None
        and log.reps >= lighter[log.exercise_id][1]
        for log, _, _ in entries
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
    held: list[str],
) -> list[LevelChange]:
    """The 2-for-2 steps this session earned; `held` gets a line for each pattern whose log
    reached the top of its range but did not count (a region not green, RPE over 8) or whose
    step waits for the week to pass."""
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
        # the pattern's regions and those its lifts load themselves (a step-up loads the
        # hamstring, a ball curl held in a bridge the low back): a coach's review saw the
        # report that raised a hamstring red flag step the step-up up
        lifts = [e.id for _, e, _ in logged.get(pattern, [])] or [
            i for i in feedback.prescribed if (e := library.by_id.get(i)) and e.pattern == pattern
        ]
        regions = tuple(
            dict.fromkeys(
                [*PATTERN_REGIONS[pattern], *(r for i in lifts for r in library.by_id[i].regions)]
            )
        )
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
        back_from_layoff = False
        if rung is not None:
            done = [exercise.level for _, exercise, _ in entries] or prescribed_levels[pattern]
            if done and max(done) < rung.level:
                if not green:
                    pattern_state.green_streak = pattern_state.green_at_top = 0
                continue
            entries = [entry for entry in entries if entry[1].level >= rung.level]
            for log, exercise, _ in entries:
                if exercise.id == rung.id and log.load_kg is not None and log.sets > 0:
                    if _stale(pattern_state, feedback.at):
                        continue
                    dropped = pattern_state.load_kg
                    if (
                        dropped is not None
                        and log.load_kg > dropped
                        and _layoff_drop_on(state, pattern, day, athlete)
                    ):
                        # the first session back, done at the old load before any re-plan
                        # dropped it: the layoff's load stands for the sessions after (a
                        # coach's review: the log set it back, and the next 2-for-2 went above)
                        held.append(
                            f"{exercise.name}: {log.load_kg:g} kg logged on the first session "
                            f"after the layoff; the next sessions start from the layoff's "
                            f"{dropped:g} kg, and this one does not count toward the 2-for-2 step"
                        )
                        back_from_layoff = True
                        continue
                    # the next session starts from it
                    pattern_state.load_kg, pattern_state.load_at = log.load_kg, feedback.at
        pattern_state.green_streak = pattern_state.green_streak + 1 if green else 0
        if back_from_layoff:
            continue  # done above the load the plan now holds: the step counts from the next
        at_top = bool(entries) and all(
            log.sets >= sets and log.reps is not None and log.reps >= top
            for log, _, (sets, top) in entries
        )
        # 2-for-2 needs RPE 8 or less (2 reps in reserve); without an RPE the reps decide
        easy_enough = all(
            (_effort(log, feedback.rpe) or 0) <= RPE_STEP_MAX for log, _, _ in entries
        )
        if not (green and at_top and easy_enough):
            if (
                green
                and easy_enough
                and _lighter_as_prescribed(feedback, pattern, entries, library)
            ):
                # a deload, taper or race-week session done as prescribed cannot reach the top
                # of the full range: it neither counts toward the step nor breaks the count
                continue
            if at_top:
                held.append(_held_line(state, entries, regions, zones, feedback.rpe, green))
            pattern_state.green_at_top = 0
            continue
        pattern_state.green_at_top += 1
        if pattern_state.green_at_top < SESSIONS_AT_TOP:
            continue
        last = pattern_state.last_step_up
        if last is not None and (day - last).days < STEP_UP_DAYS:
            names = _listed_names(entries)
            held.append(
                f"{names}: the step is earned but waits until {last + timedelta(STEP_UP_DAYS)} "
                f"(one step a week; the last was on {last})"
            )
            continue
        change = _step_up(
            state,
            pattern,
            pattern_state,
            entries,
            feedback.at,
            day,
            first_logged,
            library,
            athlete,
            stale=_stale(pattern_state, feedback.at),
            held=held,
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
    held: list[str] | None = None,
) -> tuple[ProgressionState, list[LevelChange]]:
    """One session's log: pain zones and their effects, first exposures (H9), 2-for-2 steps.

    `first_logged`: the day of the athlete's first logged strength session (deadlift gate).
    A skipped session (completed=False), or one whose report did not say (None), only has its
    pain reports applied, as a check-in. `held`, when given, gets a line for each exercise
    logged at the top of its range that did not count toward its step, and why (no change of
    level or load, so nothing in the history says it).
    """
    library = library or load_library()
    held = held if held is not None else []
    new = state.model_copy(deep=True)
    for pattern in STRENGTH_PATTERNS:
        new.patterns.setdefault(
            pattern, PatternState(level=athlete.starting_levels.get(pattern, 1))
        )
    day = feedback.at.astimezone(athlete.zone).date()
    reports = _with_session_flags(feedback)
    if not feedback.completed:
        changes, _, _ = _apply_pain(
            new,
            reports,
            feedback.at,
            day,
            _Source("skipped" if feedback.completed is False else "unsaid", day),
            session=False,
            athlete=athlete,
            library=library,
        )
        return new, changes

    feedback = _without_zero_loads(feedback, state, athlete, library, held)
    # first: a red after the first Nordic or deadlift steps down from that lift (_step_down)
    done = [log.exercise_id for log in feedback.exercises if log.sets > 0]
    if not feedback.exercises and not feedback.log_sent:
        done = list(feedback.prescribed)  # completed with no per-exercise log: as prescribed
    new.record_done(done, FIRST_EXPOSURE_EXERCISES)
    changes, regressed, zones = _apply_pain(
        new,
        reports,
        feedback.at,
        day,
        _Source("session", day),
        session=True,
        athlete=athlete,
        library=library,
    )
    for log in feedback.exercises:
        logged_at = new.loads_at.get(log.exercise_id)
        if (
            log.load_kg is not None
            and log.sets > 0
            and (logged_at is None or feedback.at >= logged_at)
        ):
            new.loads[log.exercise_id] = log.load_kg
            new.loads_at[log.exercise_id] = feedback.at
    changes += _progress(new, feedback, zones, regressed, day, first_logged, library, athlete, held)
    _remember_loads(new, athlete, library)
    return new, changes


def _without_zero_loads(
    feedback: SessionFeedback,
    state: ProgressionState,
    athlete: Athlete,
    library: Library,
    held: list[str],
) -> SessionFeedback:
    """A load of 0 kg (or less) is no load: logged for a loaded lift, the next sessions were
    prescribed "at 0 kg" (a trial). It is read as no load given; `held` says so for a lift
    that takes a load, with the load that stands."""
    zero = [log for log in feedback.exercises if log.load_kg is not None and log.load_kg <= 0]
    if not zero:
        return feedback
    for log in zero:
        exercise = library.by_id.get(log.exercise_id)
        if exercise is None or exercise.implement is None:
            continue
        pattern_state = state.patterns.get(exercise.pattern)
        kept = state.loads.get(exercise.id)
        if kept is None and pattern_state is not None:
            rung = library.rung(exercise.pattern, pattern_state.level, athlete)
            kept = pattern_state.load_kg if rung is not None and rung.id == exercise.id else None
        stands = f"its load stays at {kept:g} kg" if kept is not None else "no load is set"
        held.append(f"{exercise.name}: {log.load_kg:g} kg is no load, so {stands}")
    return replace(
        feedback,
        exercises=[
            replace(log, load_kg=None) if log.load_kg is not None and log.load_kg <= 0 else log
            for log in feedback.exercises
        ],
    )


def _layoff_drop_on(state: ProgressionState, pattern: Pattern, day: date, athlete: Athlete) -> bool:
    """Whether the pattern's last change is a missed-training drop made on the local `day`
    (apply_missed_training dates it at the day's start: the session's own feedback judged it)."""
    last = next((c for c in reversed(state.history) if c.pattern == pattern), None)
    return (
        last is not None
        and last.rule == RULE_MISSED_TRAINING
        and last.at.astimezone(athlete.zone).date() == day
    )


def _stale(pattern_state: PatternState, at: datetime) -> bool:
    """Whether a report dated `at` is older than the pattern's load: logged late, after a later
    session's report (or a step) set the load, it leaves the load as it is."""
    return pattern_state.load_at is not None and at < pattern_state.load_at


def _remember_loads(state: ProgressionState, athlete: Athlete, library: Library) -> None:
    """A load set on a pattern is the load of its current lift: remember it by exercise, so a
    later step down to this lift lands on it."""
    for pattern, pattern_state in state.patterns.items():
        if pattern_state.load_kg is None:
            continue
        rung = library.rung(pattern, pattern_state.level, athlete)
        if rung is not None and rung.implement is not None:
            state.loads[rung.id] = pattern_state.load_kg


def apply_checkin(
    state: ProgressionState,
    report: PainReport,
    at: datetime,
    *,
    athlete: Athlete | None = None,
    library: Library | None = None,
) -> tuple[ProgressionState, list[LevelChange]]:
    """A pain score not tied to a session (usually next morning's).

    Red and red flag act as after a session; amber voids the count toward a step up of the
    patterns loading the region; a next-morning score joins the region's 7-day baseline.
    With the athlete, a red keeps a load on the way down (see _step_down).
    """
    new = state.model_copy(deep=True)
    day = at.date()
    changes, _, _ = _apply_pain(
        new,
        [report],
        at,
        day,
        _Source("check-in", day),
        session=False,
        athlete=athlete,
        library=library,
    )
    return new, changes


def apply_missed_training(
    state: ProgressionState,
    last_strength: date | None,
    today: date,
    *,
    due: date | None = None,
    athlete: Athlete | None = None,
    library: Library | None = None,
) -> tuple[ProgressionState, list[LevelChange]]:
    """2 weeks or more with no strength logged: every pattern one step down (not below 1).

    `due`: the day of the first strength session planned after `last_strength`. Where the plan
    held none for more than a week after the log (a taper and a stage race), the weeks count
    from a week before it: days the plan itself kept free of strength beyond its usual spacing
    are not missed training. None (no plan holds one): from the last log.

    A step down keeps a load (Revision 2): the rung below at 10 % under its last load, or the
    same lift at 10 % less when nobody has logged the rung below. Once per gap: a
    missed-training change dated after `last_strength` means it was done. With no strength ever
    logged the athlete is on the coach's starting levels: nothing drops.
    """
    library = library or load_library()
    new = state.model_copy(deep=True)
    if last_strength is None:
        return new, []
    since = last_strength
    if due is not None:
        since = max(last_strength, due - timedelta(days=PLANNED_SPACING_DAYS))
    if (today - since).days < MISSED_TRAINING_DAYS:
        return new, []
    if any(c.rule == RULE_MISSED_TRAINING and c.at.date() > last_strength for c in new.history):
        return new, []
    # the day's start where the athlete lives: at UTC midnight, a change in a zone ahead of
    # UTC came after that morning's session, and the session's logged load read as older
    # than it (a review: a Sydney log of 50 kg was left for the step-down's 52.5 kg)
    at = datetime.combine(today, time.min, tzinfo=athlete.zone if athlete else UTC)
    weeks = (today - since).days // 7
    missed = f", none planned before {due}" if since > last_strength else ""
    changes: list[LevelChange] = []
    for pattern in STRENGTH_PATTERNS:
        pattern_state = new.patterns.get(pattern)
        if pattern_state is None:
            continue
        level, load, words = _step_down(new, pattern, pattern_state, athlete, library, layoff=True)
        if level < 1:
            continue
        changes.append(
            _change(
                new,
                at,
                pattern,
                pattern_state,
                to_level=level,
                to_load=load,
                rule=RULE_MISSED_TRAINING,
                reason=f"no strength logged since {last_strength}{missed} ({weeks} weeks "
                f"{'missed ' if missed else ''}by {today}): {words}",
            )
        )
    return new, changes


def approve(
    state: ProgressionState,
    exercise_id: str,
    note: str,
    at: datetime,
    athlete: Athlete,
    *,
    library: Library | None = None,
) -> tuple[ProgressionState, list[LevelChange]]:
    """A coach signs off a first barbell hinge. A pattern that earned the step and waits for it
    moves up now; otherwise the sign-off stands for when the athlete earns it (for the
    deadlift: once its gate opens)."""
    library = library or load_library()
    new = state.model_copy(deep=True)
    new.approvals[exercise_id] = Approval(at=at, note=note)
    changes: list[LevelChange] = []
    for pattern in STRENGTH_PATTERNS:
        pattern_state = new.patterns.get(pattern)
        if pattern_state is None or pattern_state.awaiting_approval != exercise_id:
            continue
        exercise = library.by_id[exercise_id]
        level = pattern_state.level
        changes.append(
            _change(
                new,
                at,
                pattern,
                pattern_state,
                to_level=exercise.level,
                to_load=_known_load(new, exercise, athlete),
                rule=RULE_APPROVAL,
                reason=f"{exercise.name} signed off by the coach on {at.date()}: {note}: "
                f"level {level} -> {exercise.level}",
            )
        )
        pattern_state.last_step_up = at.date()
    return new, changes


def clear(state: ProgressionState, region: Region, note: str, at: datetime) -> ProgressionState:
    """A coach clears a region's red flag; loading may resume (the 7-day heavy block stands)."""
    new = state.model_copy(deep=True)
    status = new.regions.get(region)
    if status is None or not status.needs_clearance:
        return new
    day = at.date()
    # the flag's easiest-rung patterns were stopped, not halved: they come back at half their
    # sets for NO_HEAVY_DAYS from the clearance (as their history said), however long it took
    for pattern in REGION_PATTERNS[region]:
        halved = new.patterns.get(pattern)
        if (
            halved is not None
            and halved.reduced_until is not None
            and status.no_heavy_until is not None
            and halved.reduced_until >= status.no_heavy_until
        ):
            halved.reduced_until = max(halved.reduced_until, day + timedelta(days=NO_HEAVY_DAYS))
    status.needs_clearance = False
    status.zone = Zone.red if _in_red(status, day) else Zone.green
    status.reason = f"red flag cleared by the coach on {day}: {note}"
    return new
