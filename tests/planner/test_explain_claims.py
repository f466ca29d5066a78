"""What an explanation calls free is free: the times the diagnosis offers (planner.explain) pass
every hard rule's solver-free check, and the diagnosis knows the Nordic's build-up (H9)."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

import pytest
from factories import MONDAY, at, lifter, problem, strength
from test_screen import PROBLEMS

from constraints import all_rules, hard_rules
from planner.content import ContentBuilder
from planner.domain import ProgressionState, Session, SessionKind
from planner.explain import Diagnosis
from planner.problem import Problem
from planner.solve import SolverSettings, solve_problem

FREE = re.compile(r"was free \((\w{3} \d{2} \w{3} \d{2}:\d{2})\)")


def in_build_up(who):
    """The Nordic done once: in its build-up, once a week, 2 x 5."""
    return ProgressionState.starting(who).model_copy(
        update={"exposures": ["nordic_curl"], "build_up": {"nordic_curl": 1}}
    )


# the problems whose plans call some time free (the others leave no such entry to check)
CLAIMING = [
    "in_season_racer",
    "random_autumn_dst_in_pain",
    "random_lord_howe_dst",
    "random_spring_dst",
]


def _moved(problem: Problem, session: Session, moment: datetime, detail: str) -> Session:
    """The session at the time called free, as the entry means it: T4's 'a heavy session was
    free' is about a heavy session there, with that day's heavy content."""
    end = moment + (session.end - session.start)
    if "a heavy session was free" in detail and not session.heavy:
        day = problem.local_day(moment)
        built = ContentBuilder(problem).strength(day, True)
        assert built is not None, detail
        return session.model_copy(
            update={"start": moment, "end": end, "heavy": True, "prescriptions": list(built[0])}
        )
    return session.model_copy(update={"start": moment, "end": end})


@pytest.mark.parametrize("name", CLAIMING)
def test_every_time_an_explanation_calls_free_passes_every_hard_rule(name):
    """Each 'was free (Wed 06 Jan 18:15)' moves its session there and checks the plan, the
    sessions before the start included. A ride ending on an odd second once gave a time shown
    a minute early (08:13 for 08:13:27), inside the ride's buffer."""
    problem = PROBLEMS[name]
    result = solve_problem(copy.copy(problem), SolverSettings())
    by_uid = {s.uid: s for s in result.sessions}
    rules = hard_rules(problem.settings)
    checked = 0
    for week in result.week_reports:
        for entry in week.broken:
            found = FREE.search(entry.detail)
            if not found or entry.session_id not in by_uid:
                continue
            session = by_uid[entry.session_id]
            year = session.start.astimezone(problem.zone).year
            moment = datetime.strptime(f"{year} {found.group(1)}", "%Y %a %d %b %H:%M")
            moved = _moved(problem, session, moment.replace(tzinfo=problem.zone), entry.detail)
            others = [s for s in result.sessions if s.uid != session.uid]
            breaks = [
                v.message
                for rule in rules
                for v in rule.check(problem, [*problem.context, *others, moved])
            ]
            assert breaks == [], (entry.term, entry.detail, breaks)
            checked += 1
    assert checked, "the plan calls no time free: the case checks nothing"


def test_the_diagnosis_keeps_a_second_nordic_of_the_build_up_a_week_off():
    """A heavy session tried two days after the week's Nordic (in its build-up) is in H9's
    way with the Nordic, and free of it with the stand-in the planner would give it."""
    who = lifter()
    prob = problem(who, weeks=1, state=in_build_up(who))
    monday = strength(prob, at(MONDAY, 8), heavy=True)
    assert "nordic_curl" in monday.exercise_ids()
    diagnosis = Diagnosis(prob, [monday], all_rules(prob.settings), ContentBuilder(prob))
    wednesday = MONDAY + timedelta(days=2)
    tries = [
        t
        for t in diagnosis.attempts(0, SessionKind.strength, True)
        if t.slot.day == wednesday and t.slot.start.hour >= 10
    ]
    with_nordic = [
        t for t in tries if "nordic_curl" in {p.exercise_id for p in t.slot.prescriptions}
    ]
    stand_ins = [t for t in tries if t not in with_nordic]
    assert with_nordic and stand_ins
    for t in with_nordic:
        assert "H9" in t.rules
        assert any(
            "builds up once a week" in b.why and "Mon 04 Jan 08:00" in b.why for b in t.breaches
        )
    assert all("H9" not in t.rules for t in stand_ins)
    # moving the Monday session itself: its Nordic may go on Wednesday
    moved = diagnosis.attempts(0, SessionKind.strength, True, leave_out=monday)
    assert any(
        t.slot.day == wednesday
        and "H9" not in t.rules
        and "nordic_curl" in {p.exercise_id for p in t.slot.prescriptions}
        for t in moved
    )


