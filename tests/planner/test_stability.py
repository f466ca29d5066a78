"""S4 in practice: re-plans after feedback keep the published calendar as still as they can."""

from __future__ import annotations

from datetime import timedelta

from factories import MONDAY, at, athlete, ride

from planner.domain import Pattern, ProgressionState, Session
from planner.solve import plan
from planner.stability import carry_over

WEEKS = 6
LEVELS = {"hinge": 9, "knee_flexion": 3, "squat": 3}


def calendar() -> list:
    rides = []
    for week in range(WEEKS + 1):
        monday = MONDAY + timedelta(weeks=week)
        rides += [
            ride(monday + timedelta(days=1), 18, 75, "intervals"),
            ride(monday + timedelta(days=3), 18, 90, "endurance"),
            ride(monday + timedelta(days=5), 8, 240, "long"),
        ]
    return rides


def first_plan(state: ProgressionState) -> list[Session]:
    who = athlete(starting_levels=LEVELS)
    result = plan(who, calendar(), MONDAY, WEEKS, state=state)
    return carry_over([], result.sessions, owner="athlete-1", now=at(MONDAY, 0))


def replan(state: ProgressionState, published: list[Session]) -> list[Session]:
    who = athlete(starting_levels=LEVELS)
    now = at(MONDAY, 0)
    result = plan(who, calendar(), MONDAY, WEEKS, state=state, previous=published, now=now)
    return carry_over(published, result.sessions, owner="athlete-1", now=now)


def starting_state() -> ProgressionState:
    return ProgressionState.starting(athlete(starting_levels=LEVELS))


def test_replan_after_feedback_that_changes_no_progression_changes_no_session():
    state = starting_state()
    published = first_plan(state)
    again = replan(state, published)
    assert [(s.uid, s.start, s.sequence, s.content_key()) for s in again] == [
        (s.uid, s.start, s.sequence, s.content_key()) for s in published
    ]


def test_regressing_one_pattern_changes_only_sessions_holding_it_and_moves_none():
    state = starting_state()
    published = first_plan(state)
    regressed = state.model_copy(deep=True)
    regressed.patterns[Pattern.squat].level = 2
    again = replan(regressed, published)

    before = {s.uid: s for s in published}
    after = {s.uid: s for s in again}
    assert set(after) == set(before), "no session added, dropped or re-identified"
    moved = [uid for uid in after if after[uid].start != before[uid].start]
    assert moved == []
    changed = {uid for uid in after if after[uid].content_key() != before[uid].content_key()}
    holding_squat = {
        uid for uid, s in before.items() if any(p.pattern == Pattern.squat for p in s.prescriptions)
    }
    assert changed == holding_squat
    assert changed, "the regression must show in the squat sessions"
    for uid in changed:
        assert after[uid].sequence == before[uid].sequence + 1
        old = {p.pattern: p.exercise_id for p in before[uid].prescriptions}
        new = {p.pattern: p.exercise_id for p in after[uid].prescriptions}
        assert {k for k in old if old[k] != new.get(k)} == {Pattern.squat}
