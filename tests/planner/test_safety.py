"""planner.safety: when the solver cannot re-plan, the published plan still obeys the pain state."""

from datetime import timedelta

from factories import MONDAY, at, athlete, lifter, mobility, problem, ride, strength

from planner.domain import Pattern, ProgressionState, Region, RegionStatus, Zone
from planner.safety import withdraw_loading
from planner.solve import hard_violations

NOW = at(MONDAY, 12)


def state_with(who, regions, exposures=()):
    state = ProgressionState.starting(who)
    return state.model_copy(update={"regions": regions, "exposures": list(exposures)})


def week_of_sessions(who):
    """Heavy strength Mon (before NOW), Wed and Fri, mobility Tue; built with every region green
    and the Nordic's build-up behind the athlete (it would allow one Nordic a week)."""
    green = problem(who, state=state_with(who, {}, ["nordic_curl", "deadlift"]))
    sessions = [
        strength(green, at(MONDAY, 9), heavy=True),
        mobility(green, at(MONDAY + timedelta(days=1), 18)),
        strength(green, at(MONDAY + timedelta(days=2), 11), heavy=True),
        strength(green, at(MONDAY + timedelta(days=4), 13), heavy=True),
    ]
    assert hard_violations(green, sessions) == [], "the fixture keeps every hard rule"
    return sessions


def test_red_flag_takes_the_regions_work_out_of_future_sessions_only():
    who = lifter()
    sessions = [s.model_copy(update={"sequence": 2}) for s in week_of_sessions(who)]
    flagged = {Region.hamstring: RegionStatus(zone=Zone.red_flag, needs_clearance=True)}
    prob = problem(who, state=state_with(who, flagged, ["nordic_curl", "deadlift"]))

    kept = withdraw_loading(prob, sessions, NOW)

    assert kept[0] == sessions[0], "the session before now is history"
    future = [s for s in kept if s.start >= NOW]
    assert [s.start for s in future] == [s.start for s in sessions[1:]], "nothing moves"
    for session in future:
        for item in session.prescriptions:
            assert Region.hamstring not in item.regions
            if session.kind.value == "strength":
                assert item.pattern not in (Pattern.hinge, Pattern.knee_flexion)
        assert any("clinician" in note for note in session.notes)
        assert session.sequence == 3, "a changed session raises SEQUENCE"
    assert hard_violations(prob, future) == []


def test_red_region_loses_heavy_work_only_until_no_heavy_until():
    who = lifter()
    sessions = week_of_sessions(who)
    red = {Region.knee: RegionStatus(zone=Zone.red, no_heavy_until=MONDAY + timedelta(days=4))}
    prob = problem(who, state=state_with(who, red, ["nordic_curl", "deadlift"]))

    kept = {s.start: s for s in withdraw_loading(prob, sessions, NOW)}

    wednesday = kept[sessions[2].start]
    assert "nordic_curl" in sessions[2].exercise_ids()
    assert "nordic_curl" not in wednesday.exercise_ids()
    assert "romanian_deadlift" in wednesday.exercise_ids(), "heavy work on other regions stays"
    assert kept[sessions[3].start] == sessions[3], "Friday is the no_heavy_until day: untouched"


def test_red_region_takes_its_holds_out_of_mobility_in_its_window_only():
    who = lifter()
    sessions = week_of_sessions(who)
    tuesday = sessions[1]
    hamstring = [p for p in tuesday.prescriptions if Region.hamstring in p.regions]
    assert hamstring, "the fixture's mobility holds no hamstring stretch: nothing to show"
    for until, kept_out in (
        (MONDAY + timedelta(days=4), True),
        (MONDAY + timedelta(days=1), False),
    ):
        red = {Region.hamstring: RegionStatus(zone=Zone.red, no_heavy_until=until)}
        prob = problem(who, state=state_with(who, red, ["nordic_curl", "deadlift"]))
        kept = {s.start: s for s in withdraw_loading(prob, sessions, NOW)}
        left = kept[tuesday.start].prescriptions
        if kept_out:
            assert left and not [p for p in left if Region.hamstring in p.regions]
        else:
            assert kept[tuesday.start] == tuesday, "Tuesday is the no_heavy_until day: untouched"


def test_strength_session_left_with_nothing_is_dropped_and_mobility_stays():
    who = lifter()
    sessions = week_of_sessions(who)
    prob = problem(
        who,
        state=state_with(
            who, {Region.other: RegionStatus(zone=Zone.red_flag, needs_clearance=True)}
        ),
    )

    kept = withdraw_loading(prob, sessions, NOW)

    assert [s.kind.value for s in kept if s.start >= NOW] == ["mobility"]


