"""What goes inside a session: prescriptions from the ladders, the progression state and the week.

Light sessions never hold a heavy exercise. Heavy sessions hold the athlete's current rung
where that rung is heavy and its regions are free to load that day (H10). Deload weeks (T3)
and the taper (T4) cut the volume by about half and keep the load.
"""

from __future__ import annotations

from datetime import date

from planner.domain import (
    STRENGTH_PATTERNS,
    Phase,
    Prescription,
    ProgressionState,
    Region,
)
from planner.library import Exercise, Library, load_library
from planner.phases import LIGHT_ONLY
from planner.problem import Problem

DELOAD_NOTE = "Deload week: about half the usual volume, same technique focus."
TAPER_NOTE = "Taper before your race: fewer sets, keep the load; you should finish fresh."
RACE_NOTE = "Race week: light session only, nothing to failure."
CLEARANCE_NOTE = (
    "{regions}: red flag reported. Loading of this area is stopped until the coach clears it. "
    "Please see a clinician (doctor or physiotherapist)."
)
# `other`: pain outside the knee, low back, hamstring and hip, so no pattern is known to load it
OTHER_CLEARANCE_NOTE = (
    "{regions}: red flag reported. All strength work is stopped until the coach clears it; "
    "mobility stays. Please see a clinician (doctor or physiotherapist)."
)


def reduced(sets: int) -> int:
    """Half the sets, rounded to nearest, never below one (T3 and T4)."""
    return max(1, round(sets / 2))


def prescribe(exercise: Exercise, *, reduce: bool, load_kg: float | None) -> Prescription:
    reps = exercise.reps
    if reduce and reps and "-" in reps:
        reps = reps.split("-")[0]
    load_hint = f"{load_kg:g} kg" if load_kg and exercise.heavy else exercise.load_hint
    return Prescription(
        exercise_id=exercise.id,
        name=exercise.name,
        pattern=exercise.pattern,
        level=exercise.level,
        sets=reduced(exercise.sets) if reduce else exercise.sets,
        reps=reps,
        hold_s=exercise.hold_s,
        load_hint=load_hint,
        rest_s=exercise.rest_s,
        side=exercise.side,
        cue=exercise.key_cue,
        heavy=exercise.heavy,
        regions=list(exercise.regions),
    )


def full_volume(prescription: Prescription, library: Library | None = None) -> int:
    """The volume the same exercise has in an ordinary week (for T3 and T4 ratios)."""
    lib = library or load_library()
    exercise = lib.by_id.get(prescription.exercise_id)
    if exercise is None:
        return prescription.volume()
    if exercise.reps:
        return exercise.sets * int(exercise.reps.split("-")[-1])
    return exercise.sets * (exercise.hold_s or 0)


class ContentBuilder:
    def __init__(self, problem: Problem, library: Library | None = None) -> None:
        self.problem = problem
        self.library = library or load_library()
        self._by_day: dict[tuple[date, bool], object] = {}
        self._cache: dict[
            tuple[object, ...], tuple[tuple[Prescription, ...], tuple[str, ...]] | None
        ] = {}

    def strength(
        self, day: date, heavy: bool
    ) -> tuple[tuple[Prescription, ...], tuple[str, ...]] | None:
        """Prescriptions and notes of a strength session on `day`; None when no such variant exists."""
        by_day = self._by_day.get((day, heavy), False)
        if by_day is not False:
            return by_day  # type: ignore[return-value]
        problem = self.problem
        week = problem.week_of(day)
        phase = week.phase if week else Phase.base
        deload = bool(week and week.deload)
        taper = problem.in_taper(day)
        no_heavy = frozenset(problem.state.no_heavy_regions(day))
        key = (phase, deload, taper, no_heavy, heavy)
        if key not in self._cache:
            self._cache[key] = self._build_strength(phase, deload, taper, no_heavy, heavy)
        self._by_day[(day, heavy)] = self._cache[key]
        return self._cache[key]

    def _build_strength(
        self, phase: Phase, deload: bool, taper: bool, no_heavy: frozenset[Region], heavy: bool
    ) -> tuple[tuple[Prescription, ...], tuple[str, ...]] | None:
        if heavy and phase in LIGHT_ONLY:
            return None
        athlete = self.problem.athlete
        state = self.problem.state
        flagged = self.problem.flagged_regions
        blocked_patterns = self.problem.blocked_patterns
        reduce = deload or taper or phase == Phase.race
        chosen: list[Prescription] = []
        any_heavy = False
        for pattern in STRENGTH_PATTERNS:
            if pattern in blocked_patterns:
                continue
            level = state.level(pattern)
            exercise = None
            if heavy:
                exercise = self.library.rung(pattern, level, athlete, allow_heavy=True)
                if exercise is not None and exercise.heavy and set(exercise.regions) & no_heavy:
                    exercise = None
            if exercise is None or not exercise.heavy:
                exercise = self.library.rung(pattern, level, athlete, allow_heavy=False)
            if exercise is None or set(exercise.regions) & flagged:
                continue
            any_heavy = any_heavy or exercise.heavy
            pattern_state = state.patterns.get(pattern)
            chosen.append(
                prescribe(
                    exercise,
                    reduce=reduce,
                    load_kg=pattern_state.load_kg if pattern_state else None,
                )
            )
        if heavy and not any_heavy:
            return None
        if not chosen:
            return None
        notes: list[str] = []
        if phase == Phase.race:
            notes.append(RACE_NOTE)
        elif taper:
            notes.append(TAPER_NOTE)
        elif deload:
            notes.append(DELOAD_NOTE)
        if flagged:
            notes.append(self.clearance_note())
        return tuple(chosen), tuple(notes)

    def mobility(self, day: date) -> tuple[tuple[Prescription, ...], tuple[str, ...]]:
        key = ("mobility",)
        cached = self._cache.get(key)
        if cached is None:
            flagged = self.problem.flagged_regions
            # mobility stays during a red flag, but not a position that bears on the flagged
            # area (kneeling on a swollen knee, say): such stretches list it under `regions`
            stretches = [
                e
                for e in self.library.mobility(self.problem.athlete)
                if not set(e.regions) & flagged
            ]
            # 4 to 5 stretches of 2 x 30 s or more: 10 to 20 minutes
            picks = tuple(prescribe(e, reduce=False, load_kg=None) for e in stretches[:5])
            notes = (self.clearance_note(),) if flagged else ()
            cached = (picks, notes)
            self._cache[key] = cached
        return cached

    def clearance_note(self) -> str:
        return clearance_note(self.problem.state)


def clearance_note(state: ProgressionState) -> str:
    """What the calendar says while a red flag awaits a coach's clearance."""
    flagged = state.flagged_regions()
    names = [r.value.replace("_", " ") for r in sorted(flagged - {Region.other})]
    if Region.other in flagged:
        names.append("pain elsewhere")
        return OTHER_CLEARANCE_NOTE.format(regions=", ".join(names).capitalize())
    return CLEARANCE_NOTE.format(regions=", ".join(names).capitalize())
