"""H7: at most one strength session a day, and at least `strength_gap_h` (48 h) from the end
of one strength session to the start of the next."""

from datetime import date, timedelta

from factories import MONDAY, at, mobility, problem, strength
from harness import encode_plan

from constraints import H7StrengthGap

RULE = H7StrengthGap(strength_gap_h=48)
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
FRIDAY = MONDAY + timedelta(days=4)
SPRING_MONDAY = date(2027, 3, 22)
SPRING_FRIDAY = date(2027, 3, 26)
SPRING_SUNDAY = date(2027, 3, 28)  # Europe/London: 01:00 GMT becomes 02:00 BST


def faces(prob, plan, rule=RULE):
    return [v.rule for v in rule.check(prob, plan)], encode_plan(rule, prob, plan).feasible


def test_two_strength_sessions_48_hours_apart_keep_h7_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(WEDNESDAY, 9, 45))]
    assert faces(prob, plan) == ([], True)


def test_two_strength_sessions_47_hours_apart_break_h7_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(WEDNESDAY, 8, 45))]
    assert faces(prob, plan) == (["H7"], False)


def test_two_strength_sessions_on_the_same_day_break_h7_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 7)), strength(prob, at(MONDAY, 20))]
    assert faces(prob, plan) == (["H7"], False)


def test_check_names_the_later_of_two_close_sessions():
    prob = problem()
    first, second = strength(prob, at(MONDAY, 9)), strength(prob, at(TUESDAY, 9))
    assert [v.when for v in RULE.check(prob, [second, first])] == [second.start]


def test_three_strength_sessions_each_48_hours_apart_keep_h7_in_both_faces():
    prob = problem()
    plan = [
        strength(prob, at(MONDAY, 9)),
        strength(prob, at(WEDNESDAY, 9, 45)),
        strength(prob, at(FRIDAY, 10, 30)),
    ]
    assert faces(prob, plan) == ([], True)


def test_a_close_third_session_breaks_h7_even_when_the_first_two_are_apart_in_both_faces():
    prob = problem()
    plan = [
        strength(prob, at(MONDAY, 9)),
        strength(prob, at(WEDNESDAY, 9, 45)),
        strength(prob, at(FRIDAY, 9)),
    ]
    assert faces(prob, plan) == (["H7"], False)


def test_mobility_between_strength_sessions_is_not_h7s_business():
    prob = problem()
    plan = [
        strength(prob, at(MONDAY, 9)),
        mobility(prob, at(MONDAY, 18)),
        mobility(prob, at(TUESDAY, 9)),
    ]
    assert faces(prob, plan) == ([], True)


def test_gap_setting_of_24_hours_lets_sessions_run_on_consecutive_days_in_both_faces():
    prob = problem()
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(TUESDAY, 9, 45))]
    assert faces(prob, plan, H7StrengthGap(strength_gap_h=24)) == ([], True)
    assert faces(prob, plan) == (["H7"], False)


def test_two_sessions_47_real_hours_apart_across_the_spring_clock_change_break_h7():
    """Friday 18:45 GMT to Sunday 18:45 BST reads 48 h on the wall clock but is 47 h."""
    prob = problem(start=SPRING_MONDAY)
    plan = [strength(prob, at(SPRING_FRIDAY, 18)), strength(prob, at(SPRING_SUNDAY, 18, 45))]
    assert faces(prob, plan) == (["H7"], False)


def test_two_sessions_48_real_hours_apart_across_the_spring_clock_change_keep_h7():
    prob = problem(start=SPRING_MONDAY)
    plan = [strength(prob, at(SPRING_FRIDAY, 18)), strength(prob, at(SPRING_SUNDAY, 19, 45))]
    assert faces(prob, plan) == ([], True)