def test_session_that_becomes_the_first_deadlift_before_a_key_ride_is_dropped_h9():
    # the first week's heavy session would be the first deadlift; a red low back takes it out,
    # so the second week's becomes the first, 60 h before an interval ride: H9 drops it
    who = athlete(starting_levels={"hinge": 10, "knee_flexion": 4})
    green = problem(who)
    first = strength(green, at(MONDAY + timedelta(days=1), 7), heavy=True)
    later = strength(green, at(MONDAY + timedelta(days=8), 7), heavy=True)
    assert "deadlift" in first.exercise_ids() and "deadlift" in later.exercise_ids()
    intervals = ride(MONDAY + timedelta(days=10), 20, kind="intervals")
    red = {Region.low_back: RegionStatus(zone=Zone.red, no_heavy_until=MONDAY + timedelta(days=7))}
    prob = problem(who, rides=[intervals], state=state_with(who, red, ["nordic_curl"]))
    assert [v.rule for v in hard_violations(prob, [later])] == ["H9"], "alone, a first exposure"
    planned = problem(who, rides=[intervals], state=state_with(who, {}, ["nordic_curl"]))
    assert hard_violations(planned, [first, later]) == [], "as planned, the first came earlier"

    kept = withdraw_loading(prob, [first, later], NOW)

    assert [s.start for s in kept] == [first.start]
    assert "deadlift" not in kept[0].exercise_ids()
    assert hard_violations(prob, kept) == []


def test_a_plan_under_a_red_flag_or_a_red_region_says_so_in_its_warnings():
    """Sessions that shrank for the pain state paid no soft term, so their weeks read ok: the
    plan's warnings say what is kept out and until when (a coach's review)."""
    from planner.solve import SolverSettings, solve_problem

    who = lifter()
    red_until = MONDAY + timedelta(days=5)
    regions = {
        Region.knee: RegionStatus(zone=Zone.red_flag, needs_clearance=True),
        Region.low_back: RegionStatus(zone=Zone.red, no_heavy_until=red_until),
    }
    result = solve_problem(problem(who, state=state_with(who, regions)), SolverSettings())
    assert "knee: red flag awaiting the coach's clearance" in result.warnings[0]
    # the last day the block holds, as a coach reads "through" (no_heavy_until is exclusive)
    last = red_until - timedelta(days=1)
    assert result.warnings[1] == f"low back in red: no heavy work loading it through {last}"
    calm = solve_problem(problem(who), SolverSettings())
    assert calm.warnings == []


def test_a_red_on_the_easiest_rung_halves_the_kept_sessions_sets_with_its_note():
    """The re-plan failed: a knee red on the easiest rung still halves the knee's easiest
    lifts in the sessions kept (no solver needed), as a re-plan would, and says so."""
    who = athlete()
    green = problem(who)
    sessions = [
        strength(green, at(MONDAY + timedelta(days=d), 9)).model_copy(update={"uid": f"s{d}"})
        for d in (1, 4)
    ]
    state = ProgressionState.starting(who)
    until = MONDAY + timedelta(days=3)  # Tuesday halved, Friday back to full
    state.regions[Region.knee] = RegionStatus(zone=Zone.red, no_heavy_until=until)
    for pattern in (Pattern.knee_flexion, Pattern.squat, Pattern.single_leg):
        state.patterns[pattern].reduced_until = until
    kept = {s.uid: s for s in withdraw_loading(problem(who, state=state), sessions, NOW)}
    for uid, halved in (("s1", True), ("s4", False)):
        was = {
            p.exercise_id: p.sets for p in next(s for s in sessions if s.uid == uid).prescriptions
        }
        knee = [
            p
            for p in kept[uid].prescriptions
            if p.pattern in (Pattern.knee_flexion, Pattern.squat, Pattern.single_leg)
        ]
        assert knee
        for p in knee:
            assert p.sets == (
                max(1, round(was[p.exercise_id] / 2)) if halved else was[p.exercise_id]
            )
        assert any("half the usual sets" in n for n in kept[uid].notes) == halved


def test_a_pattern_a_red_flag_stops_is_not_also_said_to_be_at_half_its_sets():
    """A coach's review: a knee 8/10 (a red flag) answered both "strength loading there is
    stopped" and "single leg: red on the easiest rung, so half the sets through ...". A
    pattern the red flag stops holds no sets at all until the coach clears it."""
    state = ProgressionState.starting(athlete())
    until = MONDAY + timedelta(days=7)
    for pattern in (Pattern.single_leg, Pattern.core_anti_rotation):
        state.patterns[pattern] = state.patterns[pattern].model_copy(
            update={"reduced_until": until}
        )
    state.regions[Region.knee] = RegionStatus(zone=Zone.red_flag, needs_clearance=True)
    said = " ".join(state.reduced_warnings(MONDAY) + state.red_warnings(MONDAY))
    assert "single leg" not in said, said
    assert "anti-rotation" in said or "anti rotation" in said, said  # not the knee's: stays
