"""What goes inside a session: prescriptions from the ladders, the progression state and the week.

Strength sessions (domain.md with its Revision 2):
- a session holds at most one exercise per pattern, never two that train the same thing
  (`trains` in the library), and rotates its accessory patterns by date, so re-plans keep the
  content of a day: every session has a hinge and a knee-flexion exercise; the knee-dominant
  slot (squat or single-leg), the core move (anti-extension or anti-rotation) and the accessory
  (calf, hip abduction or upper-body pull) turn over from one session to the next;
- light sessions never hold a max-strength rung; heavy sessions hold the athlete's current rung
  where it is heavy and its regions are free to load that day (H10), start with 2 ramp-up sets
  on every max-strength lift, and put the main lift first;
- sets and reps follow the phase (planner/data/dosage.toml); deload weeks (T3) and the week
  before a B race halve the sets, taper days take 1-2 sets, all at the same load;
- loaded rungs prescribe kilograms: the pattern's load, the last load logged on that exercise,
  or the coach's starting load.

Mobility sessions take one hold from each family (hamstrings, hip flexors, glutes, calves,
thoracic spine), the choice within a family turning over by date.
"""

from __future__ import annotations

from datetime import date

from planner.domain import (
    BUILD_UP_REPS,
    BUILD_UP_SESSIONS,
    BUILD_UP_SETS,
    Athlete,
    Equipment,
    Pattern,
    Phase,
    Prescription,
    ProgressionState,
    Region,
    last_day,
    region_words,
)
from planner.library import Exercise, Library, load_library
from planner.loads import BAR_KG
from planner.phases import LIGHT_ONLY, Dosage, dosage_for
from planner.problem import Problem

DELOAD_NOTE = "Deload week: about half the usual volume, same technique focus."
TAPER_NOTE = "Taper before your race: fewer sets, keep the load; you should finish fresh."
# a light session in the taper of an athlete whose heavy lift it leaves out (H8's last days, or
# the solver's choice): "keep the load" read beside a light rung (a coach's review)
TAPER_LIGHT_NOTE = (
    "Taper before your race: a light session, fewer sets; the heavy lift is left out so you "
    "finish fresh."
)
RACE_NOTE = "Race week: light session only, nothing to failure."
# named by its day: the 7 days before a B race straddle two plan weeks, and "this week" read
# beside a week that listed no race (a coach's trial)
B_RACE_NOTE = (
    "B race on {race:%A} {race.day} {race:%B}: about half the usual sets at the same loads."
)
RED_MOBILITY_NOTE = (
    "Holds that stretch or press on your {regions} are left out through {last:%A} {last.day} "
    "{last:%B}, after pain there in the red zone."
)
REDUCED_NOTE = (
    "{names}: half the usual sets through {last:%A} {last.day} {last:%B}. The pain you "
    "reported was in the red zone and this is already the easiest version; tell your coach if "
    "it hurts again."
)
TRANSITION_NOTE = "Transition after your race: light, bodyweight only, two sets of each."
CLEARANCE_NOTE = (
    "{regions}: red flag reported. Loading of this area is stopped until the coach clears it. "
    "Please see a clinician (doctor or physiotherapist)."
)
# `other`: pain outside the knee, low back, hamstring and hip, so no pattern is known to load it
OTHER_CLEARANCE_NOTE = (
    "{regions}: red flag reported. All strength work is stopped until the coach clears it; "
    "mobility stays. Please see a clinician (doctor or physiotherapist)."
)

RAMP_UP_SETS = 2
MAINTENANCE_SETS = 2  # peak, in-season and taper: the load stays where it was
B_RACE_WEEK_DAYS = 7  # a B race within the next 7 days (the race day itself included)

