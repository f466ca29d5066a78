import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from planner import calendar_in
from planner.calendar_in import (
    ALL_DAY,
    ALL_DAY_WORKOUT,
    CalendarError,
    CalendarTooLarge,
    CalendarTooSlow,
    Skipped,
    guess_kind,
    read_calendar,
    read_calendar_bounded,
)
from planner.domain import Priority, Ride, RideKind, RuleSettings
from planner.errors import PlannerInputError
from planner.problem import check_rides_do_not_overlap, ride_conflicts

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = (datetime(2026, 3, 1, tzinfo=BERLIN), datetime(2026, 5, 1, tzinfo=BERLIN))


def ics(*lines: str) -> str:
    """Join lines with CRLF, as exporters write them."""
    return "\r\n".join(lines) + "\r\n"


def calendar(*events: str, header: tuple[str, ...] = ()) -> str:
    return ics(
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//calendar_in//EN",
        *header,
        *events,
        "END:VCALENDAR",
    )


def event(*lines: str) -> str:
    return "\r\n".join(("BEGIN:VEVENT", *lines, "END:VEVENT"))


# A weekly Saturday long ride at 08:00 Berlin from 14 March 2026 (the clocks go forward on
# Sunday 29 March), without 21 March, and with the 4 April ride moved to Sunday 5 April 09:00.
# Google writes such series in UTC and relies on X-WR-TIMEZONE for the wall time; the same
# series is also given with floating times and with TZID parameters.
GOOGLE_SERIES = {
    "utc": (
        "DTSTART:20260314T070000Z",
        "DTEND:20260314T110000Z",
        "EXDATE:20260321T070000Z",
        "RECURRENCE-ID:20260404T060000Z",
        "DTSTART:20260405T070000Z",
        "DTEND:20260405T110000Z",
    ),
    "floating": (
        "DTSTART:20260314T080000",
        "DTEND:20260314T120000",
        "EXDATE:20260321T080000",
        "RECURRENCE-ID:20260404T080000",
        "DTSTART:20260405T090000",
        "DTEND:20260405T130000",
    ),
    "tzid": (
        "DTSTART;TZID=Europe/Berlin:20260314T080000",
        "DTEND;TZID=Europe/Berlin:20260314T120000",
        "EXDATE;TZID=Europe/Berlin:20260321T080000",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260404T080000",
        "DTSTART;TZID=Europe/Berlin:20260405T090000",
        "DTEND;TZID=Europe/Berlin:20260405T130000",
    ),
}


def google_export(form: str = "utc") -> str:
    start, end, exdate, recurrence_id, moved_start, moved_end = GOOGLE_SERIES[form]
    return calendar(
        event(
            "UID:7kq3long@google.com",
            start,
            end,
            "RRULE:FREQ=WEEKLY;COUNT=7;BYDAY=SA",
            exdate,
            "SUMMARY:Long ride",
        ),
        event(
            "UID:7kq3long@google.com",
            recurrence_id,
            moved_start,
            moved_end,
            "SUMMARY:Long ride",
        ),
        header=("CALSCALE:GREGORIAN", "X-WR-CALNAME:Rides", "X-WR-TIMEZONE:Europe/Berlin"),
    )


@pytest.mark.parametrize("form", sorted(GOOGLE_SERIES))
def test_google_weekly_series_keeps_berlin_wall_time_across_dst_with_exdate_and_moved_instance(
    form: str,
):
    result = read_calendar(google_export(form), *WINDOW)

    starts = [r.ride.start for r in result.rides]
    assert [(s.date().isoformat(), s.astimezone(BERLIN).strftime("%H:%M")) for s in starts] == [
        ("2026-03-14", "08:00"),
        ("2026-03-28", "08:00"),
        ("2026-04-05", "09:00"),  # the edited instance, moved from Saturday 4 April
        ("2026-04-11", "08:00"),
        ("2026-04-18", "08:00"),
        ("2026-04-25", "08:00"),
    ]
    assert [s.utcoffset() for s in starts] == [timedelta(hours=1)] * 2 + [timedelta(hours=2)] * 4
    assert all(s.tzinfo is not None for s in starts)
    assert datetime(2026, 3, 21, 8, tzinfo=BERLIN) not in starts  # EXDATE
    assert datetime(2026, 4, 4, 8, tzinfo=BERLIN) not in starts  # replaced by the edit
    assert {r.ride.kind for r in result.rides} == {RideKind.long}
    assert {r.ride.duration_min for r in result.rides} == {240}
    moved = result.rides[2]
    assert moved.uid == "7kq3long@google.com"
    assert moved.recurrence_id == "2026-04-04T06:00:00+00:00"
    assert moved.ride.external_id == "7kq3long@google.com#2026-04-04T06:00:00+00:00"
    assert result.skipped == []


def test_reading_the_same_text_twice_gives_identical_ids_starts_and_durations():
    text = google_export()

    def key(result):
        return [(r.ride.external_id, r.ride.start, r.ride.duration_min) for r in result.rides]

    first = key(read_calendar(text, *WINDOW))
    second = key(read_calendar(text.encode(), *WINDOW))
    assert first == second
    assert len({external_id for external_id, _, _ in first}) == len(first) == 6


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", id="garbage-bytes"),
        pytest.param("hello: this is\nnot a calendar at all", id="garbage-text"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param("  \r\n", id="blank"),
        pytest.param('{"events": [{"title": "Long ride"}]}', id="json"),
        pytest.param("<!DOCTYPE html><html><body>Sign in</body></html>", id="html"),
        pytest.param(
            ics("BEGIN:VEVENT", "UID:x", "DTSTART:20260314T070000Z", "END:VEVENT"),
            id="no-vcalendar",
        ),
        pytest.param(ics("BEGIN:VCALENDAR", "VERSION:2.0"), id="truncated"),
        pytest.param(ics("BEGIN:VCALENDAR", "this line is broken", "END:VCALENDAR"), id="bad-line"),
        pytest.param("BEGIN:VCALENDAR\r\nSUMMARY:Caf\xe9\r\n".encode("latin-1"), id="not-utf8"),
    ],
)
def test_input_that_is_not_an_icalendar_file_raises_calendar_error_naming_icalendar(data):
    with pytest.raises(CalendarError, match="iCalendar"):
        read_calendar(data, *WINDOW)


