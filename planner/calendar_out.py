"""Writes a plan as an RFC 5545 calendar (api.md, "The feed"), built with the icalendar library."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration

from planner.domain import Prescription, Session, SessionKind, is_control
from planner.library import load_library

PRODID = "-//Periodization Planner//Strength around rides//EN"
DISCLAIMER = "Coaching guidance, not medical advice."
# the first note of a session the athlete reported as not done (api.feedback): it stays in the
# calendar as history, titled as such
NOT_DONE_NOTE = (
    "Reported as not done: this session counts toward nothing, and the plan around it was made "
    "again without it."
)


def cues_of(prescription: Prescription) -> list[str]:
    """Every cue of the exercise (the library's), the key cue first; the stored key cue alone
    for an exercise the library no longer has."""
    exercise = load_library().by_id.get(prescription.exercise_id)
    if exercise is None:
        return [prescription.cue]
    return [prescription.cue, *(c for c in exercise.cues if c != prescription.cue)]


def main_lift(session: Session) -> Prescription | None:
    """The lift a strength session is built around: its first max-strength (or heavy) lift,
    else its first exercise."""
    if not session.prescriptions:
        return None
    library = load_library()
    for p in session.prescriptions:
        exercise = library.by_id.get(p.exercise_id)
        if p.heavy or (exercise is not None and exercise.max_strength):
            return p
    return session.prescriptions[0]


def describe(session: Session) -> str:
    """The prescription in plain text: exercise, dose, load hint and every cue."""
    lines = []
    title = (
        "Strength (heavy)"
        if session.heavy
        else ("Strength" if session.kind == SessionKind.strength else "Mobility")
    )
    minutes = int(
        (session.end.astimezone(UTC) - session.start.astimezone(UTC)).total_seconds() // 60
    )
    lines.append(f"{title}, {minutes} min")
    if session.after_ride:
        lines.append(f"After your ride: {session.after_ride}")
    lines.append("")
    for p in session.prescriptions:
        rest = f", rest {p.rest_s} s" if p.rest_s else ""
        lines.append(f"- {p.name}: {p.dose()}, {p.load_hint}{rest}")
        lines.extend(f"  Cue: {cue}" for cue in cues_of(p))
    for note in session.notes:
        lines.append("")
        lines.append(note)
    lines.append("")
    lines.append("Stop any exercise that causes sharp pain and tell your coach. " + DISCLAIMER)
    return "\n".join(lines)


def summary(session: Session) -> str:
    title = _summary(session)
    return f"Not done: {title}" if NOT_DONE_NOTE in session.notes else title


def _summary(session: Session) -> str:
    if session.kind == SessionKind.mobility:
        return "Mobility and stretching"
    lift = main_lift(session)
    title = "Heavy strength" if session.heavy else "Strength"
    if lift is None:
        return title
    others = len(session.prescriptions) - 1
    more = f" + {others} more" if others else ""
    return f"{title}: {lift.name}{more}"


def _wall_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The moment in the athlete's zone, or in UTC where that wall time happens twice.

    A TZID time in the hour repeated when the clocks go back means its first occurrence
    (RFC 5545, 3.3.5), so a session in the second one would be read an hour early.
    """
    local = moment.astimezone(zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def to_ical(
    sessions: list[Session],
    *,
    name: str,
    timezone: str,
    stamp_default: datetime | None = None,
    checkin_links: Mapping[str, str] | None = None,
) -> bytes:
    """The calendar's bytes. Same sessions in, same bytes out: DTSTAMP is each session's last change.

    `checkin_links` maps a session's UID to the athlete's check-in page for it: the event's URL
    and a line of its DESCRIPTION."""
    zone = ZoneInfo(timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # one line: a name stored before names were (a line break fails icalendar's writer)
    one_line = "".join(" " if is_control(c) else c for c in name)
    cal.add("x-wr-calname", f"{one_line}: strength and mobility")
    cal.add("x-wr-timezone", timezone)
    cal.add("refresh-interval", vDuration.from_ical("PT1H"), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    fallback = stamp_default or datetime(2000, 1, 1, tzinfo=UTC)
    for session in sorted(sessions, key=lambda s: (s.start, s.uid)):
        event = Event()
        event.add("uid", session.uid)
        event.add("dtstamp", (session.changed_at or fallback).astimezone(UTC))
        event.add("dtstart", _wall_time(session.start, zone))
        event.add("dtend", _wall_time(session.end, zone))
        event.add("sequence", session.sequence)
        event.add("summary", summary(session))
        link = (checkin_links or {}).get(session.uid)
        text = describe(session)
        if link:
            text += f"\n\nAfter the session, tell your coach how it went: {link}"
            event.add("url", link)
        event.add("description", text)
        categories = [session.kind.value] + (["heavy"] if session.heavy else [])
        event.add("categories", categories)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    # VTIMEZONE rules for the years the events span only: the full 1970-2038 table is
    # several kilobytes per feed and slow to build
    if sessions:
        first = min(s.start for s in sessions).date().replace(month=1, day=1)
        last = max(s.end for s in sessions).date().replace(month=12, day=31)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()
