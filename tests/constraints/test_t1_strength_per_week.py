"""T1: strength sessions a week by phase (base 2-3, build 2, peak and in-season 1, race week
0-1, transition 1). Each session short of the phase minimum costs 1000 in both faces."""

from datetime import timedelta

from factories import MONDAY, at, athlete, lifter, mobility, problem, ride, strength
from harness import encode_plan

from constraints import T1StrengthPerWeek
from planner.candidates import CandidateFactory
from planner.domain import ProgressionState, Session, SessionKind

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


# The heavy part (Revision 2): once a ladder sits on a heavy rung, a week that allows heavy
# work wants at least one heavy session, and in base and build both of its two (40 for each
# short); a heavy session that holds the rung below a never-done first-exposure lift instead
# of it is a stand-in (10).
HEAVY_TERM = "T1 heavy_sessions["
STAND_IN_TERM = "T1 stand_in["


def soft_terms(prob, plan, prefix):
    return (
        {k: v for k, v in checked(prob, plan).items() if k.startswith(prefix)},
        encoded(prob, plan, prefix),
    )


def stand_in(prob, start):
    """A heavy session holding the rung below the Nordic curl (the planner's stand-in)."""
    built = CandidateFactory(prob).stand_in_content().strength(prob.local_day(start), True)
    prescriptions, notes = built
    return Session(
        kind=SessionKind.strength,
        start=start,
        end=start + timedelta(minutes=45),
        heavy=True,
        prescriptions=list(prescriptions),
        notes=list(notes),
    )


def test_lifter_base_week_without_a_heavy_session_costs_80_in_both_faces():
    prob = problem(lifter(), weeks=1)
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(FRIDAY, 9))]
    expected = {"T1 heavy_sessions[week 1]": 80}
    assert soft_terms(prob, plan, HEAVY_TERM) == (expected, expected)


def test_lifter_base_week_with_one_heavy_session_of_two_costs_40_in_both_faces():
    prob = problem(lifter(), weeks=1)
    plan = [strength(prob, at(MONDAY, 9), heavy=True), strength(prob, at(FRIDAY, 9))]
    expected = {"T1 heavy_sessions[week 1]": 40}
    assert soft_terms(prob, plan, HEAVY_TERM) == (expected, expected)


def test_lifter_base_week_with_two_heavy_sessions_gets_no_heavy_term_from_either_face():
    prob = problem(lifter(), weeks=1)
    plan = [strength(prob, at(d, 9), heavy=True) for d in (MONDAY, FRIDAY)]
    assert soft_terms(prob, plan, HEAVY_TERM) == ({}, {})


def test_lifter_in_season_week_without_heavy_work_costs_40_in_both_faces():
    prob = problem(lifter(phase="in_season"), weeks=1)
    plan = [strength(prob, at(MONDAY, 9))]
    expected = {"T1 heavy_sessions[week 1]": 40}
    assert soft_terms(prob, plan, HEAVY_TERM) == (expected, expected)


def test_novice_week_without_heavy_work_gets_no_heavy_term_from_either_face():
    prob = problem(weeks=1)  # every ladder on its first rung: no heavy rung to ask for
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(FRIDAY, 9))]
    assert soft_terms(prob, plan, HEAVY_TERM) == ({}, {})


def test_deload_week_without_heavy_work_gets_no_heavy_term_from_either_face():
    prob = problem(lifter(), weeks=4)
    plan = [
        strength(prob, at(MONDAY + timedelta(days=7 * week + day), 9), heavy=week < 3)
        for week in range(4)
        for day in (0, 4)
    ]
    assert prob.week_list[3].deload
    assert soft_terms(prob, plan, HEAVY_TERM) == ({}, {})


def test_taper_week_without_heavy_work_gets_no_heavy_term_from_either_face():
    race_day = MONDAY + timedelta(days=13)
    prob = problem(lifter(), [ride(race_day, 9, 180, "race", "A")], weeks=1)
    plan = [strength(prob, at(MONDAY, 9))]  # peak: one session a week
    assert soft_terms(prob, plan, HEAVY_TERM) == ({}, {})


def test_stand_in_for_a_never_done_nordic_curl_costs_10_in_both_faces():
    prob = problem(lifter(), weeks=1)
    session = stand_in(prob, at(MONDAY, 9))
    assert "nordic_curl" not in session.exercise_ids()
    assert any(p.heavy for p in session.prescriptions)  # still heavy work (the RDL)
    expected = {"T1 stand_in[2027-01-04]": 10}
    assert soft_terms(prob, [session], STAND_IN_TERM) == (expected, expected)


