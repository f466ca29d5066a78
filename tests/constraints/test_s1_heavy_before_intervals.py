"""S1: heavy strength not on the day before an intervals ride (20 per session, both faces)."""

from datetime import timedelta

from factories import MONDAY, at, lifter, problem, ride, strength
from harness import checked_terms, encoded_terms

from constraints import S1HeavyBeforeIntervals

RULE = S1HeavyBeforeIntervals()
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
FRIDAY = MONDAY + timedelta(days=4)
SATURDAY = MONDAY + timedelta(days=5)


def checked(prob, plan) -> dict[str, int]:
    return checked_terms(RULE, prob, plan)


def encoded(prob, plan) -> dict[str, int]:
    return encoded_terms(RULE, prob, plan)


def intervals_on(*days, kind="intervals"):
    return problem(lifter(), [ride(day, 18, 60, kind) for day in days])


def test_heavy_session_the_day_before_intervals_costs_20_in_both_faces():
    prob = intervals_on(WEDNESDAY)
    plan = [strength(prob, at(TUESDAY, 9), heavy=True)]
    expected = {"S1 heavy_before_intervals[2027-01-05]": 20}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_heavy_session_late_the_evening_before_morning_intervals_costs_20_in_both_faces():
    prob = problem(lifter(), [ride(WEDNESDAY, 6, 60, "intervals")])
    plan = [strength(prob, at(TUESDAY, 21), heavy=True)]
    expected = {"S1 heavy_before_intervals[2027-01-05]": 20}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_light_session_the_day_before_intervals_gets_no_s1_term_from_either_face():
    prob = intervals_on(WEDNESDAY)
    plan = [strength(prob, at(TUESDAY, 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_heavy_session_two_days_before_intervals_gets_no_s1_term_from_either_face():
    prob = intervals_on(WEDNESDAY)
    plan = [strength(prob, at(MONDAY, 9), heavy=True)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_heavy_session_on_the_morning_of_intervals_gets_no_s1_term_from_either_face():
    prob = intervals_on(WEDNESDAY)
    plan = [strength(prob, at(WEDNESDAY, 7), heavy=True)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_heavy_session_the_day_before_an_endurance_ride_gets_no_s1_term_from_either_face():
    prob = intervals_on(WEDNESDAY, kind="endurance")
    plan = [strength(prob, at(TUESDAY, 9), heavy=True)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_each_heavy_session_before_intervals_costs_20_in_both_faces():
    prob = intervals_on(WEDNESDAY, SATURDAY)
    plan = [strength(prob, at(TUESDAY, 9), heavy=True), strength(prob, at(FRIDAY, 9), heavy=True)]
    expected = {
        "S1 heavy_before_intervals[2027-01-05]": 20,
        "S1 heavy_before_intervals[2027-01-08]": 20,
    }
    assert checked(prob, plan) == encoded(prob, plan) == expected