def test_a_session_moved_within_its_day_is_not_named_in_its_own_way():
    """S4 moved: a published Tuesday 06:15 session now at 05:30 (a Thursday 06:15 session came
    within 48 h of its old time). Tried at its published time, the explanation named the moved
    session itself ('0 h from the strength session of Tue 05:30'), not Thursday's."""
    from planner.domain import Broken
    from planner.explain import _explain_moved

    prob = problem(lifter(), weeks=1)
    tuesday, thursday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)
    published = strength(prob, at(tuesday, 6, 15))
    moved = strength(prob, at(tuesday, 5, 30))
    other = strength(prob, at(thursday, 6, 15))
    diagnosis = Diagnosis(prob, [moved, other], all_rules(prob.settings), ContentBuilder(prob))
    entry = Broken(rule="S4", detail="strength session moved")
    _explain_moved(diagnosis, entry, published)
    assert "Thu" in entry.detail and "06:15" in entry.detail, entry.detail
    assert "05:30" not in entry.detail, entry.detail
    assert entry.blocked_by == ["H7"], entry


WINDOW = re.compile(r"a window on \w+ \d{2} \w{3} from (\d{2}):(\d{2}) to (\d{2}):(\d{2})")


def test_a_window_suggested_lies_in_waking_hours():
    """An early Saturday long ride's anchor (its start less the same-day gap and the session)
    was tried, and the week's miss suggested 'a window on Saturday 10 Apr from 01:15 to 02:00'
    (a coach's review): outside the athlete's windows only times from 05:00 to 23:00 are
    tried, so the suggestion is another change (here, moving the long ride)."""
    from pathlib import Path

    from planner.inputs import load_athlete, load_calendar

    examples = Path(__file__).resolve().parents[2] / "examples" / "b_and_c_races"
    who = load_athlete(examples / "athlete.json").model_copy(
        update={"starting_levels": {"hinge": 9, "knee_flexion": 4, "squat": 4}}
    )
    start = datetime(2027, 4, 5).date()
    rides, _, _ = load_calendar(examples / "rides.json", who, start, 4)
    prob = Problem(
        athlete=who, rides=rides, start=start, weeks=4, state=ProgressionState.starting(who)
    )
    plan = solve_problem(prob, SolverSettings())
    text = " ".join(report.model_dump_json() for report in plan.week_reports)
    assert re.search(r'"suggestion":"[^"]', text), "no suggestion at all: nothing checked"
    for match in WINDOW.finditer(text):
        begins, ends = (int(match[1]), int(match[2])), (int(match[3]), int(match[4]))
        assert (5, 0) <= begins and ends <= (23, 0) and begins < ends, match[0]
    assert "move 'Saturday long ride' to another day" in text, text


def test_a_time_more_than_one_rule_blocks_gets_every_change_it_needs():
    """'A window on Sunday from 18:00' was the one suggestion for a time H7 and H9 blocked as
    well: added, it changed nothing (a coach's review). The suggestion names each rule's change,
    and says one alone makes no room."""
    from constraints._time import utc

    morning = [{"start": "06:00", "end": "09:00"}]
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    prob = problem(lifter(availability={day: morning for day in days}), weeks=1)
    monday = strength(prob, at(MONDAY, 7), heavy=True)
    content = ContentBuilder(prob)
    diagnosis = Diagnosis(prob, [monday], all_rules(prob.settings), content)
    tuesday = MONDAY + timedelta(days=1)
    slot = diagnosis.slot(
        SessionKind.strength, utc(at(tuesday, 18)), True, content.strength(tuesday, True)
    )
    tried = diagnosis.attempt(slot)
    assert {"H1", "H7"} <= set(tried.rules)
    _, suggestion, _ = diagnosis.describe(tried)
    text = suggestion.text
    assert text.startswith("all of: a window on Tuesday 05 Jan from 18:00"), text
    assert "strength_gap_h" in text and "one alone makes no room" in text
    # the settings it moves travel as data beside the words (the window is words alone)
    assert [name for name, _ in suggestion.changes] == ["strength_gap_h"], suggestion


def test_a_week_long_over_at_the_re_plan_is_not_said_to_have_come_late():
    """A re-plan a month on said of a past week's S5 entry 'no time left in the week after the
    plan was made (Sun 11 Apr) avoids this: it came late in the week' (a coach's review)."""
    from planner.explain import _none_tried

    prob = problem(lifter(), weeks=3)
    session = strength(prob, at(MONDAY, 7))
    later = copy.copy(prob)
    later.now = at(MONDAY + timedelta(days=16), 17)  # week 3
    said = _none_tried(later, session)
    assert "the week was over when the plan was re-made" in said and "late" not in said
    during = copy.copy(prob)
    during.now = at(MONDAY + timedelta(days=4), 17)  # the same week, Friday
    assert "it came late in the week" in _none_tried(during, session)


def test_every_rule_in_the_way_is_in_the_change_list_even_the_first_without_one():
    """With a red knee first (no change of its own to offer) and H7 second, the list read 'all
    of: strength_gap_h 34 (one alone makes no room)', leaving the knee out (a review)."""
    from planner.explain import Attempt, Breach, _together
    from planner.variables import Suggestion

    gap = Suggestion.change("strength_gap_h", 34)
    breaches = [
        Breach("H10", "red knee", lambda: None, lambda: None),
        Breach("H7", "34 h after a session", lambda: None, lambda: gap),
    ]
    said = _together(Attempt(None, breaches), "H10", None)
    assert said is not None and "strength_gap_h 34" in said.text and "H10" in said.text, said
    assert said.changes == (("strength_gap_h", 34),)
