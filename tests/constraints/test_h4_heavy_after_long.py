"""H4: a heavy session starts at least `heavy_after_long_h` (24 h) after a long ride or race ends."""

from datetime import date, timedelta

from factories import MONDAY, at, lifter, problem, ride, strength
from harness import encode_plan

from constraints import H4HeavyAfterLong

RULE = H4HeavyAfterLong(heavy_after_long_h=24)
SATURDAY = MONDAY + timedelta(days=5)
SUNDAY = MONDAY + timedelta(days=6)
SPRING_MONDAY = date(2027, 3, 22)
SPRING_SATURDAY = date(2027, 3, 27)
SPRING_SUNDAY = date(2027, 3, 28)  # Europe/London: 01:00 GMT becomes 02:00 BST


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def test_heavy_session_24_hours_after_a_long_ride_ends_keeps_h4_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])  # ends 13:00
    assert faces(prob, [strength(prob, at(SUNDAY, 13), heavy=True)]) == ([], True)


def test_heavy_session_23_hours_after_a_long_ride_ends_breaks_h4_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])
    assert faces(prob, [strength(prob, at(SUNDAY, 12), heavy=True)]) == (["H4"], False)


def test_light_session_the_morning_after_a_long_ride_is_not_h4s_business():
    prob = problem(lifter(), [ride(SATURDAY, 9, 240, "long")])
    assert faces(prob, [strength(prob, at(SUNDAY, 8), heavy=False)]) == ([], True)


def test_a_short_race_counts_like_a_long_ride_for_h4_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 60, "race", "C")])  # ends 10:00
    assert faces(prob, [strength(prob, at(SUNDAY, 9), heavy=True)]) == (["H4"], False)
    assert faces(prob, [strength(prob, at(SUNDAY, 10), heavy=True)]) == ([], True)


def test_heavy_session_the_day_after_a_149_minute_endurance_ride_keeps_h4_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 149, "endurance")])
    assert faces(prob, [strength(prob, at(SUNDAY, 8), heavy=True)]) == ([], True)


def test_heavy_session_the_day_after_a_150_minute_endurance_ride_breaks_h4_in_both_faces():
    prob = problem(lifter(), [ride(SATURDAY, 9, 150, "endurance")])
    assert faces(prob, [strength(prob, at(SUNDAY, 8), heavy=True)]) == (["H4"], False)


def test_heavy_session_23_real_hours_after_a_long_ride_across_the_spring_clock_change_breaks_h4():
    """Saturday 13:00 GMT to Sunday 13:00 BST is 24 wall-clock hours but 23 real ones."""
    prob = problem(lifter(), [ride(SPRING_SATURDAY, 9, 240, "long")], start=SPRING_MONDAY)
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 13), heavy=True)]) == (["H4"], False)


def test_heavy_session_24_real_hours_after_a_long_ride_across_the_spring_clock_change_keeps_h4():
    prob = problem(lifter(), [ride(SPRING_SATURDAY, 9, 240, "long")], start=SPRING_MONDAY)
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 14), heavy=True)]) == ([], True)
