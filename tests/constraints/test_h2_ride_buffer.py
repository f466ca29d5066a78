"""H2: no session overlaps a ride or the `ride_buffer_min` (30 min) around it."""

from datetime import date, timedelta

from factories import MONDAY, at, mobility, problem, ride, strength
from harness import encode_plan

from constraints import H2RideBuffer
from planner.domain import Ride

RULE = H2RideBuffer(ride_buffer_min=30)
WEDNESDAY = MONDAY + timedelta(days=2)
SPRING_MONDAY = date(2027, 3, 22)
SPRING_SATURDAY = date(2027, 3, 27)
SPRING_SUNDAY = date(2027, 3, 28)  # Europe/London: 01:00 GMT becomes 02:00 BST


def faces(prob, plan, rule=RULE):
    return [v.rule for v in rule.check(prob, plan)], encode_plan(rule, prob, plan).feasible


def wednesday_ride():
    return problem(rides=[ride(WEDNESDAY, 10, 90)])  # 10:00-11:30


def test_session_ending_exactly_30_min_before_the_ride_keeps_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [strength(prob, at(WEDNESDAY, 8, 45))]) == ([], True)  # ends 09:30


def test_session_ending_29_min_before_the_ride_breaks_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [strength(prob, at(WEDNESDAY, 8, 46))]) == (["H2"], False)  # ends 09:31


def test_session_starting_exactly_30_min_after_the_ride_keeps_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [strength(prob, at(WEDNESDAY, 12))]) == ([], True)


def test_session_starting_29_min_after_the_ride_breaks_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [strength(prob, at(WEDNESDAY, 11, 59))]) == (["H2"], False)


def test_session_during_the_ride_breaks_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [strength(prob, at(WEDNESDAY, 10, 30))]) == (["H2"], False)


def test_mobility_inside_the_buffer_breaks_h2_in_both_faces():
    prob = wednesday_ride()
    assert faces(prob, [mobility(prob, at(WEDNESDAY, 11, 45))]) == (["H2"], False)


def test_buffer_setting_of_zero_lets_a_session_end_as_the_ride_starts_in_both_faces():
    prob = wednesday_ride()
    plan = [strength(prob, at(WEDNESDAY, 9, 15))]  # ends 10:00
    assert faces(prob, plan, H2RideBuffer(ride_buffer_min=0)) == ([], True)
    assert faces(prob, plan) == (["H2"], False)


def test_session_just_after_a_ride_that_ran_past_midnight_breaks_h2_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 22, 180)])  # until Thursday 01:00
    plan = [mobility(prob, at(WEDNESDAY + timedelta(days=1), 1, 15))]
    assert faces(prob, plan) == (["H2"], False)


# Spring forward: a ride from Saturday 23:30 GMT lasting 120 min ends at 01:30 UTC (02:30 BST).


def night_ride():
    return problem(
        rides=[Ride(start=at(SPRING_SATURDAY, 23, 30), duration_min=120)], start=SPRING_MONDAY
    )


def test_session_at_0200_bst_during_a_night_ride_across_the_clock_change_breaks_h2_in_both_faces():
    prob = night_ride()
    assert faces(prob, [mobility(prob, at(SPRING_SUNDAY, 2, 0))]) == (["H2"], False)


def test_session_at_0259_bst_inside_the_buffer_after_the_night_ride_breaks_h2_in_both_faces():
    prob = night_ride()
    assert faces(prob, [mobility(prob, at(SPRING_SUNDAY, 2, 59))]) == (["H2"], False)


def test_session_at_0300_bst_30_real_min_after_the_night_ride_keeps_h2_in_both_faces():
    prob = night_ride()
    assert faces(prob, [mobility(prob, at(SPRING_SUNDAY, 3, 0))]) == ([], True)