def test_all_day_event_is_skipped_with_a_reason():
    text = calendar(
        event("UID:rest-1", "DTSTART;VALUE=DATE:20260316", "SUMMARY:Rest day"),
    )
    result = read_calendar(text, *WINDOW)
    assert result.rides == []
    # its day is named, for Days off (a trial: "add it", but which day?)
    day = ALL_DAY.replace("all-day event:", "all-day event on Mon 16 Mar 2026:")
    assert result.skipped == [Skipped("rest-1", "Rest day", day)]
    assert "availability exceptions" in ALL_DAY
    # a weekly one is told once, without a day
    weekly = calendar(
        event("UID:w", "DTSTART;VALUE=DATE:20260316", "RRULE:FREQ=WEEKLY;COUNT=4", "SUMMARY:Off")
    )
    assert read_calendar(weekly, *WINDOW).skipped == [Skipped("w", "Off", ALL_DAY)]


def test_an_all_day_workout_is_skipped_asking_for_its_time_not_a_day_off():
    """TrainingPeaks writes a workout planned without a time as an all-day event: it was
    skipped with advice to add a day off, which is wrong for a ride (a coach's trial)."""
    text = calendar(
        event("UID:tp-1", "DTSTART;VALUE=DATE:20260316", "SUMMARY:Bike: Recovery 45'"),
        event("UID:tp-2", "DTSTART;VALUE=DATE:20260317", "SUMMARY:Threshold 3x10"),
        event("UID:hol", "DTSTART;VALUE=DATE:20260318", "SUMMARY:Christmas"),
    )
    result = read_calendar(text, *WINDOW)
    assert result.rides == []
    assert [(s.uid, s.reason) for s in result.skipped] == [
        ("tp-1", ALL_DAY_WORKOUT),
        ("tp-2", ALL_DAY_WORKOUT),
        ("hol", ALL_DAY.replace("all-day event:", "all-day event on Wed 18 Mar 2026:")),
    ]
    assert "start time" in ALL_DAY_WORKOUT and "day off" not in ALL_DAY_WORKOUT


def test_an_all_day_race_is_a_race_kept_clear_from_seven_to_seven_and_says_so():
    """intervals.icu and TrainingPeaks write a race planned without a start as an all-day
    event: it was skipped as a day off, so an A race set no taper and no phases (a trial)."""
    text = calendar(
        event("UID:nat", "DTSTART;VALUE=DATE:20260321", "SUMMARY:RACE A: Nationals RR"),
        event(
            "UID:fondo",
            "DTSTART;VALUE=DATE:20260404",
            "DTEND;VALUE=DATE:20260405",
            "SUMMARY:Gran Fondo (B)",
        ),
    )
    result = read_calendar(text, *WINDOW, default_tz="Europe/Berlin")
    assert result.skipped == []
    assert [
        (r.uid, r.ride.start, r.ride.end, r.ride.kind, r.ride.priority, r.ride.external_id)
        for r in result.rides
    ] == [
        (
            "nat",
            datetime(2026, 3, 21, 7, tzinfo=BERLIN),
            datetime(2026, 3, 21, 19, tzinfo=BERLIN),
            RideKind.race,
            Priority.A,
            "nat",
        ),
        (
            "fondo",
            datetime(2026, 4, 4, 7, tzinfo=BERLIN),
            datetime(2026, 4, 4, 19, tzinfo=BERLIN),
            RideKind.race,
            Priority.B,
            "fondo",
        ),
    ]
    note = result.rides[0].note
    assert note is not None and "as a whole day" in note and "Sat 21 Mar from 07:00" in note
    # not a race: still no ride, as before
    assert read_calendar(
        calendar(event("UID:c", "DTSTART;VALUE=DATE:20260321", "SUMMARY:Club social")), *WINDOW
    ).skipped == [
        Skipped("c", "Club social", ALL_DAY.replace("event:", "event on Sat 21 Mar 2026:"))
    ]


@pytest.mark.parametrize(
    "title",
    [
        "Travel to race",
        "Rest day - race tomorrow",
        "Race registration deadline",
        "Watch the race on TV",
        "Race week",
        "Travel to race (A)",
        "Rest day before the A race",
    ],
)
def test_an_all_day_title_that_only_mentions_a_race_is_no_race_day(title):
    """Each of these became a 07:00-19:00 C race (a week of them for "Race week": a review):
    an all-day race needs its priority, and travel or rest beside it is no race day."""
    text = calendar(
        event(
            "UID:d", "DTSTART;VALUE=DATE:20260321", "DTEND;VALUE=DATE:20260322", f"SUMMARY:{title}"
        )
    )
    result = read_calendar(text, *WINDOW)
    assert result.rides == [] and [s.uid for s in result.skipped] == ["d"], result


