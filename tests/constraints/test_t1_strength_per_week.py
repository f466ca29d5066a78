"""T1: strength sessions a week by phase (base 2-3, build 2, peak and in-season 1, race week
0-1, transition 1). Each session short of the phase minimum costs 1000 in both faces."""

from datetime import timedelta

from factories import MONDAY, at, athlete, lifter, mobility, problem, strength
from harness import encode_plan

from constraints import T1StrengthPerWeek

RULE = T1StrengthPerWeek()
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
FRIDAY = MONDAY + timedelta(days=4)
SUNDAY = MONDAY + timedelta(days=6)
NEXT_THURSDAY = MONDAY + timedelta(days=10)
SESSIONS_TERM = "T1 strength_sessions["


def checked(prob, plan) -> dict[str, int]:
    """check's terms and penalties, summed per term name."""
    terms: dict[str, int] = {}
    for v in RULE.check(prob, plan):
        assert v.rule == "T1"
        terms[v.term] = terms.get(v.term, 0) + v.penalty
    return terms


def encoded(prob, plan, prefix=SESSIONS_TERM) -> dict[str, int]:
    result = encode_plan(RULE, prob, plan)
    assert result.feasible
    return {term: value for term, value in result.terms.items() if term.startswith(prefix)}


def test_base_week_with_one_strength_session_costs_1000_in_both_faces():
    prob = problem(weeks=1)
    plan = [strength(prob, at(MONDAY, 9))]
    expected = {"T1 strength_sessions[week 1]": 1000}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_base_week_without_strength_costs_2000_in_both_faces():
    prob = problem(weeks=1)
    plan = [mobility(prob, at(MONDAY, 9))]
    expected = {"T1 strength_sessions[week 1]": 2000}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_base_week_with_two_strength_sessions_gets_no_t1_term_from_either_face():
    prob = problem(weeks=1)
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(THURSDAY, 9))]
    assert checked(prob, plan) == encode_plan(RULE, prob, plan).terms == {}


def test_base_week_with_three_strength_sessions_gets_no_t1_term_from_either_face():
    prob = problem(weeks=1)
    plan = [strength(prob, at(day, 9)) for day in (MONDAY, WEDNESDAY, FRIDAY)]
    assert checked(prob, plan) == encode_plan(RULE, prob, plan).terms == {}


def test_only_the_week_that_falls_short_gets_a_t1_term_in_both_faces():
    prob = problem(weeks=2)
    plan = [strength(prob, at(d, 9)) for d in (MONDAY, FRIDAY, NEXT_THURSDAY)]
    expected = {"T1 strength_sessions[week 2]": 1000}
    assert checked(prob, plan) == encoded(prob, plan) == expected


def test_in_season_week_with_one_strength_session_gets_no_t1_term_from_either_face():
    prob = problem(athlete(phase="in_season"), weeks=1)
    plan = [strength(prob, at(MONDAY, 9))]
    assert checked(prob, plan) == encode_plan(RULE, prob, plan).terms == {}


def test_in_season_week_without_strength_costs_1000_in_both_faces():
    prob = problem(athlete(phase="in_season"), weeks=1)
    expected = {"T1 strength_sessions[week 1]": 1000}
    assert checked(prob, []) == encoded(prob, []) == expected


def test_base_week_with_two_heavy_sessions_gets_no_t1_term_from_either_face():
    prob = problem(lifter(), weeks=1)
    plan = [strength(prob, at(d, 9), heavy=True) for d in (MONDAY, FRIDAY)]
    assert checked(prob, plan) == encode_plan(RULE, prob, plan).terms == {}


# Known disagreements between the faces (see the report): the encoding also asks for heavy
# work once a heavy variant is on offer, and caps the week at the phase maximum. check knows
# neither; these tests pin the encoding's behaviour so that a change to either face shows.


def test_encoding_alone_prices_a_missing_heavy_session_at_40_when_heavy_work_is_on_offer():
    prob = problem(lifter(), weeks=1)
    plan = [strength(prob, at(MONDAY, 9), heavy=True), strength(prob, at(FRIDAY, 9))]
    assert encode_plan(RULE, prob, plan).terms == {"T1 heavy_sessions[week 1]": 40}
    assert checked(prob, plan) == {}


def test_encoding_alone_refuses_more_strength_sessions_than_the_phase_maximum():
    prob = problem(weeks=1)
    plan = [strength(prob, at(d, 9)) for d in (MONDAY, WEDNESDAY, FRIDAY, SUNDAY)]
    assert not encode_plan(RULE, prob, plan).feasible
    assert checked(prob, plan) == {}
