"""H5: no strength session on the day of a long ride or race."""

from datetime import timedelta

from factories import MONDAY, at, mobility, problem, ride, strength
from harness import encode_plan

from constraints import H5NoStrengthOnLongDay

RULE = H5NoStrengthOnLongDay()
FRIDAY = MONDAY + timedelta(days=4)
SATURDAY = MONDAY + timedelta(days=5)
SUNDAY = MONDAY + timedelta(days=6)


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def test_light_strength_in_the_evening_of_a_long_ride_day_breaks_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 240, "long")])
    assert faces(prob, [strength(prob, at(SATURDAY, 20))]) == (["H5"], False)


def test_strength_the_morning_before_a_long_ride_on_the_same_day_breaks_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 14, 240, "long")])
    assert faces(prob, [strength(prob, at(SATURDAY, 6))]) == (["H5"], False)


def test_strength_the_day_before_a_long_ride_keeps_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 240, "long")])
    assert faces(prob, [strength(prob, at(FRIDAY, 20))]) == ([], True)


def test_mobility_on_a_long_ride_day_keeps_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 240, "long")])
    assert faces(prob, [mobility(prob, at(SATURDAY, 20))]) == ([], True)


def test_strength_on_the_day_of_a_149_minute_endurance_ride_keeps_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 149, "endurance")])
    assert faces(prob, [strength(prob, at(SATURDAY, 20))]) == ([], True)


def test_strength_on_the_day_of_a_150_minute_endurance_ride_breaks_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 150, "endurance")])
    assert faces(prob, [strength(prob, at(SATURDAY, 20))]) == (["H5"], False)


def test_strength_on_the_day_of_a_one_hour_race_breaks_h5_in_both_faces():
    prob = problem(rides=[ride(SATURDAY, 8, 60, "race", "C")])
    assert faces(prob, [strength(prob, at(SATURDAY, 20))]) == (["H5"], False)


def test_long_ride_past_midnight_blocks_strength_on_both_days_it_touches_in_both_faces():
    prob = problem(rides=[ride(FRIDAY, 22, 240, "long")])  # Friday 22:00 to Saturday 02:00
    assert faces(prob, [strength(prob, at(FRIDAY, 8))]) == (["H5"], False)
    assert faces(prob, [strength(prob, at(SATURDAY, 18))]) == (["H5"], False)
    assert faces(prob, [strength(prob, at(SUNDAY, 18))]) == ([], True)