@pytest.mark.parametrize(
    ("title", "ride"),
    [
        ("Airport Road Race (A)", True),
        ("Club TT after work", True),
        ("Flight 2h", False),
        ("Meeting 30 min", False),
        ("Physio 45min", False),
    ],
)
def test_a_race_beats_work_and_travel_words_and_a_duration_does_not(title, ride):
    """ "Airport Road Race (A)" was left out as travel, and "Physio 45min" came in as a ride (a
    review): a race's words win over work, travel and appointments; a duration does not."""
    text = calendar(
        event("UID:e", "DTSTART:20260316T080000Z", "DTEND:20260316T100000Z", f"SUMMARY:{title}")
    )
    assert bool(read_calendar(text, *WINDOW).rides) is ride


@pytest.mark.parametrize(
    "dates",
    [
        ("DTSTART;VALUE=DATE:20260410", "DTEND;VALUE=DATE:20260413"),
        ("DTSTART;TZID=Europe/Berlin:20260410T100000", "DTEND;TZID=Europe/Berlin:20260412T170000"),
        ("DTSTART;VALUE=DATE:20260410", "DURATION:P3D"),
    ],
    ids=["all-day", "timed", "duration"],
)
def test_a_stage_race_is_a_race_on_each_of_its_days(dates):
    """A race over days was skipped as 'longer than 24 hours: not a ride' (a trial)."""
    text = calendar(event("UID:stage", *dates, "SUMMARY:Tour of the Hills (A race)"))
    result = read_calendar(text, *WINDOW, default_tz="Europe/Berlin")
    assert [(r.ride.start, r.ride.priority) for r in result.rides] == [
        (datetime(2026, 4, day, 7, tzinfo=BERLIN), Priority.A) for day in (10, 11, 12)
    ]
    ids = [r.ride.external_id for r in result.rides]
    assert len(set(ids)) == 3 and all(i.startswith("stage#") for i in ids)
    # the file holds every day of it: a day it no longer holds is gone (as a series')
    assert result.series == {"stage"}
    assert "Fri 10 Apr to Sun 12 Apr" in (result.rides[0].note or "")


def test_an_event_over_a_day_that_is_no_race_is_still_left_out():
    text = calendar(
        event(
            "UID:camp",
            "DTSTART;TZID=Europe/Berlin:20260410T100000",
            "DTEND;TZID=Europe/Berlin:20260413T170000",
            "SUMMARY:Training camp",
        ),
        event(
            "UID:long-stage",
            "DTSTART;VALUE=DATE:20260301",
            "DTEND;VALUE=DATE:20260401",
            "SUMMARY:Race series (A)",
        ),
    )
    result = read_calendar(text, *WINDOW, default_tz="Europe/Berlin")
    assert result.rides == []
    assert sorted((s.uid, s.reason.split(":")[0]) for s in result.skipped) == [
        ("camp", "longer than 24 hours"),
        ("long-stage", "a race over 31 days"),
    ]


def test_the_bounded_reader_carries_how_an_all_day_race_was_read():
    text = calendar(event("UID:nat", "DTSTART;VALUE=DATE:20260321", "SUMMARY:RACE A: Nationals"))
    direct = read_calendar(text, *WINDOW)
    bounded = read_calendar_bounded(text.encode(), *WINDOW)
    assert [r.note for r in bounded.rides] == [r.note for r in direct.rides] != [None]


@pytest.mark.parametrize(
    ("title", "looks_like"),
    [
        ("Work", "work"),
        ("Team meeting", "work"),
        ("Flight BRU-PMI", "travel"),
        ("Physio", "an appointment"),
        ("Dentist", "an appointment"),
        ("Massage", "an appointment"),
        ("Krafttraining", "gym work"),
        ("Laufen 10 km", "a run"),
        ("Schwimmen", "a swim"),
        ("Zahnarzt", "an appointment"),
        # ride words win, and a workout's words win over work, travel and appointments
        ("Ride to work", None),
        ("Rennrad Runde", None),
        ("Work capacity intervals", None),
        ("Tempo 2x20 before the office", None),
        ("Run: Z2 45'", "a run"),
    ],
)
def test_a_followed_calendars_work_travel_and_appointments_are_no_rides(title, looks_like):
    """A subscribed main calendar filled the days with rides: "Work" 8 h a long ride, "Dentist"
    an endurance ride, German "Krafttraining" and "Laufen" rides (a trial)."""
    text = calendar(
        event("UID:e", "DTSTART:20260316T080000Z", "DTEND:20260316T160000Z", f"SUMMARY:{title}")
    )
    result = read_calendar(text, *WINDOW)
    if looks_like is None:
        assert [r.uid for r in result.rides] == ["e"], result.skipped
    else:
        assert result.rides == []
        assert [s.reason for s in result.skipped] == [f"not a ride: looks like {looks_like}"]


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Intervalle 4x8", RideKind.intervals),
        ("SST 2x20", RideKind.intervals),
        ("Kermesse Zottegem", RideKind.race),
        ("Rennen: Rund um Köln", RideKind.race),
    ],
)
def test_titles_in_other_languages_give_their_kind(title, kind):
    assert guess_kind(title, 90, RuleSettings())[0] == kind


def test_a_line_folded_inside_a_character_reads_and_utf16_is_named():
    """RFC 5545 folds by octets: 'Caf\xc3' + fold + '\xa9 ride' refused the whole file as not
    UTF-8 (a trial); and UTF-16 got no word of what it was."""
    text = calendar(
        event("UID:f", "DTSTART:20260316T080000Z", "DTEND:20260316T090000Z", "SUMMARY:Café ride")
    ).encode()
    folded = text.replace("Café".encode(), b"Caf\xc3\r\n \xa9")
    assert b"\xc3\r\n \xa9" in folded
    assert [r.ride.title for r in read_calendar(folded, *WINDOW).rides] == ["Café ride"]
    with pytest.raises(CalendarError, match="looks like UTF-16"):
        read_calendar(text.decode().encode("utf-16"), *WINDOW)


