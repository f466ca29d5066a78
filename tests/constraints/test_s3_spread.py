"""S3: strength sessions spread over the week. With a phase minimum of 2 a week, two strength
days fewer than 7 // 2 = 3 days apart cost 5 per pair in both faces."""

from datetime import timedelta

from factories import MONDAY, at, athlete, mobility, problem, strength
from harness import checked_terms, encoded_terms

from constraints import S3Spread

RULE = S3Spread()
DAY = [MONDAY + timedelta(days=i) for i in range(14)]  # DAY[0] Monday of week 1


def checked(prob, plan) -> dict[str, int]:
    return checked_terms(RULE, prob, plan)


def encoded(prob, plan) -> dict[str, int]:
    return encoded_terms(RULE, prob, plan)


def on_days(prob, *indices):
    return [strength(prob, at(DAY[i], 9)) for i in indices]


def test_base_strength_on_monday_and_thursday_gets_no_s3_term_from_either_face():
    prob = problem()
    plan = on_days(prob, 0, 3)
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_base_strength_on_monday_and_wednesday_costs_5_in_both_faces():
    prob = problem()
    plan = on_days(prob, 0, 2)
    assert checked(prob, plan) == encoded(prob, plan) == {"S3 bunched[2027-01-04+2d]": 5}


def test_base_strength_on_monday_and_tuesday_costs_5_in_both_faces():
    prob = problem()
    plan = on_days(prob, 0, 1)
    assert checked(prob, plan) == encoded(prob, plan) == {"S3 bunched[2027-01-04+1d]": 5}


def test_every_close_pair_costs_5_in_both_faces():
    prob = problem()
    plan = on_days(prob, 0, 1, 3)  # Mon-Tue 1 day, Tue-Thu 2 days, Mon-Thu 3 days (fine)
    expected = {"S3 bunched[2027-01-04+1d]": 5, "S3 bunched[2027-01-05+2d]": 5}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_close_pair_across_the_week_boundary_costs_5_in_both_faces():
    prob = problem()
    plan = on_days(prob, 6, 8)  # Sunday of week 1, Tuesday of week 2
    assert checked(prob, plan) == encoded(prob, plan) == {"S3 bunched[2027-01-10+2d]": 5}


def test_in_season_strength_on_consecutive_days_gets_no_s3_term_from_either_face():
    prob = problem(athlete(phase="in_season"))
    plan = on_days(prob, 0, 1)
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_mobility_next_to_strength_gets_no_s3_term_from_either_face():
    prob = problem()
    plan = [*on_days(prob, 0), mobility(prob, at(DAY[1], 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}
