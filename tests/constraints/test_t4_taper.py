"""T4: in the 14 days before an A race (the race day excluded), strength volume cut 30-70 %
(a ratio outside [0.30, 0.70] of the usual volume costs 50 in both faces)."""

from datetime import timedelta

from factories import MONDAY, at, lifter, problem, ride, strength
from harness import checked_terms, encoded_terms

from constraints import T4Taper
from constraints.t4_taper import heavy_taper_days
from planner.content import ContentBuilder
from planner.domain import Phase, Session

RULE = T4Taper()
RACE_DAY = MONDAY + timedelta(days=19)  # Saturday of week 3


def checked(prob, plan) -> dict[str, int]:
    return checked_terms(RULE, prob, plan)


def encoded(prob, plan) -> dict[str, int]:
    return encoded_terms(RULE, prob, plan)


def a_race(priority="A"):
    return problem(rides=[ride(RACE_DAY, 9, 180, "race", priority)], weeks=3)


def before_race(days: int):
    return RACE_DAY - timedelta(days=days)


def full_volume(days_before_race: int, hour: int = 9) -> Session:
    """Ordinary-week content (built with no race in sight) at that day."""
    return strength(problem(weeks=3), at(before_race(days_before_race), hour))


def dead_bug_only(session: Session, **dose) -> Session:
    """The session with just its core move, dead bug or bird dog by the day's rotation (both
    full volume 2 x 20), dosed as given."""
    [bug] = [p for p in session.prescriptions if p.exercise_id in ("dead_bug", "bird_dog")]
    return session.model_copy(update={"prescriptions": [bug.model_copy(update=dose)]})


def term(days_before_race: int) -> str:
    return f"T4 taper_volume[{before_race(days_before_race).isoformat()}]"


def test_full_volume_session_a_week_before_an_a_race_costs_50_in_both_faces():
    prob, plan = a_race(), [full_volume(7)]
    assert checked(prob, plan) == encoded(prob, plan) == {term(7): 50}


def test_reduced_session_the_planner_builds_in_the_taper_gets_no_t4_term_from_either_face():
    prob = a_race()
    plan = [strength(prob, at(before_race(7), 9))]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_full_volume_session_14_days_before_the_race_costs_50_in_both_faces():
    prob, plan = a_race(), [full_volume(14)]
    assert checked(prob, plan) == encoded(prob, plan) == {term(14): 50}


