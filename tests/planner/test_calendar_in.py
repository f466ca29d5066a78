from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from planner.calendar_in import CalendarError, Skipped, guess_kind, read_calendar
from planner.domain import Priority, RideKind, RuleSettings

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
    assert result.skipped == [Skipped("rest-1", "Rest day", "all-day event: no time of day")]


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
