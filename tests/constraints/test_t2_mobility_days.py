"""T2: mobility on at least `mobility_days_min` (3) days a week, preferably within
`mobility_after_ride_h` (2 h) of a ride's end. Each day short costs 200 in both faces."""

from datetime import timedelta

from factories import MONDAY, at, mobility, problem, ride, strength
from harness import encode_plan

from constraints import T2MobilityDays

RULE = T2MobilityDays(mobility_days_min=3, mobility_days_max=5)
DAYS = [MONDAY + timedelta(days=i) for i in range(7)]
DAYS_TERM = "T2 mobility_days["


def checked(prob, plan) -> dict[str, int]:
    """check's terms and penalties, summed per term name."""
    terms: dict[str, int] = {}
    for v in RULE.check(prob, plan):
        assert v.rule == "T2"
        terms[v.term] = terms.get(v.term, 0) + v.penalty
    return terms


def encoded(prob, plan, prefix=DAYS_TERM) -> dict[str, int]:
    result = encode_plan(RULE, prob, plan)
    assert result.feasible
    return {term: value for term, value in result.terms.items() if term.startswith(prefix)}


def test_mobility_on_two_days_costs_200_in_both_faces():
    prob = problem(weeks=1)
    plan = [mobility(prob, at(day, 9)) for day in DAYS[:2]]
    assert checked(prob, plan) == encoded(prob, plan) == {"T2 mobility_days[week 1]": 200}


def test_no_mobility_costs_600_in_both_faces():
    prob = problem(weeks=1)
    plan = [strength(prob, at(MONDAY, 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {"T2 mobility_days[week 1]": 600}


def test_mobility_on_three_days_gets_no_mobility_days_term_from_either_face():
    prob = problem(weeks=1)
    plan = [mobility(prob, at(day, 9)) for day in DAYS[:3]]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_only_the_week_that_falls_short_gets_a_t2_term_in_both_faces():
    prob = problem(weeks=2)
    plan = [mobility(prob, at(day, 9)) for day in DAYS[:3]]
    assert checked(prob, plan) == encoded(prob, plan) == {"T2 mobility_days[week 2]": 600}


def test_minimum_setting_of_zero_asks_for_nothing_in_either_face():
    rule = T2MobilityDays(mobility_days_min=0, mobility_days_max=5)
    prob = problem(weeks=1)
    assert rule.check(prob, []) == []
    assert encode_plan(rule, prob, []).terms == {}


# The preference "right after a ride": mobility on a day with a ride, not within 2 h of its
# end, costs 3 as `T2 not_after_ride[day]` in both faces. The encoding also prices each
# session (1, or 4 on a day without a ride, so ride days come first) as bookkeeping that no
# report lists, and caps the week at `mobility_days_max`; these tests pin that too.
AFTER_TERM = "T2 not_after_ride["


def test_mobility_within_2_hours_after_a_ride_gets_no_preference_term_from_either_face():
    prob = problem(rides=[ride(MONDAY, 9, 90)], weeks=1)  # ends 10:30
    plan = [mobility(prob, at(MONDAY, 12, 30))]  # exactly 2 h after
    assert encoded(prob, plan, AFTER_TERM) == {}
    assert AFTER_TERM not in str(checked(prob, plan))
    assert encoded(prob, plan, "T2 mobility[") == {"T2 mobility[2027-01-04]": 1}


def test_mobility_more_than_2_hours_after_a_ride_costs_3_in_both_faces():
    prob = problem(rides=[ride(MONDAY, 9, 90)], weeks=1)
    plan = [mobility(prob, at(MONDAY, 12, 31))]
    expected = {"T2 not_after_ride[2027-01-04]": 3}
    assert encoded(prob, plan, AFTER_TERM) == expected
    assert {k: v for k, v in checked(prob, plan).items() if k.startswith(AFTER_TERM)} == expected
    assert encoded(prob, plan, "T2 mobility[") == {"T2 mobility[2027-01-04]": 1}


def test_mobility_before_the_days_ride_costs_3_in_both_faces_and_names_the_ride():
    prob = problem(rides=[ride(MONDAY, 18, 60, title="Club ride")], weeks=1)
    plan = [mobility(prob, at(MONDAY, 9))]
    expected = {"T2 not_after_ride[2027-01-04]": 3}
    assert encoded(prob, plan, AFTER_TERM) == expected
    found = [v for v in RULE.check(prob, plan) if v.term.startswith(AFTER_TERM)]
    assert [v.ride.title for v in found] == ["Club ride"]


def test_mobility_on_a_day_without_a_ride_breaks_no_preference_but_costs_4_in_the_encoding():
    prob = problem(rides=[ride(MONDAY, 9, 90)], weeks=1)
    plan = [mobility(prob, at(DAYS[2], 9))]
    assert encoded(prob, plan, AFTER_TERM) == {}
    assert AFTER_TERM not in str(checked(prob, plan))
    assert encoded(prob, plan, "T2 mobility[") == {"T2 mobility[2027-01-06]": 4}


def test_encoding_alone_refuses_mobility_on_more_days_than_the_maximum():
    prob = problem(weeks=1)
    plan = [mobility(prob, at(day, 9)) for day in DAYS[:6]]
    assert not encode_plan(RULE, prob, plan).feasible
    assert checked(prob, plan) == {}


def test_two_mobility_sessions_on_one_day_count_as_one_day_in_check_but_two_in_the_encoding():
    """Known disagreement: the encoding counts sessions as days and leaves "one mobility a
    day" to the solver's structure rows (planner.solve._add_structure), not to T2."""
    prob = problem(weeks=1)
    plan = [
        mobility(prob, at(MONDAY, 9)),
        mobility(prob, at(MONDAY, 18)),
        mobility(prob, at(DAYS[1], 9)),
    ]
    assert checked(prob, plan) == {"T2 mobility_days[week 1]": 200}
    assert encoded(prob, plan) == {}
