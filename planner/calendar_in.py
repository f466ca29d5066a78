"""Reads ride calendars exported as .ics (Google Calendar, TrainingPeaks, intervals.icu).

The file is parsed with icalendar, Google's non-standard ``X-WR-TIMEZONE`` is honoured
with x_wr_timezone, and recurring events (RRULE, RDATE, EXDATE, edited instances with
RECURRENCE-ID) are expanded with recurring_ical_events between two aware datetimes.
Every event in the window either becomes an :class:`ImportedRide` or a :class:`Skipped`
entry that says why it is not a ride.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.timezone import tzp
from pydantic import ValidationError

from planner.domain import Priority, Ride, RideKind, RuleSettings

__all__ = [
    "CalendarError",
    "ImportResult",
    "ImportedRide",
    "Skipped",
    "guess_kind",
    "read_calendar",
]


class CalendarError(ValueError):
    """The input is not a readable iCalendar file; the message names the problem."""


@dataclass(frozen=True)
class ImportedRide:
    uid: str
    recurrence_id: str | None
    ride: Ride


@dataclass(frozen=True)
class Skipped:
    uid: str
    title: str
    reason: str


@dataclass
class ImportResult:
    rides: list[ImportedRide] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# --- titles -------------------------------------------------------------------------------

_RACE = re.compile(
    r"\b(?:races?|racing|crits?|criterium|gran\s*fondo|fondo|time[\s-]*trial|i?tt|"
    r"sportive|hill[\s-]*climbs?)\b",
    re.IGNORECASE,
)
# The letter of "A race" must be upper case ("a race" is the English article); the bracketed,
# hyphenated and "priority" forms are unambiguous and may be any case.
_PRIORITY = (
    re.compile(r"\b([ABC])\s+(?i:race)\b"),
    re.compile(r"\b([ABC])-race\b", re.IGNORECASE),
    re.compile(r"[\[(]\s*([ABC])\s*[\])]", re.IGNORECASE),
    re.compile(r"\bprio(?:rity)?\s*[:=]?\s*([ABC])\b", re.IGNORECASE),
)
_INTERVALS = re.compile(
    r"\b(?:intervals?|vo2\s*max|vo2|threshold|sweet\s*spot|tempo|over[\s/-]*unders?|"
    r"sprints?|hill\s+repeats?|ftp\s+test)\b",
    re.IGNORECASE,
)
_RECOVERY = re.compile(
    r"\b(?:recovery|easy\s+spin|easy\s+ride|coffee\s+ride)\b",
    re.IGNORECASE,
)
_LONG = re.compile(r"\blong\b", re.IGNORECASE)

_RIDE_WORDS = re.compile(
    r"\b(?:rides?|riding|bikes?|biking|cycling|cycle|zwift|spin|spinning|mtb|gravel|"
    r"velodrome|trainer|turbo|crits?|criterium|gran\s*fondo|fondo|sportive)\b",
    re.IGNORECASE,
)
_NOT_RIDES = (
    (re.compile(r"\b(?:run|runs|running|jog|jogging)\b", re.IGNORECASE), "a run"),
    (re.compile(r"\b(?:swim|swims|swimming)\b", re.IGNORECASE), "a swim"),
    (re.compile(r"\b(?:gym|strength|weights|lifting)\b", re.IGNORECASE), "gym work"),
    (re.compile(r"\b(?:yoga|pilates|mobility|stretching)\b", re.IGNORECASE), "yoga or mobility"),
)


def guess_kind(
    title: str, duration_min: int, settings: RuleSettings
) -> tuple[RideKind, Priority | None]:
    """Guess a ride's kind (and a race's priority) from its title and length.

    Races come first (priority from "A race", "[A]", "(A)", "A-race", "priority A"; C when
    none is given), then intervals, then recovery, then "long" in the title; anything else
    is long from ``settings.long_ride_min`` minutes on and endurance below.
    """
    title = title or ""
    if _RACE.search(title):
        for pattern in _PRIORITY:
            match = pattern.search(title)
            if match:
                return RideKind.race, Priority(match.group(1).upper())
        return RideKind.race, Priority.C
    if _INTERVALS.search(title):
        return RideKind.intervals, None
    if _RECOVERY.search(title):
        return RideKind.recovery, None
    if _LONG.search(title):
        return RideKind.long, None
    if duration_min >= settings.long_ride_min:
        return RideKind.long, None
    return RideKind.endurance, None


def _not_a_ride(title: str) -> str | None:
    """What the title looks like if it clearly is not a ride; ride words always win."""
    if not title or _RIDE_WORDS.search(title):
        return None
    for pattern, label in _NOT_RIDES:
        if pattern.search(title):
            return label
    return None


# --- parsing ------------------------------------------------------------------------------

# Rides do not repeat more than daily; finer rules would only make expansion slow.
_TOO_FREQUENT = {"SECONDLY", "MINUTELY", "HOURLY"}
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


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CalendarError(
                f"not an iCalendar file: the bytes are not UTF-8 text ({exc.reason} at "
                f"byte {exc.start})"
            ) from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        raise CalendarError(
            f"not an iCalendar file: expected bytes or str, got {type(data).__name__}"
        )
    return text


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
    except Exception as exc:  # icalendar raises ValueError, but be sure nothing else leaks
        raise CalendarError(f"not a readable iCalendar file: {exc}") from None
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if not calendars:
        raise CalendarError(
            "not an iCalendar file: no complete VCALENDAR (BEGIN:VCALENDAR ... END:VCALENDAR)"
        )
    return calendars


def _zone(name: str, what: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    # icalendar also knows Windows names such as "W. Europe Standard Time".
    zone = tzp.timezone(name)
    if zone is None:
        raise CalendarError(f"iCalendar file names an unknown time zone in {what}: {name!r}")
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
    for rule in _as_list(event.get("RRULE")):
        if set(rule.get("FREQ", [])) & _TOO_FREQUENT:
            return "repeats more often than daily"
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


def _far_outside(event: icalendar.cal.Component, start: datetime, end: datetime) -> bool:
    """Whether a single (non-repeating) event clearly starts outside the window."""
    if "RRULE" in event or "RDATE" in event:
        return False
    prop = event.get("DTSTART")
    if prop is None or isinstance(prop, list | icalendar.vBroken):
        return False  # vBroken raises BrokenCalendarProperty (not AttributeError) on .dt
    value = prop.dt
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if not isinstance(value, datetime):
        return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a day of slack below covers any zone
    slack = timedelta(days=1)
    return value < start - slack or value > end + slack


def _prepare(
    calendar: icalendar.Calendar, start: datetime, end: datetime, skipped: list[Skipped]
) -> set[str]:
    """Give every event a UID, drop those that cannot be expanded; return recurring UIDs.

    Events that cannot be expanded are reported unless they are single events far outside
    the window, so that an old broken entry does not show up in every import.
    """
    kept = []
    recurring: set[str] = set()
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            kept.append(component)
            continue
        if not str(component.get("UID", "")).strip():
            digest = hashlib.sha1(component.to_ical(), usedforsecurity=False).hexdigest()
            component["UID"] = f"no-uid-{digest[:16]}"
        uid = str(component["UID"])
        try:
            problem = _problem(component)
        except Exception as exc:  # e.g. a property given twice; report it, read the rest
            problem = f"unreadable event: {exc}"
        if problem:
            if not _far_outside(component, start, end):
                skipped.append(Skipped(uid, _title(component), problem))
            continue
        if any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
            recurring.add(uid)
        kept.append(component)
    calendar.subcomponents = kept
    return recurring


def _expand(
    calendar: icalendar.Calendar, start: datetime, end: datetime, skipped: list[Skipped]
) -> list[icalendar.cal.Component]:
    try:
        return list(recurring_ical_events.of(calendar).between(start, end))
    except Exception:  # find the broken series below, one UID at a time
        pass
    groups: dict[str, list[icalendar.cal.Component]] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            groups.setdefault(str(component["UID"]), []).append(component)
    occurrences: list[icalendar.cal.Component] = []
    for uid, components in groups.items():
        single = icalendar.Calendar()
        for component in components:
            single.add_component(component)
        try:
            occurrences.extend(recurring_ical_events.of(single).between(start, end))
        except Exception as exc:
            skipped.append(Skipped(uid, _title(components[0]), f"unreadable event: {exc}"))
    return occurrences


def _recurrence_id(component: icalendar.cal.Component) -> str | None:
    prop = component.get("RECURRENCE-ID")
    if prop is None:
        return None
    value = prop.dt
    if isinstance(value, datetime) and value.tzinfo is not None:
        # UTC, so the id does not depend on the zone an exporter wrote it in.
        value = value.astimezone(UTC)
    return value.isoformat()


def _occurrence(
    component: icalendar.cal.Component,
    recurring: set[str],
    zone: tzinfo,
    settings: RuleSettings,
) -> ImportedRide | Skipped:
    uid = str(component["UID"])
    title = _title(component)
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        return Skipped(uid, title, "cancelled")
    start = component["DTSTART"].dt
    if not isinstance(start, datetime):
        return Skipped(uid, title, "all-day event: no time of day")
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
    recurrence_id = _recurrence_id(component) if uid in recurring else None
    external_id = uid if recurrence_id is None else f"{uid}#{recurrence_id}"
    kind, priority = guess_kind(title, duration_min, settings)
    try:
        ride = Ride(
            start=start,
            duration_min=duration_min,
            kind=kind,
            priority=priority,
            title=title[:500] or None,
            external_id=external_id,
        )
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors())
        return Skipped(uid, title, f"not a valid ride: {reasons}")
    return ImportedRide(uid=uid, recurrence_id=recurrence_id, ride=ride)


def _aware_utc(value: datetime | date, zone: tzinfo, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _unique(items: Iterable[Skipped]) -> list[Skipped]:
    """One entry per (uid, title, reason): a weekly all-day event is skipped once."""
    return list(dict.fromkeys(items))


def read_calendar(
    data: bytes | str,
    window_start: datetime,
    window_end: datetime,
    settings: RuleSettings | None = None,
    default_tz: str = "UTC",
) -> ImportResult:
    """Read the rides of an .ics export that fall between window_start and window_end.

    Floating times are read in the calendar's X-WR-TIMEZONE if it has one (as Google
    does), otherwise in ``default_tz``; naive window bounds are read in ``default_tz``.
    Raises :class:`CalendarError` when the input is not an iCalendar file.
    """
    settings = settings or RuleSettings()
    try:
        zone = ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {default_tz!r}") from None
    start = _aware_utc(window_start, zone, "window_start")
    end = _aware_utc(window_end, zone, "window_end")
    if end <= start:
        raise ValueError("window_end must be after window_start")

    calendars = _parse(_decode(data))
    rides: list[ImportedRide] = []
    skipped: list[Skipped] = []
    for calendar in calendars:
        recurring = _prepare(calendar, start, end, skipped)
        x_wr = str(calendar.get(x_wr_timezone.X_WR_TIMEZONE, "") or "").strip()
        x_wr_zone = _zone(x_wr, x_wr_timezone.X_WR_TIMEZONE) if x_wr else None
        try:
            if x_wr_zone is not None:
                calendar = x_wr_timezone.to_standard(calendar, timezone=x_wr_zone)
            calendar = _FloatingToZone(zone).walk(calendar)
        except Exception as exc:
            raise CalendarError(f"could not read the times of this iCalendar file: {exc}") from exc
        for component in _expand(calendar, start, end, skipped):
            try:
                outcome = _occurrence(component, recurring, zone, settings)
            except Exception as exc:  # never let one odd event sink the whole import
                uid, title = str(component.get("UID", "")), _title(component)
                outcome = Skipped(uid, title, f"unreadable event: {exc}")
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
            else:
                rides.append(outcome)
    rides.sort(key=lambda r: (r.ride.start, r.ride.external_id or ""))
    return ImportResult(rides=rides, skipped=_unique(skipped))
