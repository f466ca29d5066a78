"""Kilograms the gym can make: plate-sized steps on bars, the next dumbbell or bell up or down.

domain.md Revision 2: steps of +2.5 kg on barbell lifts (the smallest common pair of plates,
1.25 kg a side), +1-2 kg on dumbbells (1 kg apart up to 10 kg, 2 kg apart above), the next
kettlebell; a step down is 10 % less, rounded down to a load that exists.
"""

from __future__ import annotations

import math

from planner.domain import Equipment

BAR_KG = 20.0
BARBELL_STEP_KG = 2.5
MACHINE_STEP_KG = 5.0  # a pin-loaded stack, or a 2.5 kg plate each side of a sled
DUMBBELLS_KG = tuple(float(kg) for kg in [*range(1, 11), *range(12, 62, 2)])
KETTLEBELLS_KG = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 28.0, 32.0, 36.0, 40.0, 48.0)
STEP_DOWN = 0.10  # a step down (regression with no lower-rung load, or a layoff): 10 % less


def _sizes(implement: Equipment) -> tuple[float, ...] | None:
    if implement == Equipment.dumbbell:
        return DUMBBELLS_KG
    if implement == Equipment.kettlebell:
        return KETTLEBELLS_KG
    return None


def _increment(implement: Equipment) -> tuple[float, float]:
    """(step, smallest load) of a plate-loaded or stack implement."""
    if implement == Equipment.barbell:
        return BARBELL_STEP_KG, BAR_KG
    return MACHINE_STEP_KG, MACHINE_STEP_KG


def round_load(kg: float, implement: Equipment) -> float:
    """The nearest load the implement allows (ties go to the lighter one)."""
    sizes = _sizes(implement)
    if sizes is not None:
        return min(sizes, key=lambda size: (abs(size - kg), size))
    step, smallest = _increment(implement)
    return max(smallest, math.ceil(kg / step - 0.5) * step)


def next_load(kg: float, implement: Equipment) -> float:
    """One step up from `kg`: +2.5 kg on a bar, the next dumbbell or bell (+1-2 kg)."""
    sizes = _sizes(implement)
    if sizes is not None:
        return next((size for size in sizes if size > kg + 1e-9), sizes[-1])
    step, smallest = _increment(implement)
    return max(smallest, round_load(kg, implement) + step)


def reduced_load(kg: float, implement: Equipment) -> float:
    """10 % less, rounded down to a load that exists (never below the bar or the lightest)."""
    target = kg * (1 - STEP_DOWN)
    sizes = _sizes(implement)
    if sizes is not None:
        lighter = [size for size in sizes if size <= target + 1e-9]
        return lighter[-1] if lighter else sizes[0]
    step, smallest = _increment(implement)
    return max(smallest, math.floor(target / step + 1e-9) * step)
