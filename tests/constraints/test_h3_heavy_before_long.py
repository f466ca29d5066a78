"""H3: a heavy session ends at least 48 h before a long ride or race starts."""

from datetime import date, timedelta

from factories import MONDAY, at, lifter, problem, ride, strength
from harness import encode_plan

from constraints import H3HeavyBeforeLong

RULE = H3HeavyBeforeLong(heavy_before_long_h=48)
SATURDAY = MONDAY + timedelta(days=5)


def test_heavy_session_47_hours_before_a_long_ride_breaks_h3_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])
    plan = [strength(prob, at(SATURDAY, 9) - timedelta(hours=47, minutes=45), heavy=True)]
    assert [v.rule for v in RULE.check(prob, plan)] == ["H3"]
    assert not encode_plan(RULE, prob, plan).feasible


def test_heavy_session_48_hours_before_a_long_ride_keeps_h3_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])
    plan = [strength(prob, at(SATURDAY, 9) - timedelta(hours=48, minutes=45), heavy=True)]
    assert RULE.check(prob, plan) == []
    assert encode_plan(RULE, prob, plan).feasible


def test_light_session_the_day_before_a_long_ride_is_not_h3s_business():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])
    plan = [strength(prob, at(SATURDAY - timedelta(days=1), 9), heavy=False)]
    assert RULE.check(prob, plan) == []
    assert encode_plan(RULE, prob, plan).feasible


def test_a_ride_of_150_minutes_counts_as_long_whatever_its_kind():
    prob = problem(lifter(), [ride(SATURDAY, 9, 150, "endurance")])
    plan = [strength(prob, at(SATURDAY - timedelta(days=1), 9), heavy=True)]
    assert [v.rule for v in RULE.check(prob, plan)] == ["H3"]
    assert not encode_plan(RULE, prob, plan).feasible


SPRING_MONDAY = date(2027, 3, 22)
SPRING_FRIDAY = date(2027, 3, 26)
SPRING_SUNDAY = date(2027, 3, 28)  # Europe/London: 01:00 GMT becomes 02:00 BST


def test_heavy_session_47_real_hours_before_a_long_ride_across_the_spring_clock_change_breaks_h3():
    """Friday 09:00 GMT to Sunday 09:00 BST reads 48 h on the wall clock but is 47 h."""
    prob = problem(lifter(), [ride(SPRING_SUNDAY, 9, 240, "long")], start=SPRING_MONDAY)
    plan = [strength(prob, at(SPRING_FRIDAY, 8, 15), heavy=True)]
    assert [v.rule for v in RULE.check(prob, plan)] == ["H3"]
    assert not encode_plan(RULE, prob, plan).feasible


def test_heavy_session_48_real_hours_before_a_long_ride_across_the_spring_clock_change_keeps_h3():
    prob = problem(lifter(), [ride(SPRING_SUNDAY, 9, 240, "long")], start=SPRING_MONDAY)
    plan = [strength(prob, at(SPRING_FRIDAY, 7, 15), heavy=True)]
    assert RULE.check(prob, plan) == []
    assert encode_plan(RULE, prob, plan).feasible