# The slots of a strength session in order; a slot with choices takes one by date (rotation).
KNEE_DOMINANT = (Pattern.squat, Pattern.single_leg)
CORE = (Pattern.core_anti_extension, Pattern.core_anti_rotation)
ACCESSORY = (Pattern.calf, Pattern.hip_abduction, Pattern.upper_pull)
MOBILITY_FAMILIES = ("hamstrings", "hip_flexors", "glutes", "calves", "thoracic_spine")
# how many days each family keeps its hold (ContentBuilder._picks), in MOBILITY_FAMILIES' order
MOBILITY_PERIODS = (2, 1, 3, 4, 5)
# two-legged barbell and machine lifts take the higher set count of the phase
BILATERAL_IMPLEMENTS = (Equipment.barbell, Equipment.machine)


def rotation(day: date) -> tuple[int, int, int]:
    """Which knee-dominant, core and accessory pattern a session on `day` holds.

    By date, so a re-plan gives a day the same content. The index moves every second day:
    sessions at least 48 h apart (H7) always differ in the knee-dominant slot and in the
    accessory, and the core move turns over every other session.
    """
    turn = day.toordinal() // 2
    return turn % len(KNEE_DOMINANT), (turn // 2) % len(CORE), turn % len(ACCESSORY)


def session_patterns(day: date) -> tuple[Pattern, ...]:
    knee, core, accessory = rotation(day)
    return (
        Pattern.hinge,
        KNEE_DOMINANT[knee],
        Pattern.knee_flexion,
        CORE[core],
        ACCESSORY[accessory],
    )


# holds that stretch a second family besides their own (the library's `family`)
ALSO_STRETCHES = {"downward_dog": "hamstrings"}

BUILD_UP_NOTE = (
    f"build-up: at most {BUILD_UP_SETS} x {BUILD_UP_REPS} until {{sessions}} sessions with it are "
    "logged, while the muscles get used to the lowering"
)


def reduced(sets: int) -> int:
    """Half the sets, rounded to nearest, never below one (T3, B-race weeks)."""
    return max(1, round(sets / 2))


def _top(reps: str) -> int:
    return int(reps.split("-")[-1])


def _bottom(reps: str | None) -> str | None:
    return reps.split("-")[0] if reps and "-" in reps else reps


def _about_half(exercise: Exercise) -> int:
    """1 or 2 sets at the bottom of the range, whichever is nearer half the usual volume."""
    full = exercise.sets * exercise.top_reps
    per_set = int(_bottom(exercise.reps) or 0) if exercise.reps else (exercise.hold_s or 0)
    return min((1, 2), key=lambda sets: (abs(sets * per_set - full / 2), sets))


def dose(
    exercise: Exercise, dosage: Dosage, *, halve: bool
) -> tuple[int, str | None, int | None, int]:
    """(sets, reps, hold seconds, rest) of an exercise in a phase, halved for a deload week or a
    B-race week."""
    reps, hold_s, rest_s = exercise.reps, exercise.hold_s, exercise.rest_s
    if exercise.max_strength and dosage.heavy_sets:
        bilateral = exercise.implement in BILATERAL_IMPLEMENTS and exercise.side == "both"
        sets = dosage.heavy_sets if bilateral else dosage.heavy_sets_other
        reps, rest_s = dosage.heavy_reps, dosage.heavy_rest_s
    elif dosage.other_sets < 0:
        sets, reps = _about_half(exercise), _bottom(exercise.reps)
    elif dosage.other_sets > 0:
        sets = min(dosage.other_sets, exercise.sets)
    else:
        sets = exercise.sets
    if halve:
        # half the sets, the same reps and load (domain.md's dosage table): the reps' range
        # stays, so a deload done as prescribed is no step back in the count toward a step
        sets = reduced(sets)
    return sets, reps, hold_s, rest_s


def prescribe(
    exercise: Exercise,
    *,
    reduce: bool,
    load_kg: float | None,
    dosage: Dosage | None = None,
    ramp_up: bool = False,
    build_up: bool = False,
) -> Prescription:
    """One exercise as prescribed. Without a dosage, the library's own dose (halved with
    `reduce`). `build_up`: a lift in its first sessions (BUILD_UP_SESSIONS) holds no more than
    BUILD_UP_SETS x BUILD_UP_REPS, and says why."""
    if dosage is None:
        sets, reps = exercise.sets, exercise.reps
        if reduce:
            sets = reduced(sets)
        hold_s, rest_s = exercise.hold_s, exercise.rest_s
    else:
        sets, reps, hold_s, rest_s = dose(exercise, dosage, halve=reduce)
    hint = load_hint(exercise, load_kg, dosage, ramp_up=ramp_up)
    if build_up:
        sets = min(sets, reduced(BUILD_UP_SETS) if reduce else BUILD_UP_SETS)
        if reps is None or _top(reps) > BUILD_UP_REPS:
            reps = str(BUILD_UP_REPS)
        hint = f"{hint}; {BUILD_UP_NOTE.format(sessions=BUILD_UP_SESSIONS[exercise.id])}"
    return Prescription(
        exercise_id=exercise.id,
        name=exercise.name,
        pattern=exercise.pattern,
        level=exercise.level,
        sets=sets,
        reps=reps,
        hold_s=hold_s,
        load_hint=hint,
        rest_s=rest_s,
        side=exercise.side,
        cue=exercise.key_cue,
        heavy=exercise.heavy,
        regions=list(exercise.regions),
    )


def load_hint(
    exercise: Exercise, load_kg: float | None, dosage: Dosage | None, *, ramp_up: bool
) -> str:
    """The load in words: kilograms where known, the phase's effort on max-strength lifts, and
    the ramp-up sets of a heavy session (`ramp_up`) on a loaded lift: a bodyweight Nordic's
    "ramp-up" only added eccentric work to its 2 x 5 (a coach's review)."""
    effort = dosage.heavy_hint if dosage and exercise.max_strength and dosage.heavy_hint else ""
    if load_kg is None and exercise.implement == Equipment.barbell:
        # a first barbell session, no load known: the empty bar first, its own ramp (a coach's
        # review read a first Romanian deadlift at base volume with no kilograms at all), and
        # whatever the phase says of "the same load as before": no load is known yet
        return (
            f"start with the empty bar ({BAR_KG:g} kg) and add load only while the back stays "
            "flat, stopping at a load that leaves 2-3 reps in reserve"
        )
    if load_kg is not None and exercise.implement is not None:
        per = f" {exercise.load_per}" if exercise.load_per else ""
        working = f"{load_kg:g} kg{per}" + (f" ({effort})" if effort else "")
    elif effort and dosage is not None and dosage.heavy_sets <= MAINTENANCE_SETS:
        working = f"{exercise.load_hint}; {effort}"
    else:
        working = exercise.load_hint
    if not ramp_up or exercise.implement is None:
        return working
    if load_kg is not None:
        return (
            f"{RAMP_UP_SETS} ramp-up sets first (about half, then three quarters of the working "
            f"load, 3-5 reps), then {working}"
        )
    return f"{RAMP_UP_SETS} ramp-up sets first, lighter and a few reps each, then {working}"


def held_seconds(prescription: Prescription) -> int:
    """Seconds spent holding a stretch: every set, on each side where it has two."""
    sides = 2 if prescription.side in ("each_leg", "each_side") else 1
    return prescription.sets * (prescription.hold_s or 0) * sides


def full_volume(prescription: Prescription, library: Library | None = None) -> int:
    """The volume the same exercise has in an ordinary week (for T3 and T4 ratios)."""
    lib = library or load_library()
    exercise = lib.by_id.get(prescription.exercise_id)
    if exercise is None:
        return prescription.volume()
    return exercise.sets * exercise.top_reps


def b_race_week(problem: Problem, day: date) -> date | None:
    """The day of a B race within the next 7 days (its own day included), the nearest: about
    half the strength volume."""
    return min(
        (race for race in problem.b_races if 0 <= (race - day).days < B_RACE_WEEK_DAYS),
        default=None,
    )


def prescribed_load(
    state: ProgressionState, athlete: Athlete, library: Library, exercise: Exercise
) -> float | None:
    """Kilograms for a loaded exercise: the pattern's load when it is the athlete's current
    lift, else the last load logged on it, else the coach's starting load (None unloaded)."""
    if exercise.implement is None:
        return None
    pattern_state = state.patterns.get(exercise.pattern)
    if pattern_state is not None and pattern_state.load_kg is not None:
        current = library.rung(exercise.pattern, pattern_state.level, athlete)
        if current is not None and current.id == exercise.id:
            return pattern_state.load_kg
    logged = state.loads.get(exercise.id)
    if logged is not None:
        return logged
    return athlete.starting_loads.get(exercise.id)


class ContentBuilder:
    def __init__(self, problem: Problem, library: Library | None = None) -> None:
        self.problem = problem
        self.library = library or load_library()
        self._by_day: dict[tuple[date, bool], object] = {}
        self._cache: dict[
            tuple[object, ...], tuple[tuple[Prescription, ...], tuple[str, ...]] | None
        ] = {}
        self._mobility: dict[date, tuple[tuple[Prescription, ...], tuple[str, ...]]] = {}
        # the holds by (regions left out, each family's pick)
        self._mobility_by_choice: dict[tuple[object, ...], tuple[Prescription, ...]] = {}
        self._stretches: dict[frozenset[Region], list[list[Exercise]]] = {}
        self._prescribed: dict[tuple[object, ...], Prescription] = {}
        # per day: (phase, deload, taper, B-race week, no-heavy regions, rotation)
        self._settings: dict[date, tuple[object, ...]] = {}
        self._picked: dict[tuple[object, ...], Exercise | None] = {}

    def strength(
        self, day: date, heavy: bool
    ) -> tuple[tuple[Prescription, ...], tuple[str, ...]] | None:
        """Prescriptions and notes of a strength session on `day`; None when no such variant exists."""
        by_day = self._by_day.get((day, heavy), False)
        if by_day is not False:
            return by_day  # type: ignore[return-value]
        setting = self._settings.get(day)
        if setting is None:  # what the day's sessions depend on, light or heavy
            problem = self.problem
            week = problem.week_of(day)
            setting = (
                problem.phase_on(day) or Phase.base,
                bool(week and week.deload),
                problem.in_taper(day),
                b_race_week(problem, day),
                frozenset(problem.state.no_heavy_regions(day)),
                problem.state.reduced_patterns(day),
                rotation(day),
            )
            self._settings[day] = setting
        key = (setting, heavy)
        if key not in self._cache:
            phase, deload, taper, b_week, no_heavy, reduced, _ = setting
            built = self._build_strength(
                phase, deload, taper, b_week, no_heavy, reduced, heavy, session_patterns(day)
            )
            if built is not None and not heavy and TAPER_NOTE in built[1]:
                if self.strength(day, True) is not None:  # a heavy lift it leaves out
                    notes = tuple(TAPER_LIGHT_NOTE if n == TAPER_NOTE else n for n in built[1])
                    built = (built[0], notes)
            self._cache[key] = built
        self._by_day[(day, heavy)] = self._cache[key]
        return self._cache[key]

    def _pick(
        self,
        pattern: Pattern,
        heavy: bool,
        dosage: Dosage,
        no_heavy: frozenset[Region],
    ) -> Exercise | None:
        # of the dosage only `unloaded_only` matters here (hashing it all costs on this path)
        key = (pattern, heavy, dosage.unloaded_only, no_heavy)
        found = self._picked.get(key, False)
        if found is False:
            found = self._picked[key] = self._pick_anew(pattern, heavy, dosage, no_heavy)
        return found  # type: ignore[return-value]

    def _pick_anew(
        self,
        pattern: Pattern,
        heavy: bool,
        dosage: Dosage,
        no_heavy: frozenset[Region],
    ) -> Exercise | None:
        athlete = self.problem.athlete
        level = self.problem.state.level(pattern)
        unloaded = dosage.unloaded_only
        exercise = None
        if heavy:
            exercise = self.library.rung(pattern, level, athlete, unloaded_only=unloaded)
            if exercise is not None and exercise.max_strength and set(exercise.regions) & no_heavy:
                exercise = None
        if exercise is None or not exercise.max_strength:
            exercise = self.library.rung(
                pattern, level, athlete, allow_heavy=False, unloaded_only=unloaded
            )
        return exercise

    def _build_strength(
        self,
        phase: Phase,
        deload: bool,
        taper: bool,
        b_week: date | None,
        no_heavy: frozenset[Region],
        reduced: frozenset[Pattern],
        heavy: bool,
        patterns: tuple[Pattern, ...],
    ) -> tuple[tuple[Prescription, ...], tuple[str, ...]] | None:
        """`reduced`: patterns a red left on their easiest rung, at half their sets."""
        if heavy and phase in LIGHT_ONLY:
            return None
        athlete = self.problem.athlete
        flagged = self.problem.flagged_regions
        blocked_patterns = self.problem.blocked_patterns
        dosage = dosage_for(phase, taper=taper)
        halve = deload or b_week is not None
        chosen: list[Exercise] = []
        trains: set[str] = set()
        for pattern in patterns:
            if pattern in blocked_patterns:
                continue
            exercise = self._pick(pattern, heavy, dosage, no_heavy)
            # never two exercises that train the same thing: the later slot steps down a rung
            while exercise is not None and exercise.trains and exercise.trains in trains:
                exercise = self.library.below(exercise, athlete)
            if exercise is None or set(exercise.regions) & flagged:
                continue
            if exercise.trains:
                trains.add(exercise.trains)
            chosen.append(exercise)
        if heavy and not any(e.heavy for e in chosen):
            return None
        if not chosen:
            return None
        # the main lift first: max-strength lifts lead, the rest keep their slot order
        chosen.sort(key=lambda e: not e.max_strength)
        prescriptions = tuple(
            self._prescription(
                exercise,
                halve or exercise.pattern in reduced,
                dosage,
                ramp_up=heavy and exercise.max_strength,
            )
            for exercise in chosen
        )
        notes: list[str] = []
        if phase == Phase.race:
            notes.append(RACE_NOTE)
        elif phase == Phase.transition:
            notes.append(TRANSITION_NOTE)
        elif taper:
            notes.append(TAPER_NOTE)
        elif b_week is not None:
            notes.append(B_RACE_NOTE.format(race=b_week))
        elif deload:
            notes.append(DELOAD_NOTE)
        if flagged:
            notes.append(self.clearance_note())
        halved = [e for e in chosen if e.pattern in reduced]
        if halved and not halve:
            state = self.problem.state
            until = min(state.patterns[e.pattern].reduced_until for e in halved)  # type: ignore[type-var]
            names = " and ".join(e.name for e in halved)
            notes.append(REDUCED_NOTE.format(names=names, last=last_day(until)))
        return prescriptions, tuple(notes)

    def _prescription(
        self, exercise: Exercise, halve: bool, dosage: Dosage, *, ramp_up: bool
    ) -> Prescription:
        """One exercise as prescribed, made once per builder: the hinge or the knee-flexion
        lift recurs in most sessions of a phase, whatever the rotation holds beside it."""
        key = (exercise.id, halve, dosage, ramp_up)
        found = self._prescribed.get(key)
        if found is None:
            found = prescribe(
                exercise,
                reduce=halve,
                load_kg=self.load_of(exercise),
                dosage=dosage,
                ramp_up=ramp_up,
                build_up=exercise.id in self.problem.building_up,
            )
            self._prescribed[key] = found
        return found

    def load_of(self, exercise: Exercise) -> float | None:
        return prescribed_load(self.problem.state, self.problem.athlete, self.library, exercise)

    def _families(self, excluded: frozenset[Region]) -> list[list[Exercise]]:
        """The stretches of each family the athlete can do while `excluded` hurt, in file order.

        Mobility stays during a red or a red flag, but not a hold that stretches or bears on the
        painful area (a straight-leg hamstring hold on a red hamstring, kneeling on a swollen
        knee): such holds list it under `regions`."""
        found = self._stretches.get(excluded)
        if found is None:
            stretches = [
                e
                for e in self.library.mobility(self.problem.athlete)
                if not set(e.regions) & excluded
            ]
            found = [[e for e in stretches if e.family == family] for family in MOBILITY_FAMILIES]
            self._stretches[excluded] = found
        return found

    def mobility(self, day: date) -> tuple[tuple[Prescription, ...], tuple[str, ...]]:
        cached = self._mobility.get(day)
        if cached is not None:
            return cached
        # red regions (their 7 days) and red-flagged ones: their holds are left out
        state = self.problem.state
        flagged = self.problem.flagged_regions
        excluded = frozenset(state.no_heavy_regions(day)) if state.regions else frozenset()
        picks = self._picks(day, excluded)
        notes = (self.clearance_note(),) if flagged else ()
        red = sorted(excluded - flagged - {Region.other})
        # said where the red changed the day's holds (a day whose rotation held none of the
        # region's holds stays as it was)
        if red and picks != self._picks(day, frozenset(flagged)):
            until = max(state.region(r).no_heavy_until for r in red)  # type: ignore[type-var]
            names = " and ".join(region_words(r) for r in red)
            notes += (RED_MOBILITY_NOTE.format(regions=names, last=last_day(until)),)
        cached = self._mobility[day] = (picks, notes)
        return cached

    def _picks(self, day: date, excluded: frozenset[Region]) -> tuple[Prescription, ...]:
        """The day's holds with those bearing on `excluded` regions left out."""
        families = self._families(excluded)
        # by date, each family on its own period (daily, every 2 days, every 3...): with two
        # or three holds a family, one shared period gave two sessions that alternated. The
        # daily one is never the hamstrings, which a downward dog takes out: two days running
        # were then the same session (a coach's review)
        day_number = day.toordinal()
        choice = (excluded,) + tuple(
            (day_number // period + period) % len(choices) if choices else -1
            for period, choices in zip(MOBILITY_PERIODS, families, strict=True)
        )
        found = self._mobility_by_choice.get(choice)
        if found is None:
            picks: list[Prescription] = []
            # the holds themselves fit the session; a hold that would not fits with one set
            budget = self.problem.settings.mobility_session_min * 60
            chosen = [
                choices[index]
                for index, choices in zip(choice[1:], families, strict=True)
                if index >= 0
            ]
            # a hold that stretches the hamstrings besides its own family (downward dog) is the
            # session's hamstring hold: seed 002 warns against over-stretching them
            if any(ALSO_STRETCHES.get(e.id) == "hamstrings" for e in chosen):
                chosen = [e for e in chosen if e.family != "hamstrings"]
            for exercise in chosen:
                pick = self._stretch(exercise, budget)
                if held_seconds(pick) <= budget:
                    budget -= held_seconds(pick)
                    picks.append(pick)
            found = self._mobility_by_choice[choice] = tuple(picks)
        return found

    def _stretch(self, exercise: Exercise, budget: int) -> Prescription:
        """A hold as prescribed, with one set where its full dose would not fit in `budget`
        seconds: made once per builder for each, as the days' sessions share their holds."""
        full = self._prescribed.get((exercise.id,))
        if full is None:
            full = self._prescribed[(exercise.id,)] = prescribe(
                exercise, reduce=False, load_kg=None
            )
        if held_seconds(full) <= budget:
            return full
        one = self._prescribed.get((exercise.id, 1))
        if one is None:
            one = self._prescribed[(exercise.id, 1)] = full.model_copy(update={"sets": 1})
        return one

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
