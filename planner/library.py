"""The exercise library, read from planner/data/exercises.toml, and ladder look-ups."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from pydantic import Field, model_validator

from planner.domain import Athlete, Equipment, Model, Pattern, Region


class Exercise(Model):
    id: str
    name: str
    pattern: Pattern
    level: int = Field(ge=1)
    equipment: list[Equipment]
    heavy: bool
    regions: list[Region]
    sets: int = Field(ge=1)
    sets_min: int = Field(ge=1)
    reps: str | None = None
    hold_s: int | None = None
    rest_s: int
    side: str
    load_hint: str
    cues: list[str] = Field(min_length=1)
    source: str
    # dosed by the phase table (domain.md Revision 2, heavy rungs); heavy implies it
    max_strength: bool = False
    # exercises with the same tag train the same thing: never two in one session
    trains: str = ""
    # what the kilograms are of where the name leaves it open ("in each hand": two dumbbells)
    load_per: str = ""
    # the first step onto this rung waits for a coach's sign-off (POST .../approvals)
    needs_approval: bool = False
    # mobility: the tissue a hold targets (one hold per family a session)
    family: str = ""

    @model_validator(mode="after")
    def _one_dose(self) -> Exercise:
        if (self.reps is None) == (self.hold_s is None):
            raise ValueError(f"{self.id}: give exactly one of reps or hold_s")
        if self.heavy:
            self.max_strength = True
        return self

    @property
    def key_cue(self) -> str:
        return self.cues[0]

    @property
    def implement(self) -> Equipment | None:
        """What carries the load (kilograms are prescribed for it), None for unloaded work."""
        return next((e for e in LOAD_IMPLEMENTS if e in self.equipment), None)

    @property
    def top_reps(self) -> int:
        """The top of the rep range, or the hold in seconds."""
        return int(self.reps.split("-")[-1]) if self.reps else (self.hold_s or 0)


# the kit that takes a load in kilograms, most specific first
LOAD_IMPLEMENTS = (Equipment.barbell, Equipment.machine, Equipment.kettlebell, Equipment.dumbbell)


class Library:
    def __init__(self, exercises: list[Exercise]) -> None:
        self.exercises = exercises
        self.by_id = {e.id: e for e in exercises}
        self.ladders: dict[Pattern, list[Exercise]] = {}
        for exercise in exercises:
            self.ladders.setdefault(exercise.pattern, []).append(exercise)
        for ladder in self.ladders.values():
            ladder.sort(key=lambda e: e.level)  # stable: file order among alternatives
        # rung look-ups by (pattern, level, kit, allow_heavy, unloaded_only): the planner asks
        # the same few thousands of times per plan
        self._rungs: dict[tuple[object, ...], Exercise | None] = {}

    def top_level(self, pattern: Pattern) -> int:
        return max(e.level for e in self.ladders[pattern])

    def rung(
        self,
        pattern: Pattern,
        level: int,
        athlete: Athlete,
        *,
        allow_heavy: bool = True,
        unloaded_only: bool = False,
    ) -> Exercise | None:
        """The exercise at `level` the athlete can do, else the nearest lower one they can.

        Lower, never higher: without the kit for a rung the athlete stays below it. Without
        `allow_heavy` no max-strength rung is taken (a light session); with `unloaded_only`
        nothing that takes kilograms (transition weeks).
        """
        owned = frozenset(athlete.equipment)
        key = (pattern, level, owned, allow_heavy, unloaded_only)
        if key in self._rungs:
            return self._rungs[key]
        choices = [
            e
            for e in self.ladders.get(pattern, [])
            if e.level <= level
            and athlete.has_equipment(e.equipment)
            and (allow_heavy or not e.max_strength)
            and not (unloaded_only and e.implement is not None)
        ]
        found = None
        if choices:
            best = max(e.level for e in choices)
            # among alternatives at the same rung, the file's order decides (first listed wins):
            # `choices` keeps the ladder's order, which keeps the file's among equal levels
            found = next(e for e in choices if e.level == best)
        self._rungs[key] = found
        return found

    def next_rung(
        self, pattern: Pattern, level: int, athlete: Athlete
    ) -> tuple[Exercise | None, list[Exercise]]:
        """Where a step up from `level` goes, and the rungs on the way the athlete has no kit for.

        The next level with a rung the athlete can do, over levels they cannot (a bridge variant
        on a box, a banded walk: the rung after it is the next variation of the same work). Never
        onto a max-strength lift over a rung skipped (a Nordic curl straight after the standing
        curl, with neither band nor ball for the curls between): None then, as at the top.
        """
        missing: list[Exercise] = []
        for upper in range(level + 1, self.top_level(pattern) + 1):
            here = [e for e in self.ladders[pattern] if e.level == upper]
            doable = [e for e in here if athlete.has_equipment(e.equipment)]
            if doable:
                return (None if missing and doable[0].max_strength else doable[0]), missing
            missing += here
        return None, missing

    def mobility(self, athlete: Athlete) -> list[Exercise]:
        return [
            e for e in self.ladders.get(Pattern.mobility, []) if athlete.has_equipment(e.equipment)
        ]

    def below(self, exercise: Exercise, athlete: Athlete) -> Exercise | None:
        """The rung under `exercise` on its ladder that the athlete can do (None at the bottom)."""
        if exercise.level <= 1:
            return None
        return self.rung(exercise.pattern, exercise.level - 1, athlete)


@lru_cache(maxsize=1)
def load_library() -> Library:
    text = resources.files("planner").joinpath("data/exercises.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    return Library([Exercise.model_validate(item) for item in raw["exercise"]])