def test_full_volume_session_15_days_before_the_race_gets_no_t4_term_from_either_face():
    prob, plan = a_race(), [full_volume(15)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_full_volume_session_on_the_race_day_itself_gets_no_t4_term_from_either_face():
    prob, plan = a_race(), [full_volume(0, hour=6)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_full_volume_session_before_a_b_race_gets_no_t4_term_from_either_face():
    prob, plan = a_race("B"), [full_volume(7)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_volume_cut_to_exactly_70_percent_gets_no_t4_term_from_either_face():
    prob, plan = a_race(), [dead_bug_only(full_volume(7), reps="14")]  # 28/40
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_volume_cut_to_75_percent_costs_50_in_both_faces():
    prob, plan = a_race(), [dead_bug_only(full_volume(7), reps="15")]  # 30/40
    assert checked(prob, plan) == encoded(prob, plan) == {term(7): 50}


def test_volume_cut_to_exactly_30_percent_gets_no_t4_term_from_either_face():
    prob, plan = a_race(), [dead_bug_only(full_volume(7), reps="6")]  # 12/40
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_volume_cut_to_27_percent_costs_50_in_both_faces():
    prob, plan = a_race(), [dead_bug_only(full_volume(7), sets=1, reps="11")]  # 11/40
    assert checked(prob, plan) == encoded(prob, plan) == {term(7): 50}


# --- intensity kept ---------------------------------------------------------------------------


def lifter_race():
    return problem(lifter(), rides=[ride(RACE_DAY, 9, 180, "race", "A")], weeks=3)


def test_a_light_taper_session_for_an_athlete_on_a_heavy_rung_costs_50_in_both_faces():
    """T4 keeps intensity: a light session swaps the Romanian deadlift for the light kickstand
    RDL, where a heavy one at the taper dose (2 x 3 at the same load) keeps it (and the taper
    then holds no heavy session: 40 more)."""
    prob = lifter_race()
    light = strength(prob, at(before_race(10), 9))
    assert "romanian_deadlift" not in light.exercise_ids()
    both = {term(10): 50, f"T4 taper_heavy[{RACE_DAY.isoformat()}]": 40}
    assert checked(prob, [light]) == encoded(prob, [light]) == both
    message = RULE.check(prob, [light])[0].message
    assert "is light" in message and "intensity is not kept" in message


def test_a_heavy_taper_session_at_the_taper_dose_gets_no_t4_term_from_either_face():
    prob = lifter_race()
    heavy = strength(prob, at(before_race(10), 9), heavy=True)
    rdl = next(p for p in heavy.prescriptions if p.exercise_id == "romanian_deadlift")
    assert (rdl.sets, rdl.reps) == (2, "3")
    assert checked(prob, [heavy]) == encoded(prob, [heavy]) == {}


def test_a_light_taper_session_without_a_heavy_rung_gets_no_t4_term_from_either_face():
    prob = a_race()  # a novice: no heavy variant to keep the intensity of
    light = strength(prob, at(before_race(10), 9))
    assert checked(prob, [light]) == encoded(prob, [light]) == {}


def test_a_light_session_in_h8s_heavy_free_days_before_the_race_costs_nothing_for_intensity():
    """H8 keeps heavy work out of the 7 days before an A race: a light session there is the
    only kind there is, so T4's intensity term does not charge it (a review found it did)."""
    race_thursday = MONDAY + timedelta(weeks=2, days=3)
    prob = problem(lifter(), rides=[ride(race_thursday, 9, 180, "race", "A")], weeks=3)
    friday_before = race_thursday - timedelta(days=6)  # week 2: not the race week
    assert prob.week_of(friday_before).phase != Phase.race
    assert ContentBuilder(prob).strength(friday_before, True) is not None
    light = strength(prob, at(friday_before, 9))
    assert "romanian_deadlift" not in light.exercise_ids()
    terms = checked(prob, [light])
    assert terms == encoded(prob, [light])
    assert all("is light" not in v.message for v in RULE.check(prob, [light])), terms


# --- intensity kept: one heavy session in the taper, before H8's heavy-free days ---------------


def heavy_term() -> str:
    return f"T4 taper_heavy[{RACE_DAY.isoformat()}]"


def test_a_taper_with_only_a_light_session_on_h8s_first_day_costs_40_in_both_faces():
    """A stage racer's taper held one light session, on the day H8 closes heavy work (no
    'is light' cost there), and the last heavy work came 17 days before the race; T4 read ok (a
    coach's review). The taper wants one heavy session at the taper dose before those days."""
    prob = lifter_race()
    plan = [strength(prob, at(before_race(7), 9), heavy=False)]
    assert checked(prob, plan) == encoded(prob, plan) == {heavy_term(): 40}
    [violation] = [v for v in RULE.check(prob, plan) if v.term == heavy_term()]
    assert "though the ladder is at Romanian deadlift" in violation.message


def test_a_heavy_taper_session_before_h8s_days_pays_nothing():
    prob = lifter_race()
    plan = [strength(prob, at(before_race(10), 9), heavy=True)]
    assert checked(prob, plan) == encoded(prob, plan) == {}


def test_no_heavy_rung_no_heavy_taper_wanted():
    prob = a_race()
    plan = [strength(prob, at(before_race(7), 9), heavy=False)]
    assert heavy_term() not in checked(prob, plan)


def test_the_planner_keeps_a_heavy_session_in_the_taper():
    from constraints.t4_taper import heavy_taper_days
    from planner.solve import SolverSettings, solve_problem

    prob = lifter_race()
    result = solve_problem(prob, SolverSettings(), explain_misses=False)
    days, _ = heavy_taper_days(prob, RACE_DAY)
    heavy_days = {
        prob.local_day(s.start) for s in result.sessions if s.kind == "strength" and s.heavy
    }
    assert heavy_days & set(days), (days, sorted(heavy_days))


def test_a_heavy_taper_session_done_before_a_re_plan_still_counts_in_both_faces():
    """Once the taper's heavy session was done, every re-plan (each feedback makes one) paid
    the term or reported a miss: the days before `now` and the pinned session were left out
    (a review)."""
    import copy

    from planner.solve import SolverSettings, solve_problem

    prob = lifter_race()
    first = solve_problem(prob, SolverSettings(), explain_misses=False)
    days, _ = heavy_taper_days(prob, RACE_DAY)
    [done] = [s for s in first.sessions if s.heavy and prob.local_day(s.start) in days][:1]
    for hours in (1, 20):  # just after it, and the next day
        later = copy.copy(prob)
        later.previous = first.sessions
        later.now = done.end + timedelta(hours=hours)
        again = solve_problem(later, SolverSettings(), explain_misses=False)
        assert heavy_term() not in again.solver.penalties, again.solver.penalties
        t4 = [t for r in again.week_reports for t in r.targets if t.rule == "T4"]
        assert all(t.met for t in t4), [t.reason for t in t4 if not t.met]


def test_a_stage_race_has_one_taper_heavy_term():
    """One term per stage day paid the same miss three times (a review)."""
    stages = [ride(RACE_DAY + timedelta(days=d), 9, 180, "race", "A") for d in range(3)]
    prob = problem(lifter(), rides=stages, weeks=4)
    plan = [strength(prob, at(before_race(7), 9), heavy=False)]
    terms = checked(prob, plan)
    assert terms == encoded(prob, plan)
    assert [t for t in terms if t.startswith("T4 taper_heavy")] == [heavy_term()]
