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

    @model_validator(mode="after")
    def _one_dose(self) -> Exercise:
        if (self.reps is None) == (self.hold_s is None):
            raise ValueError(f"{self.id}: give exactly one of reps or hold_s")
        return self

    @property
    def key_cue(self) -> str:
        return self.cues[0]


class Library:
    def __init__(self, exercises: list[Exercise]) -> None:
        self.exercises = exercises
        self.by_id = {e.id: e for e in exercises}
        self.ladders: dict[Pattern, list[Exercise]] = {}
        for exercise in exercises:
            self.ladders.setdefault(exercise.pattern, []).append(exercise)
        for ladder in self.ladders.values():
            ladder.sort(key=lambda e: e.level)  # stable: file order among alternatives

    def top_level(self, pattern: Pattern) -> int:
        return max(e.level for e in self.ladders[pattern])

    def rung(
        self, pattern: Pattern, level: int, athlete: Athlete, *, allow_heavy: bool = True
    ) -> Exercise | None:
        """The exercise at `level` the athlete can do, else the nearest lower one they can.

        Lower, never higher: without the kit for a rung the athlete stays below it.
        """
        choices = [
            e
            for e in self.ladders.get(pattern, [])
            if e.level <= level
            and athlete.has_equipment(e.equipment)
            and (allow_heavy or not e.heavy)
        ]
        if not choices:
            return None
        best = max(e.level for e in choices)
        # among alternatives at the same rung, the file's order decides (first listed wins)
        return next(e for e in self.ladders[pattern] if e in choices and e.level == best)

    def mobility(self, athlete: Athlete) -> list[Exercise]:
        return [
            e for e in self.ladders.get(Pattern.mobility, []) if athlete.has_equipment(e.equipment)
        ]


@lru_cache(maxsize=1)
def load_library() -> Library:
    text = resources.files("planner").joinpath("data/exercises.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    return Library([Exercise.model_validate(item) for item in raw["exercise"]])
