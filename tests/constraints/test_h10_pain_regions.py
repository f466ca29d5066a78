"""H10: a region in red gets no heavy exercise that loads it until `no_heavy_until`; a region
with a red flag (needs_clearance) gets no strength exercise that loads it at all."""

from datetime import timedelta

from factories import MONDAY, at, lifter, mobility, problem, strength
from harness import encode_plan

from constraints import H10PainRegions
from planner.content import ContentBuilder
from planner.domain import ProgressionState, Region, RegionStatus, Zone

RULE = H10PainRegions()
FRIDAY = MONDAY + timedelta(days=4)
SUNDAY = MONDAY + timedelta(days=6)
NEXT_MONDAY = MONDAY + timedelta(days=7)


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def with_regions(regions):
    who = lifter()
    state = ProgressionState.starting(who).model_copy(update={"regions": regions})
    return problem(who, state=state)


def red(region, until=NEXT_MONDAY):
    return with_regions({region: RegionStatus(zone=Zone.red, no_heavy_until=until)})


def red_flag(region):
    return with_regions(
        {region: RegionStatus(zone=Zone.red_flag, needs_clearance=True, reason="sharp pain")}
    )


def built_clear(day, hour=9, heavy=False):
    """Content as the planner builds it with every region green."""
    return strength(problem(lifter()), at(day, hour), heavy=heavy)


def test_heavy_session_with_a_romanian_deadlift_on_a_red_hamstring_breaks_h10_in_both_faces():
    session = built_clear(FRIDAY, heavy=True)
    assert "romanian_deadlift" in session.exercise_ids()
    assert faces(red(Region.hamstring), [session]) == (["H10"], False)


def test_same_heavy_session_with_every_region_green_keeps_h10_in_both_faces():
    assert faces(problem(lifter()), [built_clear(FRIDAY, heavy=True)]) == ([], True)


def test_heavy_session_the_day_before_no_heavy_until_breaks_h10_in_both_faces():
    assert faces(red(Region.hamstring), [built_clear(SUNDAY, heavy=True)]) == (["H10"], False)


def test_heavy_session_on_the_no_heavy_until_day_keeps_h10_in_both_faces():
    assert faces(red(Region.hamstring), [built_clear(NEXT_MONDAY, heavy=True)]) == ([], True)


def test_light_session_loading_a_red_hamstring_keeps_h10_in_both_faces():
    session = built_clear(FRIDAY)
    assert Region.hamstring in {r for p in session.prescriptions for r in p.regions}
    assert faces(red(Region.hamstring), [session]) == ([], True)


def test_heavy_nordic_curl_on_a_red_knee_breaks_h10_in_both_faces():
    found = RULE.check(red(Region.knee), [built_clear(FRIDAY, heavy=True)])
    assert [v.rule for v in found] == ["H10"]
    assert "Nordic" in found[0].message
    assert not encode_plan(RULE, red(Region.knee), [built_clear(FRIDAY, heavy=True)]).feasible


def test_heavy_session_the_planner_builds_on_a_red_knee_day_keeps_h10_in_both_faces():
    prob = red(Region.knee)
    session = strength(prob, at(FRIDAY, 9), heavy=True)
    assert "romanian_deadlift" in session.exercise_ids()
    assert "nordic_curl" not in session.exercise_ids()
    assert faces(prob, [session]) == ([], True)


def test_light_session_loading_a_red_flagged_hamstring_breaks_h10_in_both_faces():
    assert faces(red_flag(Region.hamstring), [built_clear(FRIDAY)]) == (["H10"], False)


def test_red_flag_blocks_loading_after_the_seven_red_days_too_in_both_faces():
    session = built_clear(NEXT_MONDAY + timedelta(days=3))
    assert faces(red_flag(Region.hamstring), [session]) == (["H10"], False)


def test_session_the_planner_builds_for_a_red_flagged_hamstring_keeps_h10_in_both_faces():
    prob = red_flag(Region.hamstring)
    session = strength(prob, at(FRIDAY, 9))
    assert not {Region.hamstring} & {r for p in session.prescriptions for r in p.regions}
    assert faces(prob, [session]) == ([], True)


def test_mobility_with_a_red_flagged_hamstring_keeps_h10_in_both_faces():
    prob = red_flag(Region.hamstring)
    assert faces(prob, [mobility(prob, at(FRIDAY, 9))]) == ([], True)


def test_light_session_under_a_red_flag_in_other_breaks_h10_in_both_faces():
    # `other` maps to no pattern: the planner cannot tell what loads it, so all strength stops
    session = built_clear(FRIDAY)
    assert not {Region.other} & {r for p in session.prescriptions for r in p.regions}
    found = RULE.check(red_flag(Region.other), [session])
    assert [v.rule for v in found] == ["H10"]
    assert "(other)" in found[0].message
    assert not encode_plan(RULE, red_flag(Region.other), [session]).feasible


def test_planner_builds_no_strength_session_under_a_red_flag_in_other_but_keeps_mobility():
    prob = red_flag(Region.other)
    assert ContentBuilder(prob).strength(FRIDAY, heavy=False) is None
    assert ContentBuilder(prob).strength(FRIDAY, heavy=True) is None
    session = mobility(prob, at(FRIDAY, 9))
    assert session.prescriptions and "All strength work is stopped" in session.notes[0]
    assert faces(prob, [session]) == ([], True)