def test_a_stand_in_in_a_week_that_holds_the_building_up_nordic_is_free_in_both_faces():
    """Once done, the Nordic builds up once a week (H9): the week's other heavy session holds
    the ball curl for nothing; without a Nordic that week, each stand-in costs 10."""
    who = lifter()
    state = ProgressionState.starting(who).model_copy(
        update={"exposures": ["nordic_curl"], "build_up": {"nordic_curl": 1}}
    )
    prob = problem(who, weeks=1, state=state)
    holder = strength(prob, at(MONDAY, 9), heavy=True)
    other = stand_in(prob, at(THURSDAY, 9))
    assert "nordic_curl" in holder.exercise_ids() and "nordic_curl" not in other.exercise_ids()
    assert soft_terms(prob, [holder, other], STAND_IN_TERM) == ({}, {})
    alone = stand_in(prob, at(MONDAY, 9))
    expected = {"T1 stand_in[2027-01-04]": 10}
    assert soft_terms(prob, [alone], STAND_IN_TERM) == (expected, expected)
    message = [v.message for v in RULE.check(prob, [alone]) if v.term.startswith(STAND_IN_TERM)]
    assert "its build-up wants it once a week" in message[0]


def test_heavy_session_with_the_nordic_curl_is_no_stand_in_in_either_face():
    prob = problem(lifter(), weeks=1)
    session = strength(prob, at(MONDAY, 9), heavy=True)
    assert "nordic_curl" in session.exercise_ids()
    assert soft_terms(prob, [session], STAND_IN_TERM) == ({}, {})


def test_once_the_nordic_curl_was_done_no_stand_in_is_offered_or_priced():
    who = lifter()
    state = ProgressionState.starting(who).model_copy(update={"exposures": ["nordic_curl"]})
    prob = problem(who, weeks=1, state=state)
    assert CandidateFactory(prob).stand_in_content() is None
    plan = [strength(prob, at(MONDAY, 9), heavy=True)]
    assert soft_terms(prob, plan, STAND_IN_TERM) == ({}, {})


# Known disagreement between the faces: the encoding caps the week at the phase maximum;
# check does not know it. This test pins the encoding's behaviour.


def test_encoding_alone_refuses_more_strength_sessions_than_the_phase_maximum():
    prob = problem(weeks=1)
    plan = [strength(prob, at(d, 9)) for d in (MONDAY, WEDNESDAY, FRIDAY, SUNDAY)]
    assert not encode_plan(RULE, prob, plan).feasible
    assert checked(prob, plan) == {}


def test_a_heavy_miss_names_the_days_pain_keeps_heavy_work_out():
    """A red hamstring through Wednesday left one heavy session where two were wanted; the
    miss read as H7's gap alone (a coach's review). It names the days and the region."""
    from planner.domain import Region, RegionStatus, Zone

    state = ProgressionState.starting(lifter())
    state.regions[Region.hamstring] = RegionStatus(zone=Zone.red, no_heavy_until=THURSDAY)
    prob = problem(lifter(), weeks=1, state=state)
    plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(FRIDAY, 9), heavy=True)]
    [miss] = [v for v in RULE.check(prob, plan) if v.term.startswith("T1 heavy_sessions")]
    assert miss.message.endswith(
        f"; heavy work loading the hamstring is out through {WEDNESDAY:%a %d %b}: red or "
        "awaiting clearance"
    ), miss.message
    # a red region the heavy lift does not load is not named (a review: a red knee, or pain
    # "elsewhere", was blamed beside the Romanian deadlift)
    for region in (Region.knee, Region.other):
        other = ProgressionState.starting(lifter())
        other.regions[region] = RegionStatus(zone=Zone.red, no_heavy_until=THURSDAY)
        prob = problem(lifter(), weeks=1, state=other)
        plan = [strength(prob, at(MONDAY, 9)), strength(prob, at(FRIDAY, 9), heavy=True)]
        found = [v for v in RULE.check(prob, plan) if v.term.startswith("T1 heavy_sessions")]
        assert all("heavy work loading" not in v.message for v in found), (region, found)
    # a week pain leaves alone says nothing of it
    calm = problem(lifter(), weeks=1)
    calm_plan = [strength(calm, at(MONDAY, 9)), strength(calm, at(FRIDAY, 9), heavy=True)]
    [plain] = [v for v in RULE.check(calm, calm_plan) if v.term.startswith("T1 heavy_sessions")]
    assert "heavy work loading" not in plain.message
