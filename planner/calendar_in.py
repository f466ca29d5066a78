"""Reads ride calendars exported as .ics (Google Calendar, TrainingPeaks, intervals.icu).

The file is parsed with icalendar, Google's non-standard ``X-WR-TIMEZONE`` is honoured
with x_wr_timezone, and recurring events (RRULE, RDATE, EXDATE, edited instances with
RECURRENCE-ID) are expanded with recurring_ical_events between two aware datetimes.
Every event in the window either becomes an :class:`ImportedRide` or a :class:`Skipped`
entry that says why it is not a ride.

A calendar is input from anyone, so reading it is bounded: a series is expanded lazily and
stops at MAX_OCCURRENCES_PER_EVENT, a rule that repeats more than once a day is refused by
what it expands to (not by its FREQ alone), a whole file stops at MAX_OCCURRENCES_PER_IMPORT,
and :func:`read_calendar_bounded` reads in a child process with a time and memory budget.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as daytime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.timezone import tzp
from pydantic import ValidationError

from planner.domain import Priority, Ride, RideKind, RuleSettings

__all__ = [
    "IMPORT_MEMORY_LIMIT_BYTES",
    "IMPORT_TIME_LIMIT_S",
    "MAX_CONCURRENT_IMPORTS",
    "MAX_OCCURRENCES_PER_EVENT",
    "MAX_OCCURRENCES_PER_IMPORT",
    "MIN_GAP_IN_SERIES",
    "CalendarError",
    "CalendarOverBudget",
    "CalendarTooLarge",
    "CalendarTooSlow",
    "ImportResult",
    "ImportedRide",
    "Skipped",
    "guess_kind",
    "read_calendar",
    "read_calendar_bounded",
]

# A ride series repeats at most once a day, and the import window (api/rides.py) is about
# 13 months: one series cannot have more than ~400 rides in it.
MAX_OCCURRENCES_PER_EVENT = 450
# Events in the window, all series together: twice-daily riding for 13 months is ~800, and a
# calendar that also holds runs, gym and rest days stays well below this.
MAX_OCCURRENCES_PER_IMPORT = 3000
# Two occurrences of one series closer than this are two a day (20 h leaves room for a
# DST change and a 23-hour day).
MIN_GAP_IN_SERIES = timedelta(hours=20)
# The budget of one import's reading, in a child process (read_calendar_bounded).
IMPORT_TIME_LIMIT_S = 10.0
IMPORT_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
# Child processes reading calendars at once; more imports wait for a slot (the machine
# this runs on has few cores, and each child may use IMPORT_MEMORY_LIMIT_BYTES).
MAX_CONCURRENT_IMPORTS = 2


class CalendarError(ValueError):
    """The input is not a readable iCalendar file; the message names the problem."""


class CalendarOverBudget(CalendarError):
    """The file asks for more than one import may take; the message names the limit and the
    event the reading stopped at, and ``uid`` and ``title`` name that event where known."""

    def __init__(self, message: str, uid: str | None = None, title: str | None = None) -> None:
        super().__init__(message)
        self.uid = uid
        self.title = title


class CalendarTooLarge(CalendarOverBudget):
    """More events in the window than MAX_OCCURRENCES_PER_IMPORT, or more memory than the budget."""


class CalendarTooSlow(CalendarOverBudget):
    """Reading took longer than the import's time budget (or waited too long for a slot)."""


@dataclass(frozen=True)
class ImportedRide:
    uid: str
    recurrence_id: str | None
    ride: Ride
    # how the ride was read where the event did not say it (an all-day race's hours)
    note: str | None = None


@dataclass(frozen=True)
class Skipped:
    uid: str
    title: str
    reason: str


@dataclass
class ImportResult:
    rides: list[ImportedRide] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # UIDs of the series whose master event (its RRULE or RDATE) the file holds: for these the
    # file says every occurrence, so one it no longer produces is gone (an edited occurrence
    # alone, as an invitation update sends it, says nothing of the others)
    series: set[str] = field(default_factory=set)


# --- titles -------------------------------------------------------------------------------

_RACE = re.compile(
    r"\b(?:races?|racing|crits?|criterium|gran\s*fondo|fondo|time[\s-]*trial|i?tt|"
    r"sportive|hill[\s-]*climbs?|kermesse|rennen|wedstrijd|carrera|gara)\b",
    re.IGNORECASE,
)
# training named after racing is not a race: "race prep", "race-pace intervals", "crit practice",
# "pre-race openers" ("Zwift race prep - openers" made a C race of every Saturday: no strength
# in the 24 h before each, and no word of it; a coach's trial)
_RACE_TRAINING = re.compile(
    r"\b(?:pre[\s-]*race|(?:races?|racing|crits?|criterium|time[\s-]*trial|i?tt)[\s-]*"
    r"(?:prep|preparation|pace|paced|sim|simulation|specific|efforts?|practice|recon|rehearsal|"
    r"openers?|skills?|drills?|intervals?))\b|\b(?:openers?|recon)\b",
    re.IGNORECASE,
)
# The letter of "A race" must be upper case ("a race" is the English article); the bracketed,
# hyphenated and "priority" forms are unambiguous and may be any case.
_PRIORITY = (
    re.compile(r"\b([ABC])\s+(?i:race)\b"),
    re.compile(r"\b(?i:race)\s*[:-]?\s*([ABC])\b"),  # "RACE A: Flanders", "Race A - Worlds"
    re.compile(r"\b([ABC])-race\b", re.IGNORECASE),
    re.compile(r"[\[(]\s*([ABC])\s*[\])]", re.IGNORECASE),
    re.compile(r"\bprio(?:rity)?\s*[:=]?\s*([ABC])\b", re.IGNORECASE),
)
_INTERVALS = re.compile(
    r"\b(?:intervals?|intervalle|sst|vo2\s*max|vo2|threshold|sweet\s*spot|tempo|over[\s/-]*unders?|"
    r"sprints?|hill\s+repeats?|ftp\s+test|openers?|race[\s-]*pace|race[\s-]*sim(?:ulation)?)\b",
    re.IGNORECASE,
)
_RECOVERY = re.compile(
    r"\b(?:recovery|easy\s+spin|easy\s+ride|coffee\s+ride)\b",
    re.IGNORECASE,
)
_LONG = re.compile(r"\blong\b", re.IGNORECASE)

