"""T3: 3:1 loading; in the deload week (week 4 of a base or build run) each strength session
carries at most about half the usual volume (ratio above 0.67 costs 50 in both faces)."""

from datetime import timedelta

from factories import MONDAY, at, athlete, mobility, problem, strength
from harness import checked_terms, encoded_terms

from constraints import T3Deload
from planner.domain import Session

RULE = T3Deload()
WEEK_3_MONDAY = MONDAY + timedelta(days=14)
DELOAD_MONDAY = MONDAY + timedelta(days=21)


def checked(prob, plan) -> dict[str, int]:
    return checked_terms(RULE, prob, plan)


def encoded(prob, plan) -> dict[str, int]:
    return encoded_terms(RULE, prob, plan)


def base_run():
    prob = problem(weeks=4)
    assert [w.deload for w in prob.week_list] == [False, False, False, True]
    return prob


def moved(session: Session, days: int) -> Session:
    shift = timedelta(days=days)
    return session.model_copy(update={"start": session.start + shift, "end": session.end + shift})


def glute_bridge_only(session: Session, **dose) -> Session:
    """The session with just its glute bridge (full volume 3 x 15), dosed as given."""
    [bridge] = [p for p in session.prescriptions if p.exercise_id == "glute_bridge"]
    return session.model_copy(update={"prescriptions": [bridge.model_copy(update=dose)]})


def test_full_volume_session_in_the_deload_week_costs_50_in_both_faces():
    prob = base_run()
    plan = [moved(strength(prob, at(WEEK_3_MONDAY, 9)), 7)]  # week-3 content, in week 4
    expected = {"T3 deload_volume[2027-01-25]": 50}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_reduced_session_the_planner_builds_for_the_deload_week_gets_no_t3_term_from_either_face():
    prob = base_run()
    plan = [strength(prob, at(DELOAD_MONDAY, 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_full_volume_session_in_week_3_gets_no_t3_term_from_either_face():
    prob = base_run()
    plan = [strength(prob, at(WEEK_3_MONDAY, 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_two_full_volume_deload_sessions_cost_50_each_in_both_faces():
    prob = base_run()
    full = strength(prob, at(WEEK_3_MONDAY, 9))
    plan = [moved(full, 7), moved(full, 10)]
    expected = {"T3 deload_volume[2027-01-25]": 50, "T3 deload_volume[2027-01-28]": 50}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_two_thirds_of_the_volume_in_the_deload_week_gets_no_t3_term_from_either_face():
    prob = base_run()
    plan = [glute_bridge_only(moved(strength(prob, at(WEEK_3_MONDAY, 9)), 7), sets=2)]  # 30/45
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_73_percent_of_the_volume_in_the_deload_week_costs_50_in_both_faces():
    prob = base_run()
    plan = [glute_bridge_only(moved(strength(prob, at(WEEK_3_MONDAY, 9)), 7), reps="11")]  # 33/45
    expected = {"T3 deload_volume[2027-01-25]": 50}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_mobility_in_the_deload_week_gets_no_t3_term_from_either_face():
    prob = base_run()
    plan = [mobility(prob, at(DELOAD_MONDAY, 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_in_season_athlete_has_no_deload_week_and_no_t3_term_in_either_face():
    prob = problem(athlete(phase="in_season"), weeks=4)
    plan = [strength(prob, at(DELOAD_MONDAY, 9))]
    assert not prob.week_list[3].deload
    assert checked(prob, plan) == encoded(prob, plan) == {}
