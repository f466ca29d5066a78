"""`planner plan`: the examples give a week table and a calendar feed; bad input gives a clear
message on stderr, a non-zero exit and no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from planner.cli import main
from planner.inputs import load_athlete, load_rides
from planner.solve import plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CONSOLE_SCRIPT = Path(sys.executable).parent / "planner"

# each example with the horizon its calendar covers
RUNS = {
    "base_amateur": ("rides.json", "2027-01-04", 12),
    "in_season_racer": ("rides.ics", "2027-03-01", 14),
    "tight_availability": ("rides.json", "2027-02-01", 8),
}


def example_args(name: str, out: Path) -> list[str]:
    rides, start, weeks = RUNS[name]
    folder = EXAMPLES / name
    return [
        "plan",
        "--athlete",
        str(folder / "athlete.json"),
        "--rides",
        str(folder / rides),
        "--start",
        start,
        "--weeks",
        str(weeks),
        "--out",
        str(out),
    ]


def expected_plan(name: str):
    """The same request through plan(), to know which session each VEVENT stands for."""
    rides_file, start, weeks = RUNS[name]
    folder = EXAMPLES / name
    who = load_athlete(folder / "athlete.json")
    first = datetime.fromisoformat(start).date()
    rides = load_rides(folder / rides_file, who, first, weeks)
    return who, plan(who, rides, first, weeks)


def check_table(stdout: str, weeks: int, start: str) -> None:
    for week in range(1, weeks + 1):
        assert re.search(rf"^Week {week} \(\d{{4}}-\d{{2}}-\d{{2}} to ", stdout, re.M), week
    assert f"{weeks} weeks from {start}" in stdout
    assert not re.search(rf"^Week {weeks + 1} ", stdout, re.M)
    for line in re.findall(r"^  (?:ok |MISSED) T[12] .*$", stdout, re.M):
        assert line.startswith("  ok ") or " -- " in line, f"a miss without its reason: {line}"


def check_feed(data: bytes, name: str) -> None:
    who, expected = expected_plan(name)
    by_uid = {s.uid: s for s in expected.sessions}
    cal = icalendar.Calendar.from_ical(data)

    # the feed's header (api.md, "The feed")
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]).startswith(who.name)
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H"
    text = data.decode("utf-8")
    for line in ("METHOD:PUBLISH", "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"):
        assert line in text.splitlines()

    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert who.timezone in zones
    events = cal.walk("VEVENT")
    assert len(events) == len(expected.sessions) > 0
    assert len({str(e["UID"]) for e in events}) == len(events), "UIDs must be unique"
    for event in events:
        uid = str(event["UID"])
        session = by_uid[uid]
        assert "DTSTAMP" in event
        assert event["DTSTART"].params["TZID"] in zones
        assert event["DTSTART"].dt == session.start
        assert event["DTEND"].dt == session.end
        categories = [str(c) for c in event["CATEGORIES"].cats]
        assert categories == [session.kind.value] + (["heavy"] if session.heavy else [])
        description = str(event["DESCRIPTION"])
        assert session.prescriptions
        for p in session.prescriptions:
            assert f"{p.name}: {p.dose()}" in description
            assert p.cue in description

    # a client that expands the calendar sees every session inside the plan
    zone = ZoneInfo(who.timezone)
    window = (
        datetime.combine(expected.start, time(), zone),
        datetime.combine(expected.end, time(), zone),
    )
    occurrences = recurring_ical_events.of(cal).between(*window)
    assert sorted(str(o["UID"]) for o in occurrences) == sorted(by_uid)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_example_gives_a_week_table_and_a_valid_feed(name, tmp_path, capsys):
    out = tmp_path / "plan.ics"
    assert main(example_args(name, out)) == 0
    captured = capsys.readouterr()
    _, start, weeks = RUNS[name]
    check_table(captured.out, weeks, start)
    assert captured.err == ""
    count = int(re.search(r"^Wrote (\d+) sessions to ", captured.out, re.M).group(1))
    assert count == len(icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT"))
    check_feed(out.read_bytes(), name)


def test_the_tight_example_table_names_h1_for_each_missed_week(tmp_path, capsys):
    assert main(example_args("tight_availability", tmp_path / "plan.ics")) == 0
    misses = re.findall(r"^  MISSED T1 .*$", capsys.readouterr().out, re.M)
    assert len(misses) == RUNS["tight_availability"][2]
    assert all("H1" in line for line in misses)


def test_the_table_says_how_an_all_day_race_was_read(tmp_path, capsys):
    """An all-day A race is planned around as a race from 07:00 to 19:00: the table says so
    under its own heading (not among the entries not used)."""
    rides = tmp_path / "rides.ics"
    rides.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:nat\r\nDTSTART;VALUE=DATE:20270327\r\nSUMMARY:RACE A: Nationals\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    athlete = str(EXAMPLES / "base_amateur" / "athlete.json")
    args = ["plan", "--athlete", athlete, "--rides", str(rides), "--start", "2027-03-01"]
    assert main([*args, "--weeks", "4"]) == 0
    out = capsys.readouterr().out
    assert "Calendar entries read with an assumption (1):" in out, out
    assert "'RACE A: Nationals': a race given as a whole day: read as a race on Sat 27 Mar" in out
    assert "Calendar entries not used" not in out
    assert "taper" in out  # the A race set the phases


def test_the_console_script_plans_an_example(tmp_path):
    out = tmp_path / "plan.ics"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *example_args("in_season_racer", out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    check_table(done.stdout, 14, "2027-03-01")
    check_feed(out.read_bytes(), "in_season_racer")


def test_the_console_script_reports_bad_input_without_a_traceback(tmp_path):
    rides = tmp_path / "rides.json"
    rides.write_text(json.dumps([{"start": "2027-03-02T18:00:00+01:00", "duration_min": 0}]))
    done = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "plan",
            "--athlete",
            str(EXAMPLES / "base_amateur" / "athlete.json"),
            "--rides",
            str(rides),
            "--start",
            "2027-03-01",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "ends before it starts" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


# --- a session in the hour the clocks repeat ----------------------------------------------


def test_a_session_in_the_repeated_hour_is_written_in_utc_so_clients_read_it_right(
    tmp_path, capsys
):
    athlete = tmp_path / "athlete.json"
    athlete.write_text(
        json.dumps(
            {
                "name": "Night Owl",
                "timezone": "Europe/London",
                "availability": {
                    "exceptions": [
                        {"date": "2027-10-31", "windows": [{"start": "01:30", "end": "02:15"}]}
                    ]
                },
            }
        )
    )
    rides = tmp_path / "rides.json"
    rides.write_text("[]")
    out = tmp_path / "plan.ics"
    args = ["plan", "--athlete", str(athlete), "--rides", str(rides), "--start", "2027-10-25"]
    assert main([*args, "--weeks", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    events = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert events
    for event in events:
        start, end = event["DTSTART"].dt.astimezone(UTC), event["DTEND"].dt.astimezone(UTC)
        # read as a client would: TZID times in the repeated hour mean their first occurrence
        # (icalendar parses them with fold=0); sessions last 15 or 45 real minutes
        assert end - start in (timedelta(minutes=15), timedelta(minutes=45)), (start, end)


# --- bad input ----------------------------------------------------------------------------


def athlete_data(**changes: object) -> dict[str, object]:
    data = json.loads((EXAMPLES / "base_amateur" / "athlete.json").read_text())
    data.update(changes)
    return data


@pytest.fixture
def files(tmp_path):
    """Writes a file into tmp_path and returns its path."""

    def write(name: str, content: object) -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
        return str(path)

    return write


GOOD_ATHLETE = str(EXAMPLES / "base_amateur" / "athlete.json")
GOOD_RIDES = str(EXAMPLES / "base_amateur" / "rides.json")
ONE_RIDE = {"start": "2027-01-05T18:00:00+00:00", "duration_min": 60, "kind": "endurance"}


def bad_window():
    data = athlete_data()
    data["availability"]["monday"] = [{"start": "20:00", "end": "18:00"}]
    return data


BAD_INPUTS = {
    "unknown time zone": (
        lambda f: ["--athlete", f("a.json", athlete_data(timezone="Europe/Atlantis"))],
        ["unknown time zone", "Europe/Atlantis"],
    ),
    "ride of 0 minutes": (
        lambda f: ["--rides", f("r.json", [ONE_RIDE | {"duration_min": 0}])],
        ["r.json", "duration_min", "ends before it starts"],
    ),
    "ride of -30 minutes": (
        lambda f: ["--rides", f("r.json", [ONE_RIDE | {"duration_min": -30}])],
        ["ends before it starts"],
    ),
    "overlapping rides": (
        lambda f: [
            "--rides",
            f("r.json", [ONE_RIDE, ONE_RIDE | {"start": "2027-01-05T18:30:00+00:00"}]),
        ],
        ["rides overlap", "2027-01-05T18:30:00+00:00"],
    ),
    "window that ends before it starts": (
        lambda f: ["--athlete", f("a.json", bad_window())],
        ["availability.monday", "window ends (18:00) before it starts (20:00)"],
    ),
    "53 weeks": (lambda f: ["--weeks", "53"], ["--weeks", "between 1 and 52", "53"]),
    "0 weeks": (lambda f: ["--weeks", "0"], ["--weeks", "between 1 and 52"]),
    "an .ics that is not a calendar": (
        lambda f: ["--rides", f("r.ics", "Hello, this is a note.\n")],
        ["r.ics", "not an iCalendar file"],
    ),
    "an .ics holding JSON": (
        lambda f: ["--rides", f("r.ics", [ONE_RIDE])],
        ["r.ics", "not an iCalendar file"],
    ),
    "an .ics that is not text": (
        lambda f: ["--rides", f("r.ics", b"\xff\xfe\x00binary")],
        ["r.ics", "not an iCalendar file"],
    ),
    "a missing athlete file": (
        lambda f: ["--athlete", str(Path(f("x", "")).parent / "missing.json")],
        ["missing.json", "no such file"],
    ),
    "a missing rides file": (
        lambda f: ["--rides", str(Path(f("x", "")).parent / "missing.ics")],
        ["missing.ics", "no such file"],
    ),
    "invalid JSON athlete": (
        lambda f: ["--athlete", f("a.json", '{"name": "Sam", ')],
        ["a.json", "not valid JSON"],
    ),
    "invalid JSON rides": (
        lambda f: ["--rides", f("r.json", "[{'start': 1}]")],
        ["r.json", "not valid JSON"],
    ),
    "rides that are not a list": (
        lambda f: ["--rides", f("r.json", ONE_RIDE)],
        ["r.json", "valid list"],
    ),
    "a directory for rides": (
        lambda f: ["--rides", str(Path(f("x", "")).parent)],
        ["cannot read"],
    ),
    "an --out in a missing folder": (
        lambda f: ["--out", str(Path(f("x", "")).parent / "no" / "such" / "plan.ics")],
        ["plan.ics", "cannot write"],
    ),
    "a time limit of 0": (lambda f: ["--time-limit", "0"], ["--time-limit", "greater than 0"]),
    "a plan running past 2199": (
        lambda f: ["--start", "2199-12-30", "--weeks", "4"],
        ["2199-12-30", "would run outside"],
    ),
    "a start level above the ladder": (
        lambda f: ["--athlete", f("a.json", athlete_data(starting_levels={"hinge": 99}))],
        ["hinge", "top of its ladder"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_non_zero_with_a_message_naming_the_problem(case, files, capsys):
    make_args, words = BAD_INPUTS[case]
    args = dict.fromkeys(["--athlete", "--rides", "--start", "--weeks"])
    args.update(
        {"--athlete": GOOD_ATHLETE, "--rides": GOOD_RIDES, "--start": "2027-01-04", "--weeks": "2"}
    )
    extra = make_args(files)
    flat: list[str] = []
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in args:
            args[flag] = value
        else:
            flat += [flag, value]
    argv = ["plan"] + [item for pair in args.items() for item in pair] + flat
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    assert captured.err.startswith("planner: error: ")
    for word in words:
        assert word in captured.err, (word, captured.err)
    assert "Traceback" not in captured.err
    assert captured.out == "" or "--out" in flat, "no table for a plan that failed"


def test_a_start_date_that_is_no_date_is_an_argparse_error(capsys):
    argv = ["plan", "--athlete", GOOD_ATHLETE, "--rides", GOOD_RIDES, "--start", "2027-13-01"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--start" in err and "2027-13-01" in err
    assert "Traceback" not in err