_RIDE_WORDS = re.compile(
    r"\b(?:rides?|riding|bikes?|biking|cycling|cycle|zwift|spin|spinning|mtb|gravel|"
    r"velodrome|trainer|turbo|crits?|criterium|gran\s*fondo|fondo|sportive|"
    # German, French, Dutch, Spanish and Italian
    r"rad|radfahren|fahrrad|rennrad|radtour|v[ée]lo|fiets(?:en|tocht)?|wielrennen|bici|"
    r"ciclismo)\b",
    re.IGNORECASE,
)
# a workout's title beyond the ride words: its kind, or a planned duration ("Bike: Z2 90'")
_WORKOUT_KIND = (
    r"\b(?:intervals?|vo2|threshold|sweet\s*spot|tempo|endurance|recovery|z[1-7]|workout)\b"
)
_WORKOUT = re.compile(_WORKOUT_KIND + r"|\d+\s*(?:'|min\b|h\b)", re.IGNORECASE)
# a workout by its kind alone: a duration is no workout beside "Flight" or "Physio" ("Physio
# 45min" came in as a ride: a review)
_WORKOUT_BY_KIND = re.compile(_WORKOUT_KIND, re.IGNORECASE)
# what a title says an event is when it says it is no ride (ride words always win): a followed
# calendar that is the athlete's own holds work, travel and appointments, each read as a ride
# ("Work" 8 h a long ride, "Dentist" an endurance ride: a trial), in several languages
_NOT_RIDES = (
    (
        re.compile(
            r"\b(?:run|runs|running|jog|jogging|laufen|lauf|dauerlauf|hardlopen|correr)\b",
            re.IGNORECASE,
        ),
        "a run",
    ),
    (
        re.compile(r"\b(?:swim|swims|swimming|schwimmen|natation|zwemmen|nadar|nuoto)\b", re.I),
        "a swim",
    ),
    (
        re.compile(
            r"\b(?:gym|strength|weights|lifting|krafttraining|kraft|fitnessstudio|musculation|"
            r"krachttraining|gimnasio|palestra)\b",
            re.IGNORECASE,
        ),
        "gym work",
    ),
    (re.compile(r"\b(?:yoga|pilates|mobility|stretching|dehnen)\b", re.I), "yoga or mobility"),
    (
        re.compile(
            r"\b(?:work|working|office|meeting|meetings|call|standup|stand-up|conference|shift|"
            r"arbeit|b[üu]ro|besprechung|travail|r[ée]union|werk|vergadering|trabajo|lavoro)\b",
            re.IGNORECASE,
        ),
        "work",
    ),
    (
        re.compile(r"\b(?:flight|flights|airport|flug|vol|vlucht|vuelo|volo)\b", re.I),
        "travel",
    ),
    (
        re.compile(
            r"\b(?:doctor|dentist|physio|physiotherapy|physiotherapist|massage|appointment|"
            r"clinic|hospital|therapy|arzt|[äa]rztin|zahnarzt|physiotherapie|termin|m[ée]decin|"
            r"dentiste|kin[ée]|huisarts|tandarts|fysio|m[ée]dico|dentista|fisio)\b",
            re.IGNORECASE,
        ),
        "an appointment",
    ),
)


def race_in(title: str) -> tuple[bool, Priority | None]:
    """Whether a title names a race, and the priority it gives (None: none given). A priority
    given says a race, whatever else the title holds ("B race: Kermesse + openers before");
    without one, training named after racing is no race ("race prep", "crit practice")."""
    title = title.replace("_", " ")
    if not _RACE.search(title):
        return False, None
    for pattern in _PRIORITY:
        match = pattern.search(title)
        if match:
            return True, Priority(match.group(1).upper())
    return not _RACE_TRAINING.search(title), None


def guess_kind(
    title: str, duration_min: int, settings: RuleSettings
) -> tuple[RideKind, Priority | None]:
    """Guess a ride's kind (and a race's priority) from its title and length.

    Races come first (priority from "A race", "RACE A:", "[A]", "(A)", "A-race", "priority A"; C when
    none is given; not training named after racing: "race prep", "crit practice", "openers"),
    then intervals, then recovery, then "long" in the title; anything else
    is long from ``settings.long_ride_min`` minutes on and endurance below.
    """
    # a word joined by underscores is words ("RACE_A Unbound", "Z2_endurance")
    title = (title or "").replace("_", " ")
    race, given = race_in(title)
    if race:
        return RideKind.race, given or Priority.C
    if _INTERVALS.search(title):
        return RideKind.intervals, None
    if _RECOVERY.search(title):
        return RideKind.recovery, None
    if _LONG.search(title):
        return RideKind.long, None
    if duration_min >= settings.long_ride_min:
        return RideKind.long, None
    return RideKind.endurance, None


_TRAVEL = re.compile(r"\b(?:travel|travelling|traveling|flight|drive|journey|trip to)\b", re.I)
_REST = re.compile(r"\b(?:rest|off|recovery day|registration|deadline|watch|tv)\b", re.I)
# of _NOT_RIDES, what a workout's words overrule ("Work capacity intervals", "Tempo before
# the office"); a run, a swim or gym work stays one whatever its kind ("Run: Z2 45'")
_YIELD_TO_WORKOUTS = frozenset({"work", "travel", "an appointment"})


def _not_a_ride(title: str) -> str | None:
    """What the title looks like if it clearly is not a ride; ride words always win."""
    if not title or _RIDE_WORDS.search(title):
        return None
    # a workout's kind or a race overrules work, travel and appointments ("Airport Road Race
    # (A)" was left out as travel: a review)
    workout = _WORKOUT_BY_KIND.search(title) or _INTERVALS.search(title) or race_in(title)[0]
    for pattern, label in _NOT_RIDES:
        if pattern.search(title) and not (workout and label in _YIELD_TO_WORKOUTS):
            return label
    return None


# --- parsing ------------------------------------------------------------------------------

# Rides do not repeat more than daily; finer rules would only make expansion slow. These are
# refused before expansion; anything else that expands to two a day is refused by its gaps.
_TOO_FREQUENT = {"SECONDLY", "MINUTELY", "HOURLY"}
# Lists of these multiply the instances of any FREQ within one day (BYHOUR=0,...,23 is 24 a day)
_WITHIN_A_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")
# RFC 5545 says an event SHOULD NOT have more than one RRULE; a few are read, not thousands
_MAX_RULES_PER_EVENT = 4
# Properties that must be readable for an event to be expanded at all.
_TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "EXDATE", "RDATE", "RRULE")


