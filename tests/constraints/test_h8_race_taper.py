"""H8: no heavy session within `taper_days_A` (7) days before an A race, or `taper_days_B`
(3) before a B race; the boundary day counts as within. And no strength session ending within
`clear_before_B_h` (48 h) of a B race's start or `clear_before_C_h` (24 h) of a C race's."""

from datetime import timedelta

from factories import MONDAY, at, lifter, mobility, problem, ride, strength
from harness import encode_plan

from constraints import H8RaceTaper
from planner.variables import Suggestion

RULE = H8RaceTaper(taper_days_A=7, taper_days_B=3)
RACE_DAY = MONDAY + timedelta(days=12)  # Saturday of week 2


def faces(prob, plan):
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def race(priority):
    return problem(lifter(), [ride(RACE_DAY, 9, 180, "race", priority)])


def heavy(days_before_race, hour=9):
    """A heavy session built where no race changes the content (H8 judges timing only)."""
    return strength(
        problem(lifter()), at(RACE_DAY - timedelta(days=days_before_race), hour), heavy=True
    )


def light(days_before_race, hour=9):
    return strength(problem(lifter()), at(RACE_DAY - timedelta(days=days_before_race), hour))


def test_heavy_session_7_days_before_an_a_race_breaks_h8_in_both_faces():
    assert faces(race("A"), [heavy(7)]) == (["H8"], False)


def test_heavy_session_8_days_before_an_a_race_keeps_h8_in_both_faces():
    assert faces(race("A"), [heavy(8)]) == ([], True)


def test_heavy_session_on_the_morning_of_an_a_race_breaks_h8_in_both_faces():
    assert faces(race("A"), [heavy(0, hour=6)]) == (["H8"], False)


def test_light_session_2_days_before_an_a_race_keeps_h8_in_both_faces():
    assert faces(race("A"), [light(2)]) == ([], True)


def test_heavy_session_the_day_after_an_a_race_keeps_h8_in_both_faces():
    assert faces(race("A"), [heavy(-1)]) == ([], True)


def test_heavy_session_3_days_before_a_b_race_breaks_h8_in_both_faces():
    assert faces(race("B"), [heavy(3)]) == (["H8"], False)


def test_heavy_session_4_days_before_a_b_race_keeps_h8_in_both_faces():
    assert faces(race("B"), [heavy(4)]) == ([], True)


def test_heavy_session_two_days_before_a_c_race_keeps_h8_in_both_faces():
    assert faces(race("C"), [heavy(2)]) == ([], True)


# Revision 2, race weeks: nothing in the 48 h before a B race, nothing in the 24 h before a C
# race (light sessions included; the race starts at 09:00, a session lasts 45 min).


def test_light_session_ending_47_hours_before_a_b_race_breaks_h8_in_both_faces():
    session = light(2, hour=9)  # 09:00-09:45 two days before: ends 47.25 h before the start
    assert faces(race("B"), [session]) == (["H8"], False)


def test_light_session_ending_48_hours_before_a_b_race_keeps_h8_in_both_faces():
    prob = race("B")
    session = strength(problem(lifter()), at(RACE_DAY - timedelta(days=2), 8, 15))
    assert faces(prob, [session]) == ([], True)


def test_light_session_the_evening_before_a_c_race_breaks_h8_in_both_faces():
    assert faces(race("C"), [light(1, hour=17)]) == (["H8"], False)


def test_light_session_25_hours_before_a_c_race_keeps_h8_in_both_faces():
    session = strength(problem(lifter()), at(RACE_DAY - timedelta(days=1), 7, 15))
    assert faces(race("C"), [session]) == ([], True)


def test_light_session_the_day_before_an_a_race_keeps_h8_in_both_faces():
    assert faces(race("A"), [light(1, hour=7)]) == ([], True)


def test_mobility_the_evening_before_a_b_race_keeps_h8_in_both_faces():
    session = mobility(problem(lifter()), at(RACE_DAY - timedelta(days=1), 19))
    assert faces(race("B"), [session]) == ([], True)


def test_a_race_with_no_priority_is_kept_clear_as_a_c_race_in_both_faces():
    """A race without a priority had no clear hours at all: loaded strength 23.8 h before it,
    closer than a C race allows (a coach's review)."""
    assert faces(race(None), [light(1, hour=17)]) == (["H8"], False)
    assert faces(race(None), [light(2, hour=7)]) == ([], True)
    # its words name it as such, and the setting that holds it (a review read "the None race"
    # and "clear_before_None_h")
    prob, session = race(None), light(1, hour=17)
    [breach] = H8RaceTaper(taper_days_A=7, taper_days_B=3).check(prob, [session])
    assert "before the race with no priority (as a C) 'race'" in breach.message, breach.message
    assert H8RaceTaper(taper_days_A=7, taper_days_B=3).suggest(prob, session) == Suggestion.change(
        "clear_before_C_h", 15
    )


def test_clear_hours_settings_move_the_boundary_in_both_faces():
    prob = race("C")
    rule = H8RaceTaper(taper_days_A=7, taper_days_B=3, clear_before_C_h=12)
    session = light(1, hour=17)  # ends 15.25 h before the start
    assert rule.check(prob, [session]) == []
    assert encode_plan(rule, prob, [session]).feasible


def test_suggestion_names_the_clear_hours_that_would_make_room():
    prob = race("B")
    slot = light(2, hour=9)
    assert RULE.suggest(prob, slot) == Suggestion.change("clear_before_B_h", 47)
    assert RULE.concerns(prob, slot).priority == "B"


def test_a_long_ride_marked_priority_a_is_not_a_race_for_h8():
    prob = problem(lifter(), [ride(RACE_DAY, 9, 240, "long", "A")])
    assert faces(prob, [heavy(2)]) == ([], True)


def test_taper_day_settings_move_the_boundary_in_both_faces():
    prob = race("A")
    rule = H8RaceTaper(taper_days_A=10, taper_days_B=3)
    assert [v.rule for v in rule.check(prob, [heavy(10)])] == ["H8"]
    assert not encode_plan(rule, prob, [heavy(10)]).feasible
    assert rule.check(prob, [heavy(11)]) == []
    assert encode_plan(rule, prob, [heavy(11)]).feasible