def test_this_and_following_gives_each_later_occurrence_its_own_id():
    """RECURRENCE-ID;RANGE=THISANDFUTURE gave every later occurrence the edit's id, and all but
    the first were skipped as "the same event twice" (a trial)."""
    text = calendar(
        series(
            "s",
            "DTSTART;TZID=Europe/Berlin:20260307T090000",
            "DTEND;TZID=Europe/Berlin:20260307T130000",
            "RRULE:FREQ=WEEKLY;COUNT=5",
            summary="Long ride",
        ),
        series(
            "s",
            "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260321T090000",
            "DTSTART;TZID=Europe/Berlin:20260321T080000",
            "DTEND;TZID=Europe/Berlin:20260321T140000",
            summary="Long ride (new time)",
        ),
    )
    rides = read_calendar(text, *WINDOW, default_tz="Europe/Berlin").rides
    assert [r.ride.start.astimezone(BERLIN).strftime("%d %H") for r in rides] == [
        "07 09",
        "14 09",
        "21 08",
        "28 08",
        "04 08",
    ]
    ids = [r.ride.external_id for r in rides]
    assert len(set(ids)) == 5, ids
    # each later one is told by its own original time (09:00 Berlin, a week on each)
    assert ids[3] == "s#2026-03-28T08:00:00+00:00" and ids[4] == "s#2026-04-04T07:00:00+00:00"
    # moved to another day, still by its original day (a review: the new day gave the id)
    tuesdays = calendar(
        series(
            "t",
            "DTSTART;TZID=Europe/Berlin:20260303T180000",
            "DTEND;TZID=Europe/Berlin:20260303T193000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
        ),
        series(
            "t",
            "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260317T180000",
            "DTSTART;TZID=Europe/Berlin:20260318T180000",
            "DTEND;TZID=Europe/Berlin:20260318T193000",
        ),
    )
    moved = read_calendar(tuesdays, *WINDOW, default_tz="Europe/Berlin").rides
    assert [r.ride.start.astimezone(BERLIN).day for r in moved] == [3, 10, 18, 25]
    assert [r.ride.external_id for r in moved][2:] == [
        "t#2026-03-17T17:00:00+00:00",
        "t#2026-03-24T17:00:00+00:00",
    ]


def test_a_google_event_in_the_hour_the_clocks_go_back_keeps_its_instant():
    """Google writes UTC times beside X-WR-TIMEZONE: 01:00Z on the night Berlin's clocks go back
    (02:00 CET, the second time) came out at 02:00 CEST, an hour early, and 00:00Z-01:00Z as no
    duration at all (a trial). Each keeps its instant."""
    window = (datetime(2027, 10, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC))
    text = calendar(
        event("UID:a", "DTSTART:20271031T000000Z", "DTEND:20271031T010000Z", "SUMMARY:Zwift"),
        event("UID:b", "DTSTART:20271031T010000Z", "DTEND:20271031T014500Z", "SUMMARY:Spin"),
        header=("X-WR-TIMEZONE:Europe/Berlin",),
    )
    result = read_calendar(text, *window)
    assert result.skipped == []
    assert [(r.uid, r.ride.start.astimezone(UTC), r.ride.duration_min) for r in result.rides] == [
        ("a", datetime(2027, 10, 31, 0, tzinfo=UTC), 60),
        ("b", datetime(2027, 10, 31, 1, tzinfo=UTC), 45),
    ]


def test_an_event_without_a_uid_keeps_its_id_across_exports_and_a_move_on_its_day():
    """Its id was hashed from the whole event: a new DTSTAMP each export made it a new event,
    and moved an hour it was refused as overlapping its own ride (a trial)."""

    def one(stamp: str, hour: int, *more: str) -> str:
        return calendar(
            event(
                f"DTSTAMP:{stamp}",
                f"DTSTART:20260316T{hour:02d}0000Z",
                f"DTEND:20260316T{hour + 2:02d}0000Z",
                "SUMMARY:Endurance ride",
            ),
            *more,
        )

    ids = [
        [r.ride.external_id for r in read_calendar(text, *WINDOW).rides]
        for text in (one("20260301T100000Z", 17), one("20260302T100000Z", 16))
    ]
    assert ids[0] == ids[1] and len(ids[0]) == 1, ids
    # a second one of that day and title is another event
    evening = event("DTSTART:20260316T200000Z", "DTEND:20260316T210000Z", "SUMMARY:Endurance ride")
    both = read_calendar(one("20260301T100000Z", 6, evening), *WINDOW)
    assert len({r.ride.external_id for r in both.rides}) == 2, both
    # and the same event twice in a file is one (a review saw it read twice, then clash)
    twice = event(
        "DTSTAMP:20260301T100000Z",
        "DTSTART:20260316T060000Z",
        "DTEND:20260316T080000Z",
        "SUMMARY:Endurance ride",
    )
    copies = read_calendar(one("20260301T100000Z", 6, twice), *WINDOW)
    assert len(copies.rides) == 1 and copies.skipped == [], copies


def test_lines_ended_by_cr_alone_read():
    """A file with CR-only line endings was refused as not starting with BEGIN:VCALENDAR."""
    text = calendar(
        event("UID:cr", "DTSTART:20260316T170000Z", "DTEND:20260316T180000Z", "SUMMARY:Spin")
    ).replace("\r\n", "\r")
    assert [r.uid for r in read_calendar(text.encode(), *WINDOW).rides] == ["cr"]