class _FloatingToZone(x_wr_timezone.CalendarWalker):
    """Gives floating times (no TZID, no Z) a zone; times that carry one are left alone."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone

    def walk_value_datetime(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:
            return dt.replace(tzinfo=self.zone)
        return dt


_FOLD = re.compile(rb"\r?\n[ \t]")


def _exact_times(calendar: icalendar.Calendar) -> list[dict[str, Any]]:
    """Each event's DTSTART and DTEND given in UTC, where it does not repeat (in order).

    x_wr_timezone turns UTC times into the calendar's wall clock, so that a series repeats at
    its local time across a change of the clocks; it drops the fold doing so, and an event in
    the hour the clocks go back (01:00Z on the last Sunday of October, Berlin) came out an
    hour early, or with no duration (a trial). One that does not repeat keeps its instant."""
    found: list[dict[str, Any]] = []
    for event in calendar.walk("VEVENT"):
        kept: dict[str, Any] = {}
        if "RRULE" not in event and "RDATE" not in event:
            for name in ("DTSTART", "DTEND"):
                prop = event.get(name)
                value = getattr(prop, "dt", None)
                if isinstance(value, datetime) and value.utcoffset() == timedelta(0):
                    kept[name] = value
        found.append(kept)
    return found


def _restore_exact_times(
    calendar: icalendar.Calendar, exact: list[dict[str, Any]], zone: tzinfo
) -> None:
    """The instants _exact_times kept that fall in the hour the clocks go back in `zone`, in
    UTC (a wall clock there needs its fold, which the expansion drops); the others stay on the
    calendar's wall clock."""
    events = calendar.walk("VEVENT")
    if len(events) != len(exact):  # not the same events in the same order: leave them
        return
    for event, kept in zip(events, exact, strict=True):
        for name, value in kept.items():
            local = value.astimezone(zone)
            if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
                event.pop(name, None)
                event.add(name, value)


def _uid_of_unnamed(component: icalendar.cal.Component) -> str:
    """An id for an event without a UID: its title and the day it starts on. Hashed from the
    whole event, it changed with each export's DTSTAMP, and the event moved an hour on its day
    was refused as overlapping its own ride (a trial). Moved to another day, it is another
    event; a second one of the same day and title is numbered (_prepare)."""
    start = component.get("DTSTART")
    day = start.to_ical()[:8] if start is not None and hasattr(start, "to_ical") else b""
    title = str(component.get("SUMMARY", "")).encode()
    digest = hashlib.sha1(day + b"\0" + title, usedforsecurity=False).hexdigest()
    return f"no-uid-{digest[:16]}"


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            try:
                # a line folded inside a character ("caf\xc3\r\n \xa9": RFC 5545 folds by
                # octets): the lines unfolded first read whole, as the parser would unfold them
                text = _FOLD.sub(b"", raw).decode("utf-8-sig")
            except UnicodeDecodeError:
                utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
                raise CalendarError(
                    f"not an iCalendar file: the bytes are not UTF-8 text ({exc.reason} at "
                    f"byte {exc.start})"
                    + ("; it looks like UTF-16: save it as UTF-8" if utf16 else "")
                ) from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        raise CalendarError(
            f"not an iCalendar file: expected bytes or str, got {type(data).__name__}"
        )
    if "\r" in text and "\n" not in text:  # lines ended by CR alone (old Mac exports)
        text = text.replace("\r", "\r\n")
    return text


# A first pass over the text, before icalendar (about 150 microseconds a line) parses it: single
# events far outside the window are dropped and those surely inside are counted. Anything it
# does not recognise is left for the parser, which applies the same rules (_prepare).
_DTSTART_VALUE = re.compile(r"DTSTART(?:;[^:]*)?:(\d{8})(?:T(\d{6})Z?)?", re.IGNORECASE)
_SERIES_LINE = re.compile(r"(?:RRULE|RDATE|RECURRENCE-ID)[;:]", re.IGNORECASE)
_FIELD = re.compile(r"(UID|SUMMARY)(?:;[^:]*)?:(.*)", re.IGNORECASE)


def _quick_start(lines: list[str], at: int) -> datetime | None:
    """The DTSTART on lines[at] as an instant (local times read as UTC), or None if unsure."""
    match = _DTSTART_VALUE.fullmatch(lines[at].rstrip("\r\n"))
    if match is None or (at + 1 < len(lines) and lines[at + 1][:1] in (" ", "\t")):
        return None  # not a plain value, or folded onto the next line: the parser decides
    day, clock = match.group(1), match.group(2) or "000000"
    try:
        return datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _screen(text: str, start: datetime, end: datetime) -> str:
    """The text without single events far outside the window; raises CalendarTooLarge when
    more single events than MAX_OCCURRENCES_PER_IMPORT surely fall inside it."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    inside: set[str] = set()
    block: list[str] | None = None
    begin = 0
    for index, line in enumerate(lines):
        name = line.strip().upper()
        if block is None:
            if name == "BEGIN:VEVENT":
                block, begin = [line], index
            else:
                kept.append(line)
            continue
        block.append(line)
        if name == "BEGIN:VEVENT":
            return text  # not a shape this pass knows: the parser reports it
        if name != "END:VEVENT":
            continue
        verdict = _single_event(lines, begin, index, start, end)
        if verdict != "outside":
            kept.extend(block)
        if verdict not in ("outside", "unsure"):
            inside.add(verdict)
            if len(inside) > MAX_OCCURRENCES_PER_IMPORT:
                fields = _fields(lines[begin:index])
                raise _too_many(fields.get("UID", ""), fields.get("SUMMARY", ""))
        block = None
    if block is not None:
        kept.extend(block)
    return "".join(kept)


def _single_event(lines: list[str], first: int, last: int, start: datetime, end: datetime) -> str:
    """ "outside" (far outside), "unsure", or the event's UID when it surely starts inside."""
    moment = None
    uid = None
    alarm = False
    for at in range(first + 1, last):
        line = lines[at]
        upper = line[:12].upper()
        if alarm:  # a reminder's lines (Google writes one into many events) say nothing here
            if upper.startswith("END:VALARM"):
                alarm = False
            elif upper.startswith("BEGIN:"):
                return "unsure"
            continue
        if upper.startswith("BEGIN:VALARM"):
            alarm = True
            continue
        if _SERIES_LINE.match(line) or upper.startswith("BEGIN:"):
            return "unsure"  # a series, an edit of one, or another component: the parser reads it
        if line[:7].upper() == "DTSTART":
            if moment is not None:
                return "unsure"
            moment = _quick_start(lines, at)
            if moment is None:
                return "unsure"
        elif line[:4].upper() in ("UID:", "UID;"):
            uid = line.split(":", 1)[1].strip()
    if moment is None or alarm:
        return "unsure"
    if moment < start - _SLACK or moment > end + _SLACK:
        return "outside"
    if uid and start + _SLACK <= moment <= end - _SLACK:
        return uid
    return "unsure"


