"""S2: strength on the athlete's preferred weekdays and time of day (2 per session that
misses either, both faces). Morning starts before 11:00, midday 11:00-15:00, evening after."""

from datetime import timedelta

from factories import MONDAY, at, mobility, problem, strength
from harness import encode_plan

from constraints import S2PreferredTimes
from planner.domain import TimeOfDay

RULE = S2PreferredTimes(preferred_weekdays=["monday", "thursday"], preferred_time=TimeOfDay.morning)
TUESDAY = MONDAY + timedelta(days=1)
THURSDAY = MONDAY + timedelta(days=3)


def checked(prob, plan, rule=RULE) -> dict[str, int]:
    """check's terms and penalties, summed per term name."""
    terms: dict[str, int] = {}
    for v in rule.check(prob, plan):
        assert v.rule == "S2"
        terms[v.term] = terms.get(v.term, 0) + v.penalty
    return terms


def encoded(prob, plan, rule=RULE) -> dict[str, int]:
    result = encode_plan(rule, prob, plan)
    assert result.feasible
    return result.terms


def test_monday_morning_strength_gets_no_s2_term_from_either_face():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 7)), strength(prob, at(THURSDAY, 7))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_tuesday_morning_strength_costs_2_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(TUESDAY, 7))]
    assert checked(prob, plan) == encoded(prob, plan) == {"S2 not_preferred[2027-01-05]": 2}


def test_monday_strength_starting_at_1030_is_still_morning_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 10, 30))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_monday_strength_starting_at_1100_costs_2_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 11))]
    assert checked(prob, plan) == encoded(prob, plan) == {"S2 not_preferred[2027-01-04]": 2}


def test_wrong_day_and_wrong_time_together_cost_2_once_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(TUESDAY, 18))]
    assert checked(prob, plan) == encoded(prob, plan) == {"S2 not_preferred[2027-01-05]": 2}


def test_mobility_on_a_tuesday_evening_gets_no_s2_term_from_either_face():
    prob = problem()
    plan = [mobility(prob, at(TUESDAY, 18))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_evening_preference_starts_at_1500_in_both_faces():
    rule = S2PreferredTimes(preferred_time=TimeOfDay.evening)
    prob = problem()
    late, early = [strength(prob, at(TUESDAY, 15))], [strength(prob, at(TUESDAY, 14, 30))]
    assert checked(prob, late, rule) == encoded(prob, late, rule) == {}
    expected = {"S2 not_preferred[2027-01-05]": 2}
    assert checked(prob, early, rule) == encoded(prob, early, rule) == expected


def test_without_preferences_any_time_gets_no_s2_term_from_either_face():
    rule = S2PreferredTimes()
    prob = problem()
    plan = [strength(prob, at(TUESDAY, 21))]
    assert checked(prob, plan, rule) == encoded(prob, plan, rule) == {}
