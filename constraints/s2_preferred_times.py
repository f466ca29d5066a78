"""S2: the athlete's preferred weekdays and time of day for strength."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.domain import WEEKDAYS, SessionKind, TimeOfDay
from planner.problem import Problem, Slot
from planner.variables import SlotPreference

# local start hour ranges [from, to)
TIME_OF_DAY_HOURS = {
    TimeOfDay.morning: (0, 11),
    TimeOfDay.midday: (11, 15),
    TimeOfDay.evening: (15, 24),
}


@dataclass(frozen=True)
class S2PreferredTimes(SlotPreference):
    preferred_weekdays: list[str] = field(default_factory=list)
    preferred_time: TimeOfDay | None = None
    weight: int = 2
    name = "S2"
    title = "preferred days and time of day"
    term = "not_preferred"
    strength_only = True

    def judges(self, kind: SessionKind, heavy: bool) -> bool:
        # no preference given: nothing to price
        has_preferences = bool(self.preferred_weekdays) or self.preferred_time is not None
        return has_preferences and super().judges(kind, heavy)

    def cost(self, problem: Problem, slot: Slot) -> str | None:
        if slot.kind != SessionKind.strength or (
            not self.preferred_weekdays and self.preferred_time is None
        ):
            return None
        local = slot.start.astimezone(problem.zone)
        reasons = []
        if self.preferred_weekdays and WEEKDAYS[local.weekday()] not in self.preferred_weekdays:
            reasons.append(f"{WEEKDAYS[local.weekday()]} is not a preferred day")
        if self.preferred_time is not None:
            low, high = TIME_OF_DAY_HOURS[self.preferred_time]
            if not low <= local.hour < high:
                reasons.append(f"{local:%H:%M} is not in the preferred {self.preferred_time.value}")
        if not reasons:
            return None
        return f"strength {local.strftime('%a %d %b %H:%M')}: " + "; ".join(reasons)