def test_morning_run_is_skipped_as_not_a_ride_but_a_bike_ride_is_kept():
    text = calendar(
        event(
            "UID:run-1",
            "DTSTART:20260316T060000Z",
            "DTEND:20260316T070000Z",
            "SUMMARY:Morning run",
        ),
        event(
            "UID:brick-1",
            "DTSTART:20260317T060000Z",
            "DTEND:20260317T073000Z",
            "SUMMARY:Brick: bike then run",
        ),
    )
    result = read_calendar(text, *WINDOW)
    assert [r.uid for r in result.rides] == ["brick-1"]
    assert len(result.skipped) == 1
    assert result.skipped[0].uid == "run-1"
    assert result.skipped[0].reason.startswith("not a ride: ")
    assert "run" in result.skipped[0].reason


@pytest.mark.parametrize(
    ("title", "duration_min", "kind", "priority"),
    [
        ("Club crit (A race)", 60, RideKind.race, Priority.A),
        ("[B] Gran Fondo Berlin", 300, RideKind.race, Priority.B),
        ("Hill climb", 45, RideKind.race, Priority.C),
        ("Going to a race with friends", 120, RideKind.race, Priority.C),
        ("Zwift race", 60, RideKind.race, Priority.C),
        # training named after racing is no race (a weekly 'race prep' made a C race a week)
        ("Zwift race prep - openers", 60, RideKind.intervals, None),
        ("Pre-race openers", 45, RideKind.intervals, None),
        ("Race pace 3x10", 90, RideKind.intervals, None),
        ("Crit practice", 90, RideKind.endurance, None),
        ("Gran Fondo recon", 300, RideKind.long, None),
        # a priority given says a race, and a start time is no training (a review's finding)
        ("A race: Nationals - race start 10:00", 120, RideKind.race, Priority.A),
        ("[A] Gran Fondo Berlin (race start 7:30)", 300, RideKind.race, Priority.A),
        ("B race: Kermesse + openers before", 120, RideKind.race, Priority.B),
        # intervals.icu and others write the letter after the word (a trial's export gave C)
        ("RACE A: Flanders Sportive", 300, RideKind.race, Priority.A),
        ("RACE B: Kermesse", 120, RideKind.race, Priority.B),
        ("Race A Worlds", 240, RideKind.race, Priority.A),
        ("RACE A - Worlds", 240, RideKind.race, Priority.A),
        ("RACE_A Unbound", 600, RideKind.race, Priority.A),
        ("Race a crit with friends", 60, RideKind.race, Priority.C),  # "a": the article
        ("Club 10 TT start 19:32", 30, RideKind.race, Priority.C),
        ("VO2 intervals", 75, RideKind.intervals, None),
        ("Sweet spot 3x15", 90, RideKind.intervals, None),
        ("Saturday spin", 200, RideKind.long, None),
        ("Saturday spin", 90, RideKind.endurance, None),
        ("", 60, RideKind.endurance, None),
        ("Recovery spin", 45, RideKind.recovery, None),
        ("Coffee ride", 200, RideKind.recovery, None),
        ("long endurance ride", 120, RideKind.long, None),
    ],
)
def test_guess_kind_reads_race_priority_intervals_recovery_and_length(
    title, duration_min, kind, priority
):
    assert guess_kind(title, duration_min, RuleSettings()) == (kind, priority)


