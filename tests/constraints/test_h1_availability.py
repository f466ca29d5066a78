"""H1: sessions only inside the athlete's availability windows (weekly template plus dated
exceptions), in the athlete's own time zone, DST included."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from factories import (
    ALL_DAY,
    MONDAY,
    WEEKDAYS,
    ZONE,
    at,
    athlete,
    mobility,
    problem,
    ride,
    strength,
)
from harness import encode_plan

from constraints import H1Availability
from planner.domain import Session
from planner.variables import Suggestion

RULE = H1Availability()
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
SATURDAY = MONDAY + timedelta(days=5)
# Europe/London: clocks go from 01:00 GMT to 02:00 BST on the last Sunday of March
SPRING_MONDAY = date(2027, 3, 22)
SPRING_SUNDAY = date(2027, 3, 28)
# ... and back from 02:00 BST to 01:00 GMT on the last Sunday of October
AUTUMN_MONDAY = date(2027, 10, 25)
AUTUMN_SUNDAY = date(2027, 10, 31)
LONDON = ZoneInfo(ZONE)


def faces(prob, plan: list[Session]) -> tuple[list[str], bool]:
    """(rules named by check, encoding feasible) for the same plan."""
    return [v.rule for v in RULE.check(prob, plan)], encode_plan(RULE, prob, plan).feasible


def lasting(session: Session, minutes: int) -> Session:
    """The session with its end set `minutes` of real time after its start."""
    end = (session.start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(LONDON)
    return session.model_copy(update={"end": end})


def weekly(**days: list[dict[str, str]]) -> dict[str, object]:
    return {day: days.get(day, []) for day in WEEKDAYS}


def night_owl(sunday_window: dict[str, str]):
    return athlete(availability={**{d: ALL_DAY for d in WEEKDAYS}, "sunday": [sunday_window]})


# --- the weekly template (06:00-22:00 every day) ---


def test_session_inside_a_window_keeps_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [strength(prob, at(MONDAY, 9))]) == ([], True)


def test_session_starting_exactly_when_the_window_opens_keeps_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [strength(prob, at(MONDAY, 6))]) == ([], True)


def test_session_starting_one_minute_before_the_window_opens_breaks_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [strength(prob, at(MONDAY, 5, 59))]) == (["H1"], False)


def test_session_ending_exactly_when_the_window_closes_keeps_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [strength(prob, at(MONDAY, 21, 15))]) == ([], True)


def test_session_ending_one_minute_after_the_window_closes_breaks_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [strength(prob, at(MONDAY, 21, 16))]) == (["H1"], False)


def test_mobility_running_past_the_window_breaks_h1_in_both_faces():
    prob = problem()
    assert faces(prob, [mobility(prob, at(MONDAY, 21, 50))]) == (["H1"], False)


def test_session_on_a_weekday_without_windows_breaks_h1_in_both_faces():
    prob = problem(athlete(availability=weekly(monday=ALL_DAY)))
    assert faces(prob, [strength(prob, at(MONDAY + timedelta(days=1), 9))]) == (["H1"], False)


def test_only_the_session_outside_a_window_is_named_by_check():
    prob = problem()
    inside, outside = strength(prob, at(MONDAY, 9)), strength(prob, at(WEDNESDAY, 23))
    found = RULE.check(prob, [inside, outside])
    assert [(v.rule, v.when) for v in found] == [("H1", outside.start)]
    assert not encode_plan(RULE, prob, [inside, outside]).feasible


# --- dated exceptions ---


def test_dated_exception_without_windows_makes_a_template_day_unavailable_in_both_faces():
    availability = {
        **weekly(**{d: ALL_DAY for d in WEEKDAYS}),
        "exceptions": [{"date": WEDNESDAY.isoformat(), "windows": []}],
    }
    prob = problem(athlete(availability=availability))
    assert faces(prob, [strength(prob, at(WEDNESDAY, 9))]) == (["H1"], False)
    assert faces(prob, [strength(prob, at(THURSDAY, 9))]) == ([], True)
    assert faces(prob, [strength(prob, at(WEDNESDAY + timedelta(days=7), 9))]) == ([], True)


def test_dated_exception_windows_replace_the_template_on_that_day_in_both_faces():
    availability = {
        **weekly(**{d: ALL_DAY for d in WEEKDAYS}),
        "exceptions": [
            {"date": WEDNESDAY.isoformat(), "windows": [{"start": "18:00", "end": "20:00"}]}
        ],
    }
    prob = problem(athlete(availability=availability))
    assert faces(prob, [strength(prob, at(WEDNESDAY, 9))]) == (["H1"], False)
    assert faces(prob, [strength(prob, at(WEDNESDAY, 18))]) == ([], True)
    assert faces(prob, [strength(prob, at(WEDNESDAY, 19, 16))]) == (["H1"], False)


def test_dated_exception_opens_a_day_the_template_leaves_empty_in_both_faces():
    availability = {
        **weekly(monday=ALL_DAY),
        "exceptions": [
            {"date": SATURDAY.isoformat(), "windows": [{"start": "08:00", "end": "10:00"}]}
        ],
    }
    prob = problem(athlete(availability=availability))
    assert faces(prob, [strength(prob, at(SATURDAY, 8))]) == ([], True)
    assert faces(prob, [strength(prob, at(SATURDAY + timedelta(days=7), 8))]) == (["H1"], False)


# --- the athlete's own time zone ---


def test_0700_in_new_york_given_as_1200_utc_keeps_h1_in_both_faces():
    prob = problem(athlete(timezone="America/New_York"))
    session = strength(prob, datetime.combine(MONDAY, time(12, 0), tzinfo=UTC))
    assert faces(prob, [session]) == ([], True)


def test_2300_in_new_york_given_as_0400_utc_next_day_breaks_h1_in_both_faces():
    prob = problem(athlete(timezone="America/New_York"))
    session = strength(prob, datetime.combine(MONDAY + timedelta(days=1), time(4, 0), tzinfo=UTC))
    assert faces(prob, [session]) == (["H1"], False)


# --- DST: spring forward, Sunday 2027-03-28 ---


def test_window_0030_to_0300_lasts_90_real_minutes_on_the_spring_forward_night():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    [(opens, closes)] = prob.spans(SPRING_SUNDAY)
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(minutes=90)


def test_90_real_minutes_from_0030_fill_the_spring_forward_window_and_keep_h1_in_both_faces():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    session = lasting(strength(prob, at(SPRING_SUNDAY, 0, 30)), 90)
    assert session.end == datetime(2027, 3, 28, 3, 0, tzinfo=LONDON)
    assert faces(prob, [session]) == ([], True)


def test_105_real_minutes_from_0030_break_h1_in_both_faces_on_the_spring_forward_night():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    session = lasting(strength(prob, at(SPRING_SUNDAY, 0, 30)), 105)  # ends 03:15 BST
    assert faces(prob, [session]) == (["H1"], False)


def test_0130_does_not_exist_on_the_spring_forward_night():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    assert prob.at(SPRING_SUNDAY, time(1, 30)) is None
    assert prob.at(SPRING_SUNDAY, time(2, 15)) is not None


def test_session_at_the_skipped_0130_breaks_h1_in_both_faces():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    # wall-clock 01:30 + 45 min: "ends" at 02:15 BST, which is before it "starts" in real time
    session = strength(prob, datetime(2027, 3, 28, 1, 30, tzinfo=LONDON))
    assert faces(prob, [session]) == (["H1"], False)


def test_session_at_0215_after_the_jump_ends_at_0300_and_keeps_h1_in_both_faces():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 2, 15))]) == ([], True)


def test_session_at_0230_after_the_jump_ends_outside_and_breaks_h1_in_both_faces():
    prob = problem(night_owl({"start": "00:30", "end": "03:00"}), start=SPRING_MONDAY)
    assert faces(prob, [strength(prob, at(SPRING_SUNDAY, 2, 30))]) == (["H1"], False)


# --- DST: fall back, Sunday 2027-10-31 (01:00-02:00 happens twice) ---


def test_session_in_the_first_pass_of_the_repeated_hour_keeps_h1_in_both_faces():
    prob = problem(night_owl({"start": "00:30", "end": "01:15"}), start=AUTUMN_MONDAY)
    start = datetime.combine(AUTUMN_SUNDAY, time(1, 0), tzinfo=LONDON)  # 01:00 BST, fold 0
    session = lasting(strength(prob, start), 15)
    assert faces(prob, [session]) == ([], True)


def test_session_in_the_second_pass_of_the_repeated_hour_breaks_h1_in_both_faces():
    """The window closes at the first 01:15 (BST); the second 01:00 (GMT) is 45 min later."""
    prob = problem(night_owl({"start": "00:30", "end": "01:15"}), start=AUTUMN_MONDAY)
    start = datetime.combine(AUTUMN_SUNDAY, time(1, 0), tzinfo=LONDON).replace(fold=1)
    session = lasting(strength(prob, start), 15)
    assert session.start.astimezone(UTC) == datetime(2027, 10, 31, 1, 0, tzinfo=UTC)
    assert faces(prob, [session]) == (["H1"], False)


# --- Revision 2: mobility right after a ride is the ride's cool-down ---


def evening_only():
    """Windows only in the evening: a morning ride ends outside them."""
    return athlete(availability={day: [{"start": "18:00", "end": "21:00"}] for day in WEEKDAYS})


def test_mobility_starting_30_minutes_after_a_ride_ends_outside_the_windows_keeps_h1_in_both_faces():
    prob = problem(evening_only(), [ride(WEDNESDAY, 9, 90)])  # ends 10:30
    assert faces(prob, [mobility(prob, at(WEDNESDAY, 11))]) == ([], True)


def test_mobility_starting_31_minutes_after_a_ride_ends_outside_the_windows_breaks_h1_in_both_faces():
    prob = problem(evening_only(), [ride(WEDNESDAY, 9, 90)])
    assert faces(prob, [mobility(prob, at(WEDNESDAY, 11, 1))]) == (["H1"], False)


def test_strength_right_after_a_ride_outside_the_windows_breaks_h1_in_both_faces():
    prob = problem(evening_only(), [ride(WEDNESDAY, 9, 90)])
    assert faces(prob, [strength(prob, at(WEDNESDAY, 11))]) == (["H1"], False)


def test_the_planner_offers_cool_down_mobility_outside_the_windows():
    from planner.candidates import CandidateFactory

    prob = problem(evening_only(), [ride(WEDNESDAY, 9, 90, title="Tempo")], weeks=1)
    offered = [c for c in CandidateFactory(prob).build(days=[WEDNESDAY]) if c.after_ride == "Tempo"]
    assert [c.start.astimezone(LONDON).time() for c in offered] == [time(11, 0)]


def test_h1_suggests_a_window_at_the_time_tried():
    prob = problem(evening_only())
    assert RULE.suggest(prob, strength(prob, at(WEDNESDAY, 13))) == Suggestion(
        "a window on Wednesday 06 Jan from 13:00 to 13:45"
    )
