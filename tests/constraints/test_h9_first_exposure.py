"""H9: the first session holding a Nordic curl or a deadlift the athlete has never done ends
at least `first_exposure_gap_h` (72 h) before any key ride (intervals, long, race)."""

from datetime import date, timedelta

from factories import MONDAY, at, athlete, lifter, mobility, problem, ride, strength
from harness import encode_plan

from constraints import H9FirstExposure
from planner.domain import ProgressionState

RULE = H9FirstExposure(first_exposure_gap_h=72)
THURSDAY = MONDAY + timedelta(days=3)
SATURDAY = MONDAY + timedelta(days=5)
SPRING_MONDAY = date(2027, 3, 22)
SPRING_FRIDAY = date(2027, 3, 26)
SPRING_NEXT_MONDAY = date(2027, 3, 29)  # Europe/London: clocks go forward on the 28th


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def deadlifter(**overrides):
    """An athlete at the top of the hinge ladder (deadlift), on the lowest knee-flexion rung."""
    return athlete(starting_levels={"hinge": 10}, **overrides)


def exposed(who, *exercises):
    return ProgressionState.starting(who).model_copy(update={"exposures": list(exercises)})


def heavy(prob, day, hour, minute=0):
    return strength(prob, at(day, hour, minute), heavy=True)


def test_lifter_heavy_sessions_hold_the_nordic_curl_and_deadlifter_ones_the_deadlift():
    assert "nordic_curl" in heavy(problem(lifter()), MONDAY, 9).exercise_ids()
    assert "romanian_deadlift" in heavy(problem(lifter()), MONDAY, 9).exercise_ids()
    assert "deadlift" in heavy(problem(deadlifter()), MONDAY, 9).exercise_ids()


def test_first_nordic_ending_71_hours_before_an_intervals_ride_breaks_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 60, "intervals")])
    plan = [heavy(prob, MONDAY, 9, 15)]  # ends 10:00, 71 h before
    assert faces(prob, plan) == (["H9"], False)
    assert [v.term for v in RULE.check(prob, plan)] == ["H9[nordic_curl]"]


def test_first_nordic_ending_72_hours_before_an_intervals_ride_keeps_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 60, "intervals")])
    assert faces(prob, [heavy(prob, MONDAY, 8, 15)]) == ([], True)  # ends 09:00


def test_first_nordic_close_before_a_long_ride_breaks_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 240, "long")])
    assert faces(prob, [heavy(prob, MONDAY, 18)]) == (["H9"], False)


def test_first_nordic_close_before_a_race_breaks_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 60, "race", "C")])
    assert faces(prob, [heavy(prob, MONDAY, 18)]) == (["H9"], False)


def test_first_nordic_close_before_an_endurance_ride_keeps_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 90, "endurance")])
    assert faces(prob, [heavy(prob, MONDAY, 18)]) == ([], True)


def test_first_nordic_close_before_a_150_minute_endurance_ride_breaks_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 150, "endurance")])
    assert faces(prob, [heavy(prob, MONDAY, 18)]) == (["H9"], False)


def test_later_nordic_close_to_a_key_ride_keeps_h9_when_the_first_was_far_from_key_rides():
    next_saturday = SATURDAY + timedelta(weeks=1)
    prob = problem(lifter(), [ride(next_saturday, 9, 60, "intervals")])
    # 12 days and 48 h before, a week apart (the build-up's once a week)
    plan = [heavy(prob, MONDAY, 8), heavy(prob, THURSDAY + timedelta(weeks=1), 8)]
    assert faces(prob, plan) == ([], True)


def test_two_nordics_in_one_week_of_its_build_up_break_h9_in_both_faces():
    prob = problem(lifter())
    plan = [heavy(prob, MONDAY, 8), heavy(prob, THURSDAY, 8)]
    assert [v.term for v in RULE.check(prob, plan)] == [
        f"H9[nordic_curl build-up, {plan[1].start.isoformat()}]"
    ]
    assert not encode_plan(RULE, prob, plan).feasible


def test_two_nordics_two_days_apart_across_the_plan_weeks_break_h9_in_both_faces():
    """Once a week means 7 days apart, not one per plan week: Sunday then Tuesday is two days
    (a review found the plan-week reading allowed it)."""
    prob = problem(lifter())
    sunday, next_tuesday = MONDAY + timedelta(days=6), MONDAY + timedelta(days=8)
    plan = [heavy(prob, sunday, 8), heavy(prob, next_tuesday, 8)]
    assert faces(prob, plan) == (["H9"], False)
    six_days = [heavy(prob, MONDAY, 8), heavy(prob, sunday, 8)]
    assert faces(prob, six_days) == (["H9"], False)


def test_a_nordic_before_the_plan_start_keeps_the_next_one_7_days_off():
    """The sessions just before the start are context: a Nordic on the Sunday before holds
    the new plan's first days (both faces see it as the planner gives it to them)."""
    who = lifter()
    once = exposed(who, "nordic_curl").model_copy(update={"build_up": {"nordic_curl": 1}})
    sunday_before = MONDAY - timedelta(days=1)
    before = heavy(problem(who, start=sunday_before, state=once), sunday_before, 8)
    prob = problem(who, state=once, previous=[before])
    too_soon = heavy(prob, THURSDAY, 8)
    assert faces(prob, [before, too_soon]) == (["H9"], False)
    a_week_on = heavy(prob, sunday_before + timedelta(days=7), 8)
    assert faces(prob, [before, a_week_on]) == ([], True)