def test_trainingpeaks_style_utc_export_gives_aware_utc_starts():
    text = calendar(
        event(
            "UID:tp-1234@trainingpeaks.com",
            "DTSTAMP:20260301T120000Z",
            "DTSTART:20260318T170000Z",
            "DTEND:20260318T181500Z",
            "SUMMARY:Threshold 2x20",
        ),
        event(
            "UID:tp-1235@trainingpeaks.com",
            "DTSTART:20260329T080000Z",
            "DURATION:PT3H30M",
            "SUMMARY:Endurance",
        ),
    )
    result = read_calendar(text, *WINDOW, default_tz="America/New_York")
    rides = [r.ride for r in result.rides]
    assert [r.start for r in rides] == [
        datetime(2026, 3, 18, 17, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
    ]
    assert all(r.start.utcoffset() == timedelta(0) for r in rides)
    assert [(r.duration_min, r.kind) for r in rides] == [
        (75, RideKind.intervals),
        (210, RideKind.long),
    ]
    assert [r.external_id for r in rides] == [
        "tp-1234@trainingpeaks.com",
        "tp-1235@trainingpeaks.com",
    ]
    assert [r.recurrence_id for r in result.rides] == [None, None]


def test_floating_times_without_x_wr_timezone_are_read_in_default_tz():
    text = calendar(
        event("UID:f-1", "DTSTART:20260316T180000", "DTEND:20260316T190000", "SUMMARY:Zwift"),
    )
    result = read_calendar(text, *WINDOW, default_tz="Europe/Berlin")
    assert result.rides[0].ride.start == datetime(2026, 3, 16, 18, tzinfo=BERLIN)
    assert result.rides[0].ride.start.utcoffset() == timedelta(hours=1)


def test_a_time_zone_no_one_defines_is_skipped_naming_it_and_a_vtimezone_or_iana_one_is_read():
    custom = (
        "BEGIN:VTIMEZONE\r\nTZID:Club Time\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
        "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n"
    )
    text = calendar(
        event(
            "UID:mars-1",
            "DTSTART;TZID=Mars/Olympus:20260316T180000",
            "DTEND;TZID=Mars/Olympus:20260316T190000",
            "SUMMARY:Hill repeats",
        ),
        event(
            "UID:club-1",
            "DTSTART;TZID=Club Time:20260317T180000",
            "DTEND;TZID=Club Time:20260317T190000",
            "SUMMARY:Club ride",
        ),
        event(
            "UID:ny-1",
            "DTSTART;TZID=America/New_York:20260318T180000",
            "DTEND;TZID=America/New_York:20260318T190000",
            "SUMMARY:Zwift race",
        ),
    ).replace("BEGIN:VEVENT", custom + "BEGIN:VEVENT", 1)
    result = read_calendar(text, *WINDOW, default_tz="UTC")
    assert [(s.uid, s.reason) for s in result.skipped] == [
        (
            "mars-1",
            "unknown time zone 'Mars/Olympus' in DTSTART: add it as a VTIMEZONE or use an "
            "IANA name",
        )
    ]
    starts = {r.uid: r.ride.start for r in result.rides}
    assert starts["club-1"] == datetime(2026, 3, 17, 17, tzinfo=UTC)  # +01:00 in March
    assert starts["ny-1"] == datetime(2026, 3, 18, 22, tzinfo=UTC)  # EDT from 8 March


def test_a_time_zone_name_too_long_for_the_tz_database_is_named_without_a_server_path():
    """ZoneInfo opens a name as a file: one over 255 characters raised OSError, read as an
    exhausted memory budget (X-WR-TIMEZONE) or passed on with the tz database's path (TZID)."""
    long_name = "B" * 300
    ride = event(
        "UID:r-1",
        f"DTSTART;TZID={long_name}:20260316T180000",
        "DURATION:PT1H",
        "SUMMARY:Ride",
    )
    with pytest.raises(CalendarError) as refused:
        read_calendar(calendar(ride), *WINDOW, default_tz="UTC")
    assert "TZID is too long" in str(refused.value) and "/" not in str(refused.value)
    header = (f"X-WR-TIMEZONE:{long_name}",)
    plain = event("UID:r-2", "DTSTART:20260316T180000", "DURATION:PT1H", "SUMMARY:Ride")
    with pytest.raises(CalendarError) as named:
        read_calendar(calendar(plain, header=header), *WINDOW, default_tz="UTC")
    assert "unknown time zone in X-WR-TIMEZONE" in str(named.value)
    assert "(300 characters)" in str(named.value) and "/" not in str(named.value)


def test_cancelled_endless_and_unreadable_events_are_skipped_and_the_rest_still_read():
    text = calendar(
        event(
            "UID:c-1",
            "STATUS:CANCELLED",
            "DTSTART:20260316T060000Z",
            "DTEND:20260316T070000Z",
            "SUMMARY:Group ride",
        ),
        event("UID:n-1", "DTSTART:20260317T060000Z", "SUMMARY:Ride"),
        event("UID:b-1", "DTSTART:2026-03-18", "SUMMARY:Broken ride"),
        event(
            "UID:r-1",
            "DTSTART:20260318T060000Z",
            "DTEND:20260318T070000Z",
            "RDATE;VALUE=PERIOD:20260320T100000Z/20260320T090000Z",
            "SUMMARY:Ride",
        ),
        event("UID:ok-1", "DTSTART:20260319T060000Z", "DTEND:20260319T070000Z", "SUMMARY:Ride"),
    )
    result = read_calendar(text, *WINDOW)
    assert [r.uid for r in result.rides] == ["ok-1"]
    reasons = {s.uid: s.reason for s in result.skipped}
    assert reasons["c-1"] == "cancelled"
    assert reasons["n-1"] == "no duration"
    assert reasons["b-1"].startswith("unreadable DTSTART")
    assert reasons["r-1"].startswith("unreadable event")


def test_five_hundred_events_all_come_back_as_rides():
    base = datetime(2026, 3, 1, 6, tzinfo=UTC)
    events = []
    for i in range(500):
        start = base + timedelta(days=i % 60, minutes=10 * (i % 7))
        events.append(
            event(
                f"UID:bulk-{i}@example.com",
                f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                f"DTEND:{start + timedelta(minutes=90):%Y%m%dT%H%M%SZ}",
                f"SUMMARY:Ride {i}",
            )
        )
    text = calendar(*events, header=("X-WR-TIMEZONE:Europe/Berlin",))
    # speed is measured in bench/, not here: shared machines make timed tests flaky
    result = read_calendar(text, *WINDOW)
    assert len(result.rides) == 500
    assert len({r.ride.external_id for r in result.rides}) == 500


# --- hostile and oversized calendars --------------------------------------------------------


def series(uid: str, *lines: str, summary: str = "Spin") -> str:
    return event(f"UID:{uid}", f"SUMMARY:{summary}", *lines)


def test_daily_rule_with_an_hour_list_is_refused_before_expansion_and_the_rest_is_read():
    # 244 bytes that used to expand to 24 rides a day (8,903 stored in one import)
    text = calendar(
        series(
            "byhour",
            "DTSTART:20260301T000000Z",
            "DURATION:PT30M",
            "RRULE:FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)),
        ),
        series("ok", "DTSTART:20260310T170000Z", "DURATION:PT1H", summary="Club ride"),
    )
    result = read_calendar(text, *WINDOW)
    assert [r.uid for r in result.rides] == ["ok"]
    [skipped] = result.skipped
    assert (skipped.uid, skipped.title) == ("byhour", "Spin")
    assert "more often than daily" in skipped.reason and "BYHOUR lists 24 values" in skipped.reason


def test_daily_rule_with_minute_and_second_lists_is_refused_at_once():
    # 3,600 a day for a year with a one-second duration: this never finished and grew without end
    text = calendar(
        series(
            "bysecond",
            "DTSTART:20260301T060000Z",
            "DURATION:PT1S",
            "RRULE:FREQ=DAILY;BYMINUTE="
            + ",".join(str(m) for m in range(60))
            + ";BYSECOND="
            + ",".join(str(s) for s in range(60)),
        ),
    )
    result = read_calendar(text, *WINDOW)
    assert result.rides == []
    assert [(s.uid, s.reason.split(" (")[0]) for s in result.skipped] == [
        ("bysecond", "repeats more often than daily")
    ]


def test_a_series_that_expands_to_two_a_day_is_refused_by_its_occurrences_not_its_freq():
    # FREQ=DAILY with one time of day, but RDATEs put a second ride 6 hours after each
    rdates = ",".join(f"202603{day:02d}T120000Z" for day in range(2, 20))
    text = calendar(
        series(
            "twice",
            "DTSTART:20260302T060000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=18",
            f"RDATE:{rdates}",
        ),
    )
    result = read_calendar(text, *WINDOW)
    assert result.rides == []
    [skipped] = result.skipped
    assert skipped.uid == "twice"
    assert skipped.reason.startswith("repeats more often than daily: two occurrences 6 h apart")


def test_an_edited_instance_moved_next_to_another_is_not_two_a_day():
    # Monday's ride moved to Tuesday 07:00, eleven hours before Tuesday's own 18:00 ride
    text = calendar(
        series(
            "daily",
            "DTSTART:20260302T170000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=5",
            summary="Evening spin",
        ),
        series(
            "daily",
            "RECURRENCE-ID:20260302T170000Z",
            "DTSTART:20260303T060000Z",
            "DURATION:PT1H",
            summary="Evening spin (moved)",
        ),
    )
    result = read_calendar(text, *WINDOW)
    assert result.skipped == []
    assert len(result.rides) == 5
    assert result.rides[0].ride.start == datetime(2026, 3, 3, 6, tzinfo=UTC)


def test_a_series_past_the_cap_per_event_is_skipped_naming_the_cap(monkeypatch):
    monkeypatch.setattr(calendar_in, "MAX_OCCURRENCES_PER_EVENT", 5)
    text = calendar(
        series("long", "DTSTART:20260302T170000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"),
        series("short", "DTSTART:20260302T060000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=5"),
    )
    result = read_calendar(text, *WINDOW)
    assert {r.uid for r in result.rides} == {"short"}
    assert [(s.uid, s.reason) for s in result.skipped] == [
        (
            "long",
            "more than 5 occurrences in the import window (a ride series repeats at most once "
            "a day)",
        )
    ]


@pytest.mark.parametrize("recurring", [False, True], ids=["single events", "weekly series"])
def test_more_events_in_the_window_than_the_import_cap_raise_naming_the_event(
    monkeypatch, recurring
):
    monkeypatch.setattr(calendar_in, "MAX_OCCURRENCES_PER_IMPORT", 20)
    if recurring:  # counted as they expand: 3 series of 8
        events = [
            series(
                f"s{i}",
                f"DTSTART:2026030{i + 2}T170000Z",
                "DURATION:PT1H",
                "RRULE:FREQ=WEEKLY;COUNT=8",
                summary=f"Ride {i}",
            )
            for i in range(3)
        ]
    else:  # counted before the calendar is walked: 21 single events
        events = [
            series(
                f"s{i}", f"DTSTART:202603{i + 2:02d}T170000Z", "DURATION:PT1H", summary=f"Ride {i}"
            )
            for i in range(21)
        ]
    with pytest.raises(CalendarTooLarge) as caught:
        read_calendar(calendar(*events), *WINDOW)
    assert "more than 20 events in the import window" in str(caught.value)
    assert caught.value.uid == ("s2" if recurring else "s20")
    assert f"'{caught.value.title}'" in str(caught.value)


ALARM = ("BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT30M", "DESCRIPTION:Reminder", "END:VALARM")


def test_the_first_pass_reads_single_events_with_google_reminders():
    """Google writes a VALARM into each event with a reminder: the first pass left every such
    event to the parser, and a real export of years of history (4.9 MB) ran out of the import's
    time (a trial). Events with an alarm are dropped or counted like any other."""
    far = series("far", "DTSTART:20200302T170000Z", "DURATION:PT1H", *ALARM)
    near = series("near", "DTSTART:20260302T170000Z", *ALARM, "DURATION:PT1H")
    screened = calendar_in._screen(calendar(far, near), *WINDOW)
    assert "UID:far" not in screened and "UID:near" in screened
    assert [r.uid for r in read_calendar(calendar(far, near), *WINDOW).rides] == ["near"]
    # another component inside an event is still the parser's to judge
    odd = series("odd", "DTSTART:20200302T170000Z", "DURATION:PT1H", "BEGIN:X-THING", "END:X-THING")
    assert "UID:odd" in calendar_in._screen(calendar(odd), *WINDOW)


def test_the_first_pass_counts_events_with_alarms_toward_the_cap(monkeypatch):
    monkeypatch.setattr(calendar_in, "MAX_OCCURRENCES_PER_IMPORT", 20)
    events = [
        series(f"s{i}", f"DTSTART:202603{i + 2:02d}T170000Z", "DURATION:PT1H", *ALARM)
        for i in range(21)
    ]
    with pytest.raises(CalendarTooLarge) as caught:
        calendar_in._screen(calendar(*events), *WINDOW)
    assert caught.value.uid == "s20"


def test_overlap_checks_are_n_log_n_and_name_what_overlaps():
    base = datetime(2026, 3, 2, 6, tzinfo=UTC)
    # 20,000 back-to-back rides: a pairwise check would compare 200 million pairs
    rides = [Ride(start=base + timedelta(minutes=30 * i), duration_min=30) for i in range(20_000)]
    started = time.perf_counter()
    check_rides_do_not_overlap(rides)
    clash = Ride(start=base + timedelta(minutes=45), duration_min=60, title="Extra")
    assert [(a.title, b.start) for a, b in ride_conflicts([clash], rides)] == [
        ("Extra", base + timedelta(minutes=30)),
        ("Extra", base + timedelta(minutes=60)),
        ("Extra", base + timedelta(minutes=90)),
    ]
    assert ride_conflicts(rides, [clash])[0] == (rides[1], clash)
    assert len(ride_conflicts(rides, rides[::2])) == 10_000
    assert time.perf_counter() - started < 5, "sorted sweeps: well under a second here"
    with pytest.raises(PlannerInputError, match="rides overlap: 'endurance' at .* 'Extra'"):
        check_rides_do_not_overlap([*rides, clash])


# --- the bounded reader (a child process) -----------------------------------------------------


def test_bounded_reader_gives_what_read_calendar_gives():
    text = google_export("tzid")
    direct = read_calendar(text, *WINDOW)
    bounded = read_calendar_bounded(text.encode(), *WINDOW)
    assert [(r.uid, r.recurrence_id, r.ride) for r in bounded.rides] == [
        (r.uid, r.recurrence_id, r.ride) for r in direct.rides
    ]
    assert bounded.skipped == direct.skipped
    with pytest.raises(CalendarError, match="iCalendar"):
        read_calendar_bounded(b"<html></html>", *WINDOW)


def test_bounded_reader_stops_at_its_time_limit_naming_the_event_it_was_reading():
    # daily series from the year 1: dateutil walks 740,000 days to reach the window (~2 s each)
    text = calendar(
        *(
            series(f"ancient-{i}", "DTSTART:00010101T060000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY")
            for i in range(5)
        )
    )
    started = time.perf_counter()
    with pytest.raises(CalendarTooSlow) as caught:
        read_calendar_bounded(text, *WINDOW, time_limit_s=1.5)
    assert time.perf_counter() - started < 4
    assert "longer than the import's 1.5 s" in str(caught.value)
    assert "event UID 'ancient-" in str(caught.value)


def test_bounded_reader_stops_at_its_memory_limit():
    # 20,000 one-off series from years ago: nothing in the window, but all of it must be parsed
    # (the first pass drops only single events), about 125 MiB of address space
    base = datetime(2020, 3, 2, 6, tzinfo=UTC)
    events = [
        series(
            f"m{i}",
            f"DTSTART:{base + timedelta(minutes=i):%Y%m%dT%H%M%SZ}",
            "DURATION:PT1M",
            "RRULE:FREQ=DAILY;COUNT=1",
        )
        for i in range(20_000)
    ]
    with pytest.raises(CalendarTooLarge, match="more than the import's 96 MiB of memory"):
        read_calendar_bounded(calendar(*events), *WINDOW, memory_limit_bytes=96 * 1024 * 1024)


def test_years_of_history_are_dropped_before_parsing_and_do_not_count_toward_the_cap(monkeypatch):
    monkeypatch.setattr(calendar_in, "MAX_OCCURRENCES_PER_IMPORT", 20)
    old = datetime(2019, 1, 1, 6, tzinfo=UTC)
    history = [
        series(f"old-{i}", f"DTSTART:{old + timedelta(days=i):%Y%m%dT%H%M%SZ}", "DURATION:PT1H")
        for i in range(2_000)
    ]
    text = calendar(
        *history,
        series("now", "DTSTART:20260310T170000Z", "DURATION:PT1H", summary="Club ride"),
        # an edit far away from its series is kept: its original may lie in the window
        series("weekly", "DTSTART:20260303T170000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2"),
        series(
            "weekly",
            "RECURRENCE-ID:20260310T170000Z",
            "DTSTART:20270310T170000Z",
            "DURATION:PT1H",
        ),
    )
    result = read_calendar(text, *WINDOW)
    assert [r.uid for r in result.rides] == ["weekly", "now"]
    assert result.skipped == []


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=DAILY;INTERVAL=0", "RRULE INTERVAL=0: must be a whole number of 1 or more"),
        ("FREQ=WEEKLY;COUNT=0", "RRULE COUNT=0: must be a whole number of 1 or more"),
        ("FREQ=WEEKLY;COUNT=-5", "RRULE COUNT=-5: must be a whole number of 1 or more"),
        ("COUNT=5;BYDAY=MO", "RRULE without FREQ: how often it repeats is not said"),
    ],
)
def test_a_series_rule_that_breaks_rfc_5545_is_skipped_at_once_naming_why(rule, reason):
    """INTERVAL=0 never moves: its expansion spent the import's whole 10 s budget and was
    refused for time; a rule without FREQ was skipped with a Python error's words (a
    hostile-input trial)."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:s\r\n"
        "DTSTAMP:20260301T000000Z\r\nDTSTART:20260310T070000Z\r\nDTEND:20260310T080000Z\r\n"
        f"RRULE:{rule}\r\nSUMMARY:Spin\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    # the bounded reader, as the service reads: INTERVAL=0 unchecked runs out of its time
    result = read_calendar_bounded(text, *WINDOW, time_limit_s=5)
    assert result.rides == []
    assert [(s.uid, s.reason) for s in result.skipped] == [("s", reason)]


def test_a_broken_event_does_not_make_the_next_with_its_uid_a_twin():
    """A broken first event (DTEND before DTSTART) and a good second one with its UID: the
    second, imported, was also listed as left out for its twin (a review)."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        "BEGIN:VEVENT\r\nUID:same\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260310T090000Z\r\n"
        "DTEND:20260310T080000Z\r\nSUMMARY:Broken ride\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:same\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260314T090000Z\r\n"
        "DTEND:20260314T130000Z\r\nSUMMARY:Gran fondo A race\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = read_calendar(text, *WINDOW)
    assert [r.ride.title for r in result.rides] == ["Gran fondo A race"]
    assert [(s.title, s.reason) for s in result.skipped] == [
        ("Broken ride", "ends before it starts")
    ]
