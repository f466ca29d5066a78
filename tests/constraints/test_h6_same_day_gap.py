"""H6: strength and any ride on the same day are at least `same_day_gap_h` (6 h) apart,
from the end of the first to the start of the second."""

from datetime import date, timedelta

from factories import MONDAY, at, mobility, problem, ride, strength
from harness import encode_plan

from constraints import H6SameDayGap
from planner.domain import Ride
from planner.variables import Suggestion

RULE = H6SameDayGap(same_day_gap_h=6)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
SPRING_MONDAY = date(2027, 3, 22)
SPRING_SUNDAY = date(2027, 3, 28)  # Europe/London: 01:00 GMT becomes 02:00 BST


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def test_strength_starting_6_hours_after_a_ride_ends_keeps_h6_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 9, 90)])  # ends 10:30
    assert faces(prob, [strength(prob, at(WEDNESDAY, 16, 30))]) == ([], True)


def test_strength_starting_5_and_a_half_hours_after_a_ride_ends_breaks_h6_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 9, 90)])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 16))]) == (["H6"], False)


def test_strength_ending_6_hours_before_a_ride_starts_keeps_h6_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 18, 90)])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 11, 15))]) == ([], True)  # ends 12:00


def test_strength_ending_5_hours_45_before_a_ride_starts_breaks_h6_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 18, 90)])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 11, 30))]) == (["H6"], False)  # ends 12:15


def test_recovery_rides_count_for_h6_too_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 9, 30, "recovery")])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 12))]) == (["H6"], False)


def test_mobility_an_hour_after_a_ride_keeps_h6_in_both_faces():
    prob = problem(rides=[ride(WEDNESDAY, 9, 90)])
    assert faces(prob, [mobility(prob, at(WEDNESDAY, 11, 30))]) == ([], True)


def test_strength_late_in_the_evening_before_an_early_ride_next_day_keeps_h6_in_both_faces():
    """Fewer than 6 h apart, but on different days: H6 is about the same day only."""
    prob = problem(rides=[ride(THURSDAY, 2, 60)])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 22))]) == ([], True)


def test_strength_5_real_hours_before_a_ride_across_the_spring_clock_change_breaks_h6():
    """00:00-00:45 GMT to 07:00 BST reads 6 h 15 on the wall clock but is 5 h 15 of real time."""
    prob = problem(rides=[ride(SPRING_SUNDAY, 7, 60)], start=SPRING_MONDAY)
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 0))]) == (["H6"], False)


def test_strength_6_real_hours_before_a_ride_across_the_spring_clock_change_keeps_h6():
    prob = problem(
        rides=[Ride(start=at(SPRING_SUNDAY, 7, 45), duration_min=60)], start=SPRING_MONDAY
    )
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 0))]) == ([], True)


def test_h6_suggests_the_gap_that_would_make_room_and_names_the_ride():
    prob = problem(rides=[ride(WEDNESDAY, 9, 90, title="Tempo")])  # ends 10:30
    slot = strength(prob, at(WEDNESDAY, 15))  # 4.5 h after
    assert RULE.suggest(prob, slot) == Suggestion.change("same_day_gap_h", 4)
    assert RULE.concerns(prob, slot).title == "Tempo"
    assert [v.ride.title for v in RULE.check(prob, [slot])] == ["Tempo"]


def test_h6_suggests_moving_the_ride_when_no_allowed_gap_would_do():
    prob = problem(rides=[ride(WEDNESDAY, 9, 90, title="Tempo")])
    assert RULE.suggest(prob, strength(prob, at(WEDNESDAY, 12))) == Suggestion(
        "move 'Tempo' to another day"
    )