def test_two_nordics_in_one_week_keep_h9_once_two_sessions_with_it_are_logged():
    who = lifter()
    once = exposed(who, "nordic_curl").model_copy(update={"build_up": {"nordic_curl": 1}})
    plan_of = lambda state: [  # noqa: E731
        heavy(problem(who, state=state), day, 8) for day in (MONDAY, THURSDAY)
    ]
    assert faces(problem(who, state=once), plan_of(once)) == (["H9"], False)
    past = exposed(who, "nordic_curl")  # done, no count kept: past its build-up
    assert faces(problem(who, state=past), plan_of(past)) == ([], True)


def test_two_nordics_in_two_weeks_of_its_build_up_keep_h9_in_both_faces():
    prob = problem(lifter())
    plan = [heavy(prob, MONDAY, 8), heavy(prob, MONDAY + timedelta(weeks=1), 8)]
    assert faces(prob, plan) == ([], True)


def test_first_nordic_close_to_a_key_ride_breaks_h9_even_when_a_later_one_is_far_from_it():
    prob = problem(lifter(), [ride(MONDAY + timedelta(days=2), 9, 60, "intervals")])
    plan = [heavy(prob, MONDAY, 8), heavy(prob, MONDAY + timedelta(days=9), 8)]
    assert faces(prob, plan) == (["H9"], False)


def test_nordic_already_in_the_exposures_keeps_h9_close_to_a_key_ride_in_both_faces():
    who = lifter()
    prob = problem(who, [ride(THURSDAY, 9, 60, "intervals")], state=exposed(who, "nordic_curl"))
    assert faces(prob, [heavy(prob, THURSDAY - timedelta(days=1), 8)]) == ([], True)


def test_first_deadlift_close_to_a_key_ride_breaks_h9_in_both_faces():
    prob = problem(deadlifter(), [ride(THURSDAY, 9, 60, "intervals")])
    plan = [heavy(prob, MONDAY, 18)]
    assert faces(prob, plan) == (["H9"], False)
    assert [v.term for v in RULE.check(prob, plan)] == ["H9[deadlift]"]


def test_deadlift_already_in_the_exposures_keeps_h9_close_to_a_key_ride_in_both_faces():
    who = deadlifter()
    prob = problem(who, [ride(THURSDAY, 9, 60, "intervals")], state=exposed(who, "deadlift"))
    assert faces(prob, [heavy(prob, MONDAY, 18)]) == ([], True)


def test_first_romanian_deadlift_is_not_gated_by_h9():
    prob = problem(athlete(starting_levels={"hinge": 9}), [ride(THURSDAY, 9, 60, "intervals")])
    plan = [heavy(prob, MONDAY, 18)]
    assert "romanian_deadlift" in plan[0].exercise_ids()
    assert faces(prob, plan) == ([], True)


def test_light_and_mobility_sessions_close_to_a_key_ride_keep_h9_in_both_faces():
    prob = problem(lifter(), [ride(THURSDAY, 9, 60, "intervals")])
    plan = [strength(prob, at(MONDAY, 18)), mobility(prob, at(THURSDAY, 7))]
    assert faces(prob, plan) == ([], True)


def test_first_nordic_71_real_hours_before_a_key_ride_across_the_spring_clock_change_breaks_h9():
    """Friday 09:00 GMT to Monday 09:00 BST reads 72 h on the wall clock but is 71 h."""
    prob = problem(lifter(), [ride(SPRING_NEXT_MONDAY, 9, 60, "intervals")], start=SPRING_MONDAY)
    assert faces(prob, [heavy(prob, SPRING_FRIDAY, 8, 15)]) == (["H9"], False)


def test_first_nordic_72_real_hours_before_a_key_ride_across_the_spring_clock_change_keeps_h9():
    prob = problem(lifter(), [ride(SPRING_NEXT_MONDAY, 9, 60, "intervals")], start=SPRING_MONDAY)
    assert faces(prob, [heavy(prob, SPRING_FRIDAY, 7, 15)]) == ([], True)


# --- nothing new in a race's days of freshness ---------------------------------------------


def test_first_nordic_in_the_week_of_a_b_race_breaks_h9_in_both_faces():
    race_day = MONDAY + timedelta(days=13)  # the second Sunday
    prob = problem(lifter(), [ride(race_day, 9, 180, "race", "B")])
    inside = [heavy(prob, MONDAY + timedelta(days=7), 9)]  # 6 days before: far from the race
    outside = [heavy(prob, MONDAY, 9)]  # 13 days before
    assert faces(prob, inside) == (["H9"], False)
    [breach] = RULE.check(prob, inside)
    assert breach.message == (
        f"nordic_curl: first exposure in the week of the B race on {race_day.isoformat()}"
    )
    assert faces(prob, outside) == ([], True)


def test_first_nordic_in_the_taper_before_an_a_race_breaks_h9_in_both_faces():
    race_day = MONDAY + timedelta(days=19)  # the third Saturday
    prob = problem(lifter(), [ride(race_day, 9, 240, "race", "A")])
    inside = [heavy(prob, MONDAY + timedelta(days=7), 9)]  # 12 days before
    outside = [heavy(prob, MONDAY + timedelta(days=4), 9)]  # 15 days before
    assert faces(prob, inside) == (["H9"], False)
    assert "taper before the A race" in RULE.check(prob, inside)[0].message
    assert faces(prob, outside) == ([], True)


def test_a_nordic_done_before_keeps_h9_in_a_b_race_week_in_both_faces():
    race_day = MONDAY + timedelta(days=6)
    who = lifter()
    prob = problem(who, [ride(race_day, 9, 180, "race", "B")], state=exposed(who, "nordic_curl"))
    assert faces(prob, [heavy(prob, MONDAY, 9)]) == ([], True)
