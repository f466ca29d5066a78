"""S5: same-day strength goes before the ride, not after (10 per session, both faces)."""

from datetime import timedelta

from factories import MONDAY, at, mobility, problem, ride, strength
from harness import checked_terms, encoded_terms

from constraints import S5StrengthBeforeRide

RULE = S5StrengthBeforeRide()
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


def checked(prob, plan) -> dict[str, int]:
    return checked_terms(RULE, prob, plan)


def encoded(prob, plan) -> dict[str, int]:
    return encoded_terms(RULE, prob, plan)


def test_strength_in_the_afternoon_after_a_morning_ride_costs_10_in_both_faces():
    prob = problem(rides=[ride(TUESDAY, 8, 90)])
    plan = [strength(prob, at(TUESDAY, 16))]
    expected = {"S5 strength_after_ride[2027-01-05]": 10}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_strength_in_the_morning_before_an_afternoon_ride_gets_no_s5_term_from_either_face():
    prob = problem(rides=[ride(TUESDAY, 16, 90)])
    plan = [strength(prob, at(TUESDAY, 8))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_strength_starting_exactly_as_the_ride_ends_costs_10_in_both_faces():
    prob = problem(rides=[ride(TUESDAY, 8, 90)])
    plan = [strength(prob, at(TUESDAY, 9, 30))]
    expected = {"S5 strength_after_ride[2027-01-05]": 10}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_strength_ending_exactly_as_the_ride_starts_gets_no_s5_term_from_either_face():
    prob = problem(rides=[ride(TUESDAY, 10, 90)])
    plan = [strength(prob, at(TUESDAY, 9, 15))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_strength_between_two_rides_of_the_day_costs_10_in_both_faces():
    prob = problem(rides=[ride(TUESDAY, 7, 60), ride(TUESDAY, 18, 60)])
    plan = [strength(prob, at(TUESDAY, 12))]
    expected = {"S5 strength_after_ride[2027-01-05]": 10}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_mobility_after_a_ride_gets_no_s5_term_from_either_face():
    prob = problem(rides=[ride(TUESDAY, 8, 90)])
    plan = [mobility(prob, at(TUESDAY, 10))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_strength_the_day_after_a_ride_gets_no_s5_term_from_either_face():
    prob = problem(rides=[ride(TUESDAY, 8, 90)])
    plan = [strength(prob, at(WEDNESDAY, 16))]
    assert checked(prob, plan) == encoded(prob, plan) == {}