def _fields(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = _FIELD.fullmatch(line.rstrip("\r\n"))
        if match:
            found.setdefault(match.group(1).upper(), match.group(2).replace("\\,", ","))
    return found


def _parse(text: str) -> list[icalendar.Calendar]:
    stripped = text.strip()
    if not stripped:
        raise CalendarError("not an iCalendar file: the input is empty")
    if stripped[0] in "{[":
        raise CalendarError("not an iCalendar file: this looks like JSON")
    if stripped[0] == "<":
        raise CalendarError("not an iCalendar file: this looks like HTML or XML")
    if not re.match(r"BEGIN:VCALENDAR\s*$", stripped.split("\n", 1)[0], re.IGNORECASE):
        first = stripped.split("\n", 1)[0][:60]
        raise CalendarError(
            f"not an iCalendar file: it must start with BEGIN:VCALENDAR, not {first!r}"
        )
    try:
        components = icalendar.Calendar.from_ical(text, multiple=True)
    except OSError:
        # a TZID the tz database is asked to open as a file (one over 255 characters): the
        # error names the server's paths, so it is not passed on
        raise CalendarError(
            "not a readable iCalendar file: a TZID is too long to be a time zone name"
        ) from None
    except Exception as exc:  # icalendar raises ValueError, but be sure nothing else leaks
        raise CalendarError(f"not a readable iCalendar file: {exc}") from None
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if not calendars:
        raise CalendarError(
            "not an iCalendar file: no complete VCALENDAR (BEGIN:VCALENDAR ... END:VCALENDAR)"
        )
    return calendars


def _zone(name: str, what: str) -> tzinfo:
    unknown = CalendarError(
        f"iCalendar file names an unknown time zone in {what}: {name[:60]!r}"
        + (f" ({len(name)} characters)" if len(name) > 60 else "")
    )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    except OSError:  # a name too long for a file name: the tz database cannot hold it
        raise unknown from None
    # icalendar also knows Windows names such as "W. Europe Standard Time".
    zone = tzp.timezone(name)
    if zone is None:
        raise unknown
    return zone


def _title(event: icalendar.cal.Component) -> str:
    return str(event.get("SUMMARY", "") or "").strip()


def _problem(event: icalendar.cal.Component) -> str | None:
    """Why this VEVENT cannot be expanded at all, or None."""
    if "DTSTART" not in event:
        return "no start time (DTSTART)"
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(event.get(name), list):
            return f"{name} given more than once"
    for name in _TIME_PROPERTIES:
        for prop in _as_list(event.get(name)):
            if isinstance(prop, icalendar.vBroken):
                return f"unreadable {name}: {str(prop)[:60]!r}"
    rules = _as_list(event.get("RRULE"))
    if len(rules) > _MAX_RULES_PER_EVENT:
        return f"more than {_MAX_RULES_PER_EVENT} RRULEs ({len(rules)})"
    for rule in rules:
        if isinstance(rule, icalendar.vBroken):
            return f"unreadable RRULE: {str(rule)[:60]!r}"
        if not rule.get("FREQ"):
            return "RRULE without FREQ: how often it repeats is not said"
        # RFC 5545: INTERVAL and COUNT are positive; an INTERVAL of 0 never moves, and its
        # expansion ran until the import's 10 s budget was spent (a hostile-input trial)
        for part in ("INTERVAL", "COUNT"):
            for value in rule.get(part, None) or []:
                if not isinstance(value, int) or value < 1:
                    return f"RRULE {part}={value}: must be a whole number of 1 or more"
        frequent = set(rule.get("FREQ", [])) & _TOO_FREQUENT
        if frequent:
            return (
                f"repeats more often than daily (FREQ={sorted(frequent)[0]}): a ride series "
                "repeats at most once a day"
            )
        for part in _WITHIN_A_DAY:
            values = set(rule.get(part, None) or [])
            if len(values) > 1:
                return (
                    f"repeats more often than daily ({part} lists {len(values)} values): a "
                    "ride series repeats at most once a day"
                )
    # a TZID that neither the tz database nor the file's VTIMEZONEs define leaves icalendar a
    # floating time: read in the athlete's zone it could be hours off, so it is not guessed
    for name in ("DTSTART", "DTEND"):
        prop = event.get(name)
        zone_id = prop.params.get("TZID") if prop is not None else None
        if zone_id and isinstance(prop.dt, datetime) and prop.dt.tzinfo is None:
            return f"unknown time zone {str(zone_id)[:60]!r} in {name}: add it as a VTIMEZONE or use an IANA name"
    # recurring_ical_events silently swaps an end before the start (moving the start).
    start = event["DTSTART"].dt
    if "DURATION" in event and event["DURATION"].dt < timedelta(0):
        return "ends before it starts"
    if "DTEND" in event:
        end = event["DTEND"].dt
        naive = getattr(end, "tzinfo", None) is None, getattr(start, "tzinfo", None) is None
        if type(end) is type(start) and naive[0] == naive[1] and end < start:
            return "ends before it starts"
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _single_start(event: icalendar.cal.Component) -> datetime | None:
    """The start of a single (non-repeating, unedited) event as an instant, or None.

    Floating times are read as UTC: callers allow a day of slack, which covers any zone.
    """
    if any(name in event for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
        return None  # a series, or an edit of one whose original may lie in the window
    prop = event.get("DTSTART")
    if prop is None or isinstance(prop, list | icalendar.vBroken):
        return None  # vBroken raises BrokenCalendarProperty (not AttributeError) on .dt
    value = prop.dt
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


_SLACK = timedelta(days=1)


def _far_outside(event: icalendar.cal.Component, start: datetime, end: datetime) -> bool:
    """Whether a single (non-repeating) event clearly starts outside the window."""
    value = _single_start(event)
    return value is not None and (value < start - _SLACK or value > end + _SLACK)


def _surely_inside(event: icalendar.cal.Component, start: datetime, end: datetime) -> bool:
    """Whether a single event surely starts inside the window (so it is one occurrence there)."""
    value = _single_start(event)
    return value is not None and start + _SLACK <= value <= end - _SLACK


def _prepare(
    calendar: icalendar.Calendar, start: datetime, end: datetime, skipped: list[Skipped]
) -> set[str]:
    """Give every event a UID, drop those that cannot be expanded; return recurring UIDs.

    Events that cannot be expanded are reported unless they are single events far outside
    the window, so that an old broken entry does not show up in every import. Single events
    far outside the window are dropped before anything walks the calendar: a Google export
    holds years of history. A file with more single events surely inside the window than
    MAX_OCCURRENCES_PER_IMPORT is refused here, before the expensive walks.
    """
    kept = []
    recurring: set[str] = set()
    inside: set[str] = set()  # UIDs: copies of one single event are one occurrence
    # each event by its UID and RECURRENCE-ID: a second one that is no copy of the first is
    # one event to every calendar reader, and only one of the two is read
    by_id: dict[tuple[str, bytes], icalendar.Event] = {}
    unnamed: dict[str, dict[bytes, str]] = {}
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            kept.append(component)
            continue
        if not str(component.get("UID", "")).strip():
            # a second event of the day and title has its own id, a copy of one the same
            base = _uid_of_unnamed(component)
            ids = unnamed.setdefault(base, {})
            copy_of = b"\0".join(
                component[name].to_ical() for name in _SAME_EVENT if name in component
            )
            if copy_of not in ids:
                ids[copy_of] = base if not ids else f"{base}-{len(ids) + 1}"
            component["UID"] = ids[copy_of]
        uid = str(component["UID"])
        try:
            problem = _problem(component)
        except Exception as exc:  # e.g. a property given twice; report it, read the rest
            problem = f"unreadable event: {exc}"
        outside = _far_outside(component, start, end)
        if problem:
            if not outside:
                skipped.append(Skipped(uid, _title(component), problem))
            continue
        if outside:
            continue
        # only events read count: a broken first one does not make the second its twin
        twin = _twin(component, by_id)
        if twin is not None:
            skipped.append(Skipped(uid, _title(component), twin))
        if _surely_inside(component, start, end):
            inside.add(uid)
            if len(inside) > MAX_OCCURRENCES_PER_IMPORT:
                raise _too_many(uid, _title(component))
        if any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
            recurring.add(uid)
        kept.append(component)
    calendar.subcomponents = kept
    return recurring


# the skip of an event left out beside an earlier one with its UID (_twin)
SAME_UID = "another event has the same UID"
# the skips that say what an event is now, not that it could not be read (says_not_a_ride)
_NOT_A_RIDE = (
    "cancelled",
    "all-day",
    "not a ride",
    "longer than 24 hours: not a ride",
    SAME_UID,
)
# what makes two events with one UID copies of each other
_SAME_EVENT = ("DTSTART", "DTEND", "DURATION", "SUMMARY", "RRULE")


def _twin(event: icalendar.Event, by_id: dict[tuple[str, bytes], icalendar.Event]) -> str | None:
    """Why `event` is not read beside an earlier one with its UID (and RECURRENCE-ID) that is no
    copy of it, or None (a hostile-input trial: an A race sharing a training ride's UID was
    left out without a word)."""
    recurrence = event.get("RECURRENCE-ID")
    key = (str(event["UID"]), recurrence.to_ical() if recurrence is not None else b"")
    first = by_id.setdefault(key, event)
    if first is event:
        return None
    try:
        if all(
            (first.get(name).to_ical() if name in first else None)
            == (event.get(name).to_ical() if name in event else None)
            for name in _SAME_EVENT
        ):
            return None  # a copy: one event
    except Exception:  # an odd value: the events are judged different
        pass
    edit = " and RECURRENCE-ID" if recurrence is not None else ""
    return (
        f"{SAME_UID}{edit} ({_title(first) or 'untitled'}): a calendar reads "
        "two such events as one, so only one of them is imported; give each event its own UID"
    )


Progress = Callable[[str], None]


def _series(calendar: icalendar.Calendar, skipped: list[Skipped]) -> list[Any]:
    """The calendar's series (one per UID), each expanded only when asked."""
    try:
        return list(recurring_ical_events.of(calendar).series)
    except Exception:  # find the broken series below, one UID at a time
        pass
    groups: dict[str, list[icalendar.cal.Component]] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            groups.setdefault(str(component["UID"]), []).append(component)
    series: list[Any] = []
    for uid, components in groups.items():
        single = icalendar.Calendar()
        for component in components:
            single.add_component(component)
        try:
            series.extend(recurring_ical_events.of(single).series)
        except Exception as exc:
            skipped.append(Skipped(uid, _title(components[0]), f"unreadable event: {exc}"))
    return series


def _instant(moment: date | datetime) -> float:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _too_frequent(occurrences: list[Any]) -> str | None:
    """Why a series' occurrences are more than one a day, or None.

    Only the occurrences the rules and RDATEs place count: an edited instance moved next to
    another one (Monday's ride moved to Tuesday morning) is the athlete's choice, not a rule.
    """
    starts = sorted(_instant(o.start) for o in occurrences if not o.recurrence_ids)
    gaps = [(b - a, a) for a, b in zip(starts, starts[1:], strict=False)]
    if not gaps:
        return None
    gap, first = min(gaps)
    if gap >= MIN_GAP_IN_SERIES.total_seconds():
        return None
    at = datetime.fromtimestamp(first, UTC).isoformat()
    return (
        f"repeats more often than daily: two occurrences {gap / 3600:.4g} h apart from {at} "
        f"(a ride series repeats at most once a day, {MIN_GAP_IN_SERIES.total_seconds() / 3600:g} "
        "h apart at least)"
    )


def _too_many(uid: str, title: str) -> CalendarTooLarge:
    return CalendarTooLarge(
        f"the calendar has more than {MAX_OCCURRENCES_PER_IMPORT} events in the import window; "
        f"reading stopped at event UID {uid[:200]!r} (SUMMARY {title[:200]!r}). Export only "
        "the ride calendar, or a shorter period",
        uid=uid,
        title=title,
    )


def _expand(
    calendar: icalendar.Calendar,
    start: datetime,
    end: datetime,
    skipped: list[Skipped],
    counted: list[int],
    progress: Progress,
) -> Iterator[icalendar.cal.Component]:
    """The occurrences of every series in the window, one series at a time.

    A series is expanded lazily and given up at MAX_OCCURRENCES_PER_EVENT; `counted` holds the
    import's running total, and passing MAX_OCCURRENCES_PER_IMPORT stops the whole reading.
    """
    titles: dict[str, str] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            titles.setdefault(str(component["UID"]), _title(component))
    for series in _series(calendar, skipped):
        uid = str(series.uid)
        title = titles.get(uid, "")
        progress(f"event UID {uid[:200]!r} (SUMMARY {title[:200]!r})")
        occurrences: list[Any] = []
        try:
            for occurrence in series.between(start, end):
                occurrences.append(occurrence)
                if len(occurrences) > MAX_OCCURRENCES_PER_EVENT:
                    break
        except Exception as exc:
            skipped.append(Skipped(uid, title, f"unreadable event: {exc}"))
            continue
        if len(occurrences) > MAX_OCCURRENCES_PER_EVENT:
            skipped.append(
                Skipped(
                    uid,
                    title,
                    f"more than {MAX_OCCURRENCES_PER_EVENT} occurrences in the import window "
                    "(a ride series repeats at most once a day)",
                )
            )
            continue
        frequent = _too_frequent(occurrences)
        if frequent:
            skipped.append(Skipped(uid, title, frequent))
            continue
        counted[0] += len(occurrences)
        if counted[0] > MAX_OCCURRENCES_PER_IMPORT:
            raise _too_many(uid, title)
        for occurrence in occurrences:
            try:
                yield occurrence.as_component(False)
            except Exception as exc:
                skipped.append(Skipped(uid, title, f"unreadable event: {exc}"))
                break


def _this_and_future_shifts(calendar: icalendar.Calendar) -> dict[tuple[str, str], timedelta]:
    """For each "this and following" edit (RECURRENCE-ID;RANGE=THISANDFUTURE), by its UID and
    RECURRENCE-ID: how far it moved its occurrences on the wall clock (its DTSTART less its
    RECURRENCE-ID), to tell each later occurrence by its original time."""
    shifts: dict[tuple[str, str], timedelta] = {}
    for event in calendar.walk("VEVENT"):
        prop = event.get("RECURRENCE-ID")
        start = getattr(event.get("DTSTART"), "dt", None)
        if (
            prop is None
            or str(prop.params.get("RANGE", "")).upper() != "THISANDFUTURE"
            or not isinstance(prop.dt, datetime)
            or not isinstance(start, datetime)
        ):
            continue
        zone = prop.dt.tzinfo or start.tzinfo
        moved = start.astimezone(zone).replace(tzinfo=None) - prop.dt.astimezone(zone).replace(
            tzinfo=None
        )
        shifts[(str(event.get("UID")), _id_time(prop.dt))] = moved
    return shifts


def _id_time(value: date | datetime) -> str:
    """A RECURRENCE-ID's time as the ride's id says it."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)  # UTC: the id does not depend on the exporter's zone
    return value.isoformat()


def _recurrence_id(
    component: icalendar.cal.Component, shifts: dict[tuple[str, str], timedelta] | None = None
) -> str | None:
    prop = component.get("RECURRENCE-ID")
    if prop is None:
        return None
    value = prop.dt
    start = component["DTSTART"].dt
    shift = (shifts or {}).get((str(component.get("UID")), _id_time(value)))
    if (
        shift is not None
        and str(prop.params.get("RANGE", "")).upper() == "THISANDFUTURE"
        and isinstance(value, datetime)
        and isinstance(start, datetime)
    ):
        # "this and following": every later occurrence comes with the edit's RECURRENCE-ID,
        # and all but the first were left out as the same event twice (a trial). Each is
        # told by its own original time: its start less the edit's move, on the wall clock
        zone = value.tzinfo or start.tzinfo
        wall = start.astimezone(zone).replace(tzinfo=None) - shift
        value = wall.replace(tzinfo=zone)
    return _id_time(value)


# an all-day workout (TrainingPeaks and intervals.icu write a workout planned without a time
# as an all-day event) has no time to plan around: told so, not sent to the days off
ALL_DAY_WORKOUT = (
    "all-day workout: it has no time of day, so the plan cannot keep strength clear of it. "
    "Give it a start time in the calendar it comes from, or enter the ride with its time "
    "(POST .../rides)"
)
# A race given as a day, not a time (intervals.icu and TrainingPeaks write races planned
# without a start as all-day events; a stage race spans days): each of its days is read as a
# race from 07:00 to 19:00 local, which keeps the margins before and after it whatever the
# real start. Left out, an A race set no taper and no phases (a trial of those exports).
RACE_DAY_FROM = daytime(7, 0)
RACE_DAY_UNTIL = daytime(19, 0)
RACE_DAY_NOTE = (
    "a race given {given}: read as a race on {days} from 07:00 to 19:00, so strength keeps "
    "clear of the whole day; give it its start time in the calendar it comes from for a "
    "closer plan"
)
# at most this many days of one race event (a stage race; longer is a training camp or a
# mistake, and each day is a ride)
RACE_MAX_DAYS = 21

# an all-day event is not a ride; a day away or off belongs in the athlete's availability
ALL_DAY = (
    "all-day event: no time of day, so no ride. A day off or away goes in the athlete's "
    "availability exceptions: add it under Days off on the athlete's dashboard page (or in "
    "the API, PATCH availability.exceptions with the whole list and the day added: "
    '{"date": ..., "windows": []})'
)


def says_not_a_ride(reason: str) -> bool:
    """Whether a skip says what the event is (cancelled, all day, not a ride, another's twin)
    rather than that it could not be read: a ride stored from an event now unreadable stays."""
    return reason.startswith(_NOT_A_RIDE)


def _occurrence(
    component: icalendar.cal.Component,
    recurring: set[str],
    zone: tzinfo,
    settings: RuleSettings,
    shifts: dict[tuple[str, str], timedelta] | None = None,
) -> ImportedRide | list[ImportedRide] | Skipped:
    uid = str(component["UID"])
    title = _title(component)
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        return Skipped(uid, title, "cancelled")
    start = component["DTSTART"].dt
    if not isinstance(start, datetime) or _over_a_day(component, start, zone):
        race = _race_days(component, start, zone, recurring, uid, title, shifts)
        if race is not None:
            return race
    if not isinstance(start, datetime):
        workout = _RIDE_WORDS.search(title) or _WORKOUT.search(title)
        if workout or uid in recurring:  # a series is told once, whatever its days
            return Skipped(uid, title, ALL_DAY_WORKOUT if workout else ALL_DAY)
        # its day, for the coach to add under Days off (a trial: "add it", but which day?)
        day = f"{start:%a} {start.day} {start:%b} {start.year}"
        return Skipped(uid, title, ALL_DAY.replace("all-day event:", f"all-day event on {day}:", 1))
    looks_like = _not_a_ride(title)
    if looks_like:
        return Skipped(uid, title, f"not a ride: looks like {looks_like}")
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    end_prop = component.get("DTEND")
    end = end_prop.dt if end_prop is not None else start
    if not isinstance(end, datetime):
        end = datetime.combine(end, start.timetz())
    elif end.tzinfo is None:
        end = end.replace(tzinfo=zone)
    duration = end.astimezone(UTC) - start.astimezone(UTC)  # real time, across DST too
    if duration < timedelta(0):
        return Skipped(uid, title, "ends before it starts")
    duration_min = round(duration.total_seconds() / 60)
    if duration_min <= 0:
        return Skipped(uid, title, "no duration")
    if duration_min > 24 * 60:
        return Skipped(uid, title, "longer than 24 hours: not a ride")
    recurrence_id = _recurrence_id(component, shifts) if uid in recurring else None
    kind, priority = guess_kind(title, duration_min, settings)
    try:
        return _imported(uid, recurrence_id, title, start, duration_min, kind, priority)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors())
        return Skipped(uid, title, f"not a valid ride: {reasons}")


def _imported(
    uid: str,
    recurrence_id: str | None,
    title: str,
    start: datetime,
    minutes: int,
    kind: RideKind,
    priority: Priority | None,
    note: str | None = None,
) -> ImportedRide:
    """An event's ride, its id the UID and (an occurrence's) RECURRENCE-ID."""
    ride = Ride(
        start=start,
        duration_min=minutes,
        kind=kind,
        priority=priority,
        title=title[:500] or None,
        external_id=uid if recurrence_id is None else f"{uid}#{recurrence_id}",
    )
    return ImportedRide(uid=uid, recurrence_id=recurrence_id, ride=ride, note=note)


def _not_a_ride_beside_a_race(title: str) -> bool:
    """A day's title with a priority that still says it is no race day: travel to it, a rest
    before it ("Travel to race (A)", "Rest day before the A race")."""
    return bool(_TRAVEL.search(title) or _REST.search(title))


def _end_of(component: icalendar.cal.Component, start: date | datetime) -> date | datetime:
    """The event's DTEND, or its start plus its DURATION, or (neither) its start."""
    end_prop = component.get("DTEND")
    if end_prop is not None:
        return end_prop.dt
    duration = component.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        return start + duration.dt
    return start


def _over_a_day(component: icalendar.cal.Component, start: datetime, zone: tzinfo) -> bool:
    end = _end_of(component, start)
    if not isinstance(end, datetime):
        return False
    start = start if start.tzinfo is not None else start.replace(tzinfo=zone)
    end = end if end.tzinfo is not None else end.replace(tzinfo=zone)
    return end.astimezone(UTC) - start.astimezone(UTC) > timedelta(hours=24)


def _race_days(
    component: icalendar.cal.Component,
    start: date | datetime,
    zone: tzinfo,
    recurring: set[str],
    uid: str,
    title: str,
    shifts: dict[tuple[str, str], timedelta] | None = None,
) -> list[ImportedRide] | Skipped | None:
    """A race given as whole days (an all-day event) or spanning days (a stage race), with its
    priority: a race from 07:00 to 19:00 local on each of its days (RACE_DAY_NOTE). None: not
    a race. Without a priority an all-day title that names a race is too weak a sign ("Travel
    to race", "Race week", "Watch the race": a review saw each become a C race day)."""
    race, priority = race_in(title)
    if not race or priority is None:
        return None
    if _not_a_ride_beside_a_race(title):
        return None
    end = _end_of(component, start)
    if isinstance(start, datetime):  # timed, over a day: the local days it touches
        local_zone = start.tzinfo or zone
        first = start.astimezone(local_zone).date()
        end_at = end if isinstance(end, datetime) else datetime.combine(end, daytime(), local_zone)
        end_at = end_at if end_at.tzinfo is not None else end_at.replace(tzinfo=local_zone)
        last_moment = end_at.astimezone(local_zone)
        last = last_moment.date()
        if last_moment.time() == daytime() and last > first:
            last -= timedelta(days=1)  # ends at midnight: the day before is its last
        given = "over several days"
    else:  # all-day: DTEND is the day after the last (none: one day)
        first = start
        last = end if isinstance(end, date) and not isinstance(end, datetime) else start
        last = max(first, last - timedelta(days=1)) if last > first else first
        given = "as a whole day" if last == first else "as whole days"
        local_zone = zone
    days = (last - first).days + 1
    if days > RACE_MAX_DAYS:
        return Skipped(
            uid,
            title,
            f"a race over {days} days: longer than {RACE_MAX_DAYS} days, not read as a race",
        )
    if uid in recurring and days > 1:
        return Skipped(
            uid, title, "a race over several days in a repeating series: enter its days as rides"
        )
    named = f"{first:%a} {first.day} {first:%b}" + (
        f" to {last:%a} {last.day} {last:%b}" if last != first else ""
    )
    note = RACE_DAY_NOTE.format(given=given, days=named)
    rides: list[ImportedRide] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        begins = datetime.combine(day, RACE_DAY_FROM, local_zone)
        ends = datetime.combine(day, RACE_DAY_UNTIL, local_zone)
        minutes = round((ends.astimezone(UTC) - begins.astimezone(UTC)).total_seconds() / 60)
        if days > 1:  # each day its own ride, told apart by its day (as a series' occurrences)
            recurrence_id = begins.astimezone(UTC).isoformat()
        else:
            recurrence_id = _recurrence_id(component, shifts) if uid in recurring else None
        rides.append(
            _imported(uid, recurrence_id, title, begins, minutes, RideKind.race, priority, note)
        )
    return rides


def _aware_utc(value: datetime | date, zone: tzinfo, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _no_progress(_what: str) -> None:
    return None


def _unique(items: Iterable[Skipped]) -> list[Skipped]:
    """One entry per (uid, title, reason): a weekly all-day event is skipped once."""
    return list(dict.fromkeys(items))


def read_calendar(
    data: bytes | str,
    window_start: datetime,
    window_end: datetime,
    settings: RuleSettings | None = None,
    default_tz: str = "UTC",
    progress: Progress | None = None,
) -> ImportResult:
    """Read the rides of an .ics export that fall between window_start and window_end.

    Floating times are read in the calendar's X-WR-TIMEZONE if it has one (as Google
    does), otherwise in ``default_tz``; naive window bounds are read in ``default_tz``.
    Raises :class:`CalendarError` when the input is not an iCalendar file, and
    :class:`CalendarTooLarge` past MAX_OCCURRENCES_PER_IMPORT. ``progress`` is told what is
    being read (the bounded reader names it when the budget runs out).

    This runs in the caller's thread without a time or memory budget: a service reads
    untrusted files with :func:`read_calendar_bounded`.
    """
    progress = progress or _no_progress
    settings = settings or RuleSettings()
    try:
        zone = ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {default_tz!r}") from None
    start = _aware_utc(window_start, zone, "window_start")
    end = _aware_utc(window_end, zone, "window_end")
    if end <= start:
        raise ValueError("window_end must be after window_start")

    progress("the file (screening)")
    text = _screen(_decode(data), start, end)
    progress("the file (parsing)")
    calendars = _parse(text)
    rides: list[ImportedRide] = []
    skipped: list[Skipped] = []
    series: set[str] = set()
    counted = [0]
    for calendar in calendars:
        progress("the events' properties")
        recurring = _prepare(calendar, start, end, skipped)
        series |= {
            str(c.get("UID"))
            for c in calendar.subcomponents
            if c.name == "VEVENT" and ("RRULE" in c or "RDATE" in c)
        }
        x_wr = str(calendar.get(x_wr_timezone.X_WR_TIMEZONE, "") or "").strip()
        x_wr_zone = _zone(x_wr, x_wr_timezone.X_WR_TIMEZONE) if x_wr else None
        progress("the time zones")
        try:
            if x_wr_zone is not None:
                exact = _exact_times(calendar)
                calendar = x_wr_timezone.to_standard(calendar, timezone=x_wr_zone)
                _restore_exact_times(calendar, exact, x_wr_zone)
                # converted once: recurring_ical_events.of converts again by the property
                calendar.pop(x_wr_timezone.X_WR_TIMEZONE, None)
            calendar = _FloatingToZone(zone).walk(calendar)
            shifts = _this_and_future_shifts(calendar)
        except Exception as exc:
            raise CalendarError(f"could not read the times of this iCalendar file: {exc}") from exc
        for component in _expand(calendar, start, end, skipped, counted, progress):
            try:
                outcome = _occurrence(component, recurring, zone, settings, shifts)
            except Exception as exc:  # never let one odd event sink the whole import
                uid, title = str(component.get("UID", "")), _title(component)
                outcome = Skipped(uid, title, f"unreadable event: {exc}")
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
            elif isinstance(outcome, list):  # a race's days: the file holds all of them
                rides.extend(outcome)
                if outcome:  # a day it no longer holds (made shorter) goes, as a series' would
                    series.add(outcome[0].uid)
                if len(rides) > MAX_OCCURRENCES_PER_IMPORT:  # 21 days an event: still counted
                    raise _too_many(outcome[0].uid, outcome[0].ride.title or "")
            else:
                rides.append(outcome)
    rides.sort(key=lambda r: (r.ride.start, r.ride.external_id or ""))
    return ImportResult(rides=rides, skipped=_unique(skipped), series=series)


# --- bounded reading ----------------------------------------------------------------------
# A file of a few hundred bytes can ask for millions of occurrences, and icalendar and
# dateutil hold the GIL while they work: reading in a thread would still stall the event loop,
# and a thread cannot be stopped. A child process can be given a memory limit and killed.
# It is a fresh interpreter (not multiprocessing): nothing of the service's threads, event
# loop or __main__ comes along, and it starts in about 0.3 s. Values cross as JSON.

_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_IMPORTS)
_CHILD = "from planner.calendar_in import _child_main; _child_main()"
_READING = "reading: "  # the child's stderr lines that say what it reads now
_HEARTBEAT_S = 0.05
# icalendar reads each event under `except Exception`, MemoryError included, and goes on: a
# reader at RLIMIT_AS can crawl instead of failing. So the heartbeat also watches the size and
# ends the child, with this exit code, a little before the hard limit.
_WATCHED_SHARE = 0.85
_OUT_OF_MEMORY = 3
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None


def _child_main() -> None:
    """The child's side: limit its memory, read stdin, write one JSON outcome to stdout."""
    limit = int(sys.argv[1])
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # no RLIMIT_AS here: the time limit still holds
        pass
    reading = ["the file"]

    def heartbeat() -> None:
        # what the reader is on, many times a second: the parent names it if time runs out
        said = None
        while True:
            if reading[0] != said:
                said = reading[0]
                sys.stderr.write(f"{_READING}{said}\n")
                sys.stderr.flush()
            size = _address_space()
            if size is not None and size > limit * _WATCHED_SHARE:
                os._exit(_OUT_OF_MEMORY)
            time.sleep(_HEARTBEAT_S)

    threading.Thread(target=heartbeat, daemon=True).start()

    def progress(text: str) -> None:
        reading[0] = text

    try:
        job = json.loads(sys.stdin.buffer.read())
        result = read_calendar(
            job["data"],
            datetime.fromisoformat(job["window"][0]),
            datetime.fromisoformat(job["window"][1]),
            RuleSettings.model_validate(job["settings"]),
            job["default_tz"],
            progress=progress,
        )
        outcome: dict[str, Any] = {
            "ok": {
                "rides": [
                    [r.uid, r.recurrence_id, r.ride.model_dump(mode="json"), r.note]
                    for r in result.rides
                ],
                "skipped": [[s.uid, s.title, s.reason] for s in result.skipped],
                "series": sorted(result.series),
            }
        }
    except CalendarTooLarge as exc:
        outcome = {"too_large": [str(exc), exc.uid, exc.title]}
    except CalendarError as exc:
        outcome = {"calendar": str(exc)}
    except MemoryError:
        outcome = {"memory": reading[0]}
    except ValueError as exc:  # the window or default_tz: the caller's mistake, not the file's
        outcome = {"value": str(exc)}
    sys.stdout.write(json.dumps(outcome))
    sys.stdout.flush()


def read_calendar_bounded(
    data: bytes | str,
    window_start: datetime,
    window_end: datetime,
    settings: RuleSettings | None = None,
    default_tz: str = "UTC",
    *,
    time_limit_s: float | None = None,
    memory_limit_bytes: int | None = None,
) -> ImportResult:
    """:func:`read_calendar` in a child process with a time and a memory budget.

    Blocks the calling thread (call it from a worker thread in async code) for at most about
    twice ``time_limit_s``: once waiting for one of MAX_CONCURRENT_IMPORTS slots, once reading.
    The child is killed when the time is up and cannot grow past ``memory_limit_bytes``
    (RLIMIT_AS). The limits default to IMPORT_TIME_LIMIT_S and IMPORT_MEMORY_LIMIT_BYTES.
    Raises :class:`CalendarTooSlow` or :class:`CalendarTooLarge` naming what was being read
    and the limit, and :class:`CalendarError` for a file that is not a calendar.
    """
    time_limit_s = IMPORT_TIME_LIMIT_S if time_limit_s is None else time_limit_s
    memory_limit_bytes = (
        IMPORT_MEMORY_LIMIT_BYTES if memory_limit_bytes is None else memory_limit_bytes
    )
    if isinstance(data, bytes | bytearray | memoryview):
        # JSON carries text: undecodable bytes are refused here with read_calendar's message
        data = _decode(data)
    job = json.dumps(
        {
            "data": data,
            "window": [window_start.isoformat(), window_end.isoformat()],
            "settings": (settings or RuleSettings()).model_dump(mode="json"),
            "default_tz": default_tz,
        }
    ).encode()
    here = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])),
    }
    if not _SLOTS.acquire(timeout=time_limit_s):
        raise CalendarTooSlow(
            f"{MAX_CONCURRENT_IMPORTS} calendars are being read already and none finished "
            f"within {time_limit_s:g} s: try again in a moment"
        )
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(memory_limit_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        timed_out = False
        try:
            out, err = child.communicate(job, timeout=time_limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            child.kill()
            out, err = child.communicate()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        _SLOTS.release()
    said = [
        line.removeprefix(_READING)
        for line in err.decode("utf-8", "replace").splitlines()
        if line.startswith(_READING)
    ]
    reading = said[-1] if said else "the file"
    if timed_out:
        raise CalendarTooSlow(
            f"reading the calendar took longer than the import's {time_limit_s:g} s and was "
            f"stopped while reading {reading}"
        )
    try:
        outcome = json.loads(out)
    except ValueError:
        outcome = {"died": child.returncode}
    return _result(outcome, reading, memory_limit_bytes)


def _result(outcome: dict[str, Any], reading: str, memory_limit_bytes: int) -> ImportResult:
    if "ok" in outcome:
        done = outcome["ok"]
        return ImportResult(
            rides=[
                ImportedRide(uid, recurrence_id, Ride.model_validate(ride), note)
                for uid, recurrence_id, ride, note in done["rides"]
            ],
            skipped=[Skipped(*item) for item in done["skipped"]],
            series=set(done["series"]),
        )
    if "too_large" in outcome:
        message, uid, title = outcome["too_large"]
        raise CalendarTooLarge(message, uid=uid, title=title)
    if "calendar" in outcome:
        raise CalendarError(outcome["calendar"])
    if "value" in outcome:
        raise ValueError(outcome["value"])
    budget = f"{memory_limit_bytes / (1024 * 1024):g} MiB"
    if "memory" in outcome:
        reading = outcome["memory"]
    # a child that ends without a word was ended by its heartbeat (_OUT_OF_MEMORY), ran into
    # RLIMIT_AS where Python could not say so (an allocation in C), or was killed: all are the
    # memory budget's doing, not the file's
    raise CalendarTooLarge(
        f"reading the calendar needed more than the import's {budget} of memory and was "
        f"stopped while reading {reading}"
    )
