"""What the pages show, built from stored rows: the roster, an athlete's fortnight, the pain chart.

Every query here goes through the coach's scope (api.repository.CoachData) or joins on the
coach's id, so a page can show nothing of another coach's athletes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape
from itertools import groupby
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api import clock
from api.convert import athlete_from_row, progression_of, session_from_row
from api.db import AthleteRow, CalendarSourceRow, FeedbackRow, SessionRow
from api.feedback import SESSION_KINDS, dose_words, slot_changes
from api.repository import CoachData
from planner.calendar_out import summary
from planner.domain import PainFlag, Pattern, Region, Session
from planner.library import load_library

# how far back a session without feedback counts as unlogged on the roster
UNLOGGED_DAYS = 14
CHART_WEEKS = 8

REGION_WORDS = {
    Region.knee: "Knee",
    Region.low_back: "Low back",
    Region.hamstring: "Hamstring",
    Region.hip: "Hip",
    Region.other: "Somewhere else",
}
# the red-flag questions in the athlete's words
FLAG_WORDS = {
    PainFlag.sharp: "Sharp or stabbing pain",
    PainFlag.sudden: "Pain that came on suddenly",
    PainFlag.swelling: "Swelling",
    PainFlag.numbness: "Numbness",
    PainFlag.tingling: "Tingling or pins and needles",
    PainFlag.giving_way: "The joint gave way",
    PainFlag.night_pain: "Pain that wakes you at night",
    PainFlag.lasting_over_7_days: "Pain that has lasted more than 7 days",
}
SESSION_TIMINGS = (("after", "After"), ("during", "During"))
# what the pain-and-soreness fields (_pain.html) offer, for every page that shows them
PAIN_FIELDS = {
    "regions": tuple((r.value, w) for r, w in REGION_WORDS.items()),
    "flag_words": tuple((f.value, w) for f, w in FLAG_WORDS.items()),
}
REGION_COLOURS = {
    Region.knee: "#c2410c",
    Region.low_back: "#1d4ed8",
    Region.hamstring: "#7c3aed",
    Region.hip: "#047857",
    Region.other: "#4b5563",
}


def words(value: str) -> str:
    return value.replace("_", " ")


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def when_zoned(moment: datetime, zone: ZoneInfo) -> str:
    """`when` with the zone's abbreviation: the roster lists athletes of several zones."""
    return f"{when(moment, zone)} {moment.astimezone(zone):%Z}"


# --- pain reports as stored ---------------------------------------------------------------------


@dataclass
class PainPoint:
    at: datetime
    region: Region
    score: int
    timing: str
    kind: str
    flags: list[str]


def pain_points(row: FeedbackRow) -> list[PainPoint]:
    """The pain scores one stored feedback or check-in holds."""
    body = row.body or {}
    entries = body.get("pain", []) if row.kind != "checkin" else [body]
    points = []
    for entry in entries:
        try:
            region = Region(entry["region"])
            score = int(entry["score"])
        except (KeyError, ValueError, TypeError):
            continue
        points.append(
            PainPoint(
                row.at,
                region,
                score,
                str(entry.get("timing", "")),
                str(entry.get("kind", "pain")),
                list(entry.get("flags", [])),
            )
        )
    return points


Row = TypeVar("Row", FeedbackRow, SessionRow)


async def _coach_rows(
    data: CoachData,
    row: type[Row],
    moment: Any,
    athlete_ids: list[uuid.UUID],
    since: datetime,
    until: datetime | None = None,
) -> list[Row]:
    """The coach's rows of these athletes with `moment` in [since, until), in time order."""
    if not athlete_ids:
        return []
    query = (
        select(row)
        .join(AthleteRow, AthleteRow.id == row.athlete_id)
        .where(
            AthleteRow.coach_id == data.coach.id,
            row.athlete_id.in_(athlete_ids),
            moment >= since,
        )
        .order_by(moment)
    )
    if until is not None:
        query = query.where(moment < until)
    return list((await data.db.scalars(query)).all())


async def feedback_since(
    data: CoachData, athlete_ids: list[uuid.UUID], since: datetime
) -> list[FeedbackRow]:
    return await _coach_rows(data, FeedbackRow, FeedbackRow.at, athlete_ids, since)


async def sessions_between(
    data: CoachData, athlete_ids: list[uuid.UUID], since: datetime, until: datetime | None = None
) -> list[SessionRow]:
    return await _coach_rows(data, SessionRow, SessionRow.start, athlete_ids, since, until)


async def logged_uids(data: CoachData, athlete: AthleteRow) -> set[str]:
    """UIDs of the athlete's sessions that already have their feedback."""
    query = select(FeedbackRow.session_uid).where(
        FeedbackRow.athlete_id == athlete.id, FeedbackRow.kind.in_(SESSION_KINDS)
    )
    return {uid for uid in (await data.db.scalars(query)).all() if uid}


def logged_lines(row: FeedbackRow, zone: ZoneInfo) -> list[str]:
    """A session's stored report in words for the coach: done or not, effort, pain, and each
    exercise logged (as sent: an entry the engine left out is shown as it came)."""
    body = row.body or {}
    library = load_library()
    outcome = {True: "done", False: "skipped"}.get(body.get("completed"), "not said if done")
    if row.kind == "checkin":  # pain sent for the session apart from its report
        outcome = "pain sent apart from the report"
    head = f"{when(row.at, zone)}: {outcome}"
    if body.get("rpe") is not None:
        head += f", RPE {body['rpe']}"
    lines = [head]
    for point in pain_points(row):
        what = "soreness" if point.kind == "soreness" else "pain"
        flags = f" ({', '.join(f.replace('_', ' ') for f in point.flags)})" if point.flags else ""
        timing = point.timing.replace("_", " ")
        lines.append(f"{REGION_WORDS[point.region]} {what} {point.score}/10 {timing}{flags}")
    if body.get("flags") and row.kind != "checkin":  # a check-in's are its region's, said
        lines.append("flags: " + ", ".join(str(f).replace("_", " ") for f in body["flags"]))
    for entry in body.get("exercises") or []:
        if not isinstance(entry, dict):
            continue
        exercise = library.by_id.get(str(entry.get("exercise_id")))
        name = exercise.name if exercise else str(entry.get("exercise_id", "an exercise"))
        parts = [f"{entry.get('sets', '?')} x {entry.get('reps', '?')}"]
        load = entry.get("load_kg")
        if isinstance(load, int | float) and not isinstance(load, bool):
            parts.append(f"at {load:g} kg")
        elif load is not None:
            parts.append(f"at {load!s} (not read as kilograms)")
        if entry.get("rpe") is not None:
            parts.append(f"RPE {entry['rpe']}")
        lines.append(f"{name}: {' '.join(parts)}")
    return lines


# --- API words on the pages ---------------------------------------------------------------------

# The service's messages serve the API and the pages alike, and name the API's calls beside the
# dashboard's ("the dashboard's Re-plan, or POST .../plan"): on a page those asides are noise to
# a coach (a trial read "PATCH availability.exceptions ... {"date": ...}" after an import)
_API_ASIDES = (
    (re.compile(r" \(or in the API, [^)]*\)"), ""),
    (re.compile(r",? or (?:(?:POST|PATCH|PUT|DELETE|GET) \.\.\.[^\s),;]*\s*)+\)"), ")"),
    (re.compile(r" \((?:(?:POST|PATCH|PUT|DELETE|GET) \.\.\.[^)]*)\)"), ""),
    (re.compile(r"re-plan with POST \.\.\./plan"), "re-plan (the Re-plan form)"),
    (re.compile(r"\bPOST \.\.\./plan to re-plan"), "re-plan with the Re-plan form"),
)


def without_api_calls(text: object) -> str:
    """A message as a page shows it: the API's calls named beside the dashboard's left out."""
    said = str(text)
    for pattern, instead in _API_ASIDES:
        said = pattern.sub(instead, said)
    return said


# --- the roster ---------------------------------------------------------------------------------


@dataclass
class RosterLine:
    id: uuid.UUID
    name: str
    rank: int  # 0 clearance waiting, 1 red regions, 2 missed or unlogged sessions, 3 the rest
    flags: list[str] = field(default_factory=list)  # what needs the coach, in words
    next_session: str = "no session planned"
    last_pain: str = "none reported"


async def roster(data: CoachData) -> list[RosterLine]:
    athletes = await data.athletes()
    ids = [a.id for a in athletes]
    now = clock.now()
    since = now - timedelta(days=UNLOGGED_DAYS)
    sessions = await sessions_between(data, ids, since)
    feedback = await feedback_since(data, ids, now - timedelta(weeks=CHART_WEEKS))
    logged_query = (
        select(FeedbackRow.athlete_id, FeedbackRow.session_uid)
        .join(AthleteRow, AthleteRow.id == FeedbackRow.athlete_id)
        .where(AthleteRow.coach_id == data.coach.id, FeedbackRow.kind.in_(SESSION_KINDS))
    )
    logged = {(a, u) for a, u in (await data.db.execute(logged_query)).all()} if ids else set()
    failing = await failing_sources(data, ids)
    library = load_library()
    lines = []
    for athlete in athletes:
        zone = ZoneInfo(athlete.timezone)
        today = now.astimezone(zone).date()
        state = progression_of(athlete, athlete_from_row(athlete))
        line = RosterLine(athlete.id, athlete.name, 3)
        flagged = sorted(r.value for r in state.flagged_regions())
        # red while its 7 days last: the stored zone stays red until a green session, which
        # put an athlete whose red ended weeks ago at the top of the roster
        red = sorted(
            r.value
            for r, s in state.regions.items()
            if not s.needs_clearance and s.no_heavy_until and s.no_heavy_until > today
        )
        mine = [s for s in sessions if s.athlete_id == athlete.id]
        unlogged = [s for s in mine if s.end <= now and (athlete.id, s.uid) not in logged]
        if athlete.needs_clearance or flagged:
            line.rank = 0
            line.flags.append(
                "clearance waiting: " + (", ".join(words(r) for r in flagged) or "red flag")
            )
        if red:
            line.rank = min(line.rank, 1)
            line.flags.append("red: " + ", ".join(words(r) for r in red))
        if unlogged:
            line.rank = min(line.rank, 2)
            line.flags.append(
                f"{len(unlogged)} session{'s' if len(unlogged) > 1 else ''} missed or not logged"
            )
        # a lift earned and waiting for the coach's sign-off (the first barbell hinge): the
        # athlete holds the rung below until then (a trial saw it on the athlete's page only)
        waiting = sorted(
            library.by_id[p.awaiting_approval].name
            for p in state.patterns.values()
            if p.awaiting_approval and p.awaiting_approval in library.by_id
        )
        if waiting:
            line.rank = min(line.rank, 2)
            line.flags.append("sign-off waiting: " + ", ".join(waiting))
        # a followed calendar that stopped updating: its rides (a race added, a ride moved)
        # miss the plan until the coach looks (a coach's trial saw ten paused sources, and
        # the roster said the athlete needed nothing)
        for source in failing.get(athlete.id, []):
            line.rank = min(line.rank, 2)
            line.flags.append(f"followed calendar {source_host(source)} {source.status}")
        upcoming = next((s for s in mine if s.start >= now), None)
        if upcoming is not None:
            kind = "heavy strength" if upcoming.heavy else upcoming.kind
            line.next_session = f"{when_zoned(upcoming.start, zone)}, {kind}"
        pains = [p for row in feedback if row.athlete_id == athlete.id for p in pain_points(row)]
        if pains:
            last = pains[-1]
            line.last_pain = (
                f"{words(last.region.value)} {last.score}/10 {words(last.timing)}"
                f"{' (soreness)' if last.kind == 'soreness' else ''}, {when_zoned(last.at, zone)}"
            )
        lines.append(line)
    lines.sort(key=lambda line: (line.rank, line.name.lower()))
    return lines


async def failing_sources(
    data: CoachData, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[CalendarSourceRow]]:
    """The athletes' followed calendars whose last refresh failed or that are paused."""
    if not ids:
        return {}
    query = (
        select(CalendarSourceRow)
        .where(
            CalendarSourceRow.athlete_id.in_(ids),
            CalendarSourceRow.status.in_(("error", "paused")),
        )
        .order_by(CalendarSourceRow.created_at)
    )
    found: dict[uuid.UUID, list[CalendarSourceRow]] = {}
    for row in await data.db.scalars(query):
        found.setdefault(row.athlete_id, []).append(row)
    return found


def source_host(source: CalendarSourceRow) -> str:
    """Where a followed calendar lives, as its host only: the rest of its address may hold a
    secret (a private calendar's token), as the logs keep it."""
    return urlsplit(source.url).hostname or "(no host)"


SOURCE_CHANGES_SHOWN = 5  # a refresh's re-plan lines on the athlete page (phases come first)


def source_lines(source: CalendarSourceRow) -> list[str]:
    """A followed calendar's last refresh in words: what it changed, and each event it left
    out for a clash with a stored ride (the plan misses those rides until the coach acts)."""
    result = source.last_result or {}
    if not result or "created" not in result:
        return []
    counts = ", ".join(
        f"{result.get(name, 0)} {name}" for name in ("created", "updated", "removed", "skipped")
    )
    lines = [f"Last change: {counts}."]
    changes = result.get("plan_changes") or []
    if changes:
        more = (
            f" (and {len(changes) - SOURCE_CHANGES_SHOWN} more)"
            if len(changes) > SOURCE_CHANGES_SHOWN
            else ""
        )
        lines.append(
            "The re-plan after it: " + "; ".join(changes[:SOURCE_CHANGES_SHOWN]) + more + "."
        )
    lines += [
        f"Left out {event.get('title') or event.get('uid')}: {event.get('reason')}"
        for event in result.get("skipped_events", [])
        if "overlaps" in str(event.get("reason", ""))
    ]
    lines += [
        f"Read {note.get('title') or note.get('uid')} as follows: {note.get('note')}"
        for note in result.get("notes", [])
    ]
    return lines


# --- the athlete's fortnight -----------------------------------------------------------------------


@dataclass
class DayItem:
    time: str
    title: str
    kind: str  # ride, strength, mobility
    heavy: bool = False
    session_id: str | None = None
    state: str = ""  # logged, to log, planned
    exercises: str = ""  # the strength exercises, so a change shows on the calendar


@dataclass
class Day:
    day: date
    label: str
    today: bool
    phase: str
    week_notes: list[str]
    items: list[DayItem]


def week_of(reports: list[dict[str, Any]], day: date) -> dict[str, Any] | None:
    for report in reports:
        if report["start"] <= day.isoformat() <= report["end"]:
            return report
    return None


async def fortnight(
    data: CoachData, athlete: AthleteRow, reports: list[dict[str, Any]], logged: set[str]
) -> list[Day]:
    """This week and the next in the athlete's zone, as the plan's weeks run (from its start's
    weekday; Monday without a plan): rides and sessions. Monday-to-Sunday weeks beside a
    plan's Tuesday-to-Monday ones put a week's phase on the wrong days (a new user's trial
    read 'Next week: base deload' over the days of a base week)."""
    zone = ZoneInfo(athlete.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    opens = date.fromisoformat(reports[0]["start"]).weekday() if reports else 0
    monday = today - timedelta(days=(today.weekday() - opens) % 7)  # the week's first day
    start = datetime.combine(monday, time.min, zone)
    end = start + timedelta(days=14)
    rides = await data.rides(athlete, start, end)
    sessions = await sessions_between(data, [athlete.id], start, end)
    days = []
    for offset in range(14):
        day = monday + timedelta(days=offset)
        items: list[tuple[datetime, DayItem]] = []
        for ride in rides:
            local = ride.start.astimezone(zone)
            if local.date() == day:
                title = ride.title or words(ride.kind)
                extra = f" ({ride.priority} race)" if ride.priority else ""
                items.append(
                    (
                        ride.start,
                        DayItem(
                            f"{local:%H:%M}",
                            f"{title}{extra}, {ride.duration_min} min {words(ride.kind)}",
                            "ride",
                        ),
                    )
                )
        for row in sessions:
            local = row.start.astimezone(zone)
            if local.date() != day:
                continue
            session = session_from_row(row, zone)
            state = "logged" if row.uid in logged else ("to log" if row.start <= now else "")
            items.append(
                (
                    row.start,
                    DayItem(
                        f"{local:%H:%M}",
                        summary(session),
                        row.kind,
                        row.heavy,
                        str(row.id),
                        state,
                        ", ".join(
                            p.name for p in session.prescriptions if p.pattern != Pattern.mobility
                        ),
                    ),
                )
            )
        report = week_of(reports, day)
        notes = []
        if report and report.get("deload"):
            notes.append("deload")
        if report and report.get("taper"):
            notes.append("taper")
        days.append(
            Day(
                day,
                day_label(day),
                day == today,
                words(report["phase"]) if report else "",
                notes,
                [item for _, item in sorted(items, key=lambda pair: pair[0])],
            )
        )
    return days


# --- pain over the last weeks, as SVG ------------------------------------------------------------


def pain_chart(
    rows: list[FeedbackRow], zone: ZoneInfo, today: date, weeks: int = CHART_WEEKS
) -> str:
    """An inline SVG: each region's highest score per day over the last `weeks`, on 0-10, with
    the green / amber / red bands of domain.md behind. Built on the server: no script, no CDN."""
    first = today - timedelta(weeks=weeks) + timedelta(days=1)
    days = (today - first).days + 1
    width, height, left, top, bottom, right = 640, 220, 34, 10, 28, 24
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: date) -> float:
        return left + plot_w * ((day - first).days / max(days - 1, 1))

    def y(score: float) -> float:
        return top + plot_h * (1 - score / 10)

    # pain and soreness apart: soreness (muscle ache easing when warm) moves no level below 6
    # two mornings running, so it is drawn hollow and dashed, not as pain in the bands
    daily: dict[tuple[Region, bool], dict[date, int]] = {}
    # warning signs by region and day: a flag sent without a score read as 0/10, the line
    # dropping as if the region had recovered (a new user's trial); drawn as a marker instead
    flagged: dict[tuple[Region, date], set[str]] = {}
    for row in rows:
        for point in pain_points(row):
            day = point.at.astimezone(zone).date()
            if not first <= day <= today:
                continue
            if point.flags:
                flagged.setdefault((point.region, day), set()).update(point.flags)
                if not point.score:
                    continue
            scores = daily.setdefault((point.region, point.kind == "soreness"), {})
            scores[day] = max(scores.get(day, 0), point.score)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="pain-chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="pain-chart-title">Pain per region, highest score per day, '
        f"{first.isoformat()} to {today.isoformat()}; soreness hollow and dashed, warning signs "
        "as red triangles at the top</title>",
        # bands: green 0-3, amber 4-5, red 6-10
        f'<rect x="{left}" y="{y(10):.1f}" width="{plot_w}" height="{y(5.5) - y(10):.1f}" fill="#fee2e2"/>',
        f'<rect x="{left}" y="{y(5.5):.1f}" width="{plot_w}" height="{y(3.5) - y(5.5):.1f}" fill="#fef3c7"/>',
        f'<rect x="{left}" y="{y(3.5):.1f}" width="{plot_w}" height="{y(0) - y(3.5):.1f}" fill="#dcfce7"/>',
    ]
    for score in (0, 2, 4, 6, 8, 10):
        parts.append(
            f'<text x="{left - 6}" y="{y(score) + 4:.1f}" text-anchor="end" class="axis">{score}</text>'
        )
    for week in range(weeks + 1):
        day = first + timedelta(weeks=week) - timedelta(days=1 if week else 0)
        day = min(max(day, first), today)
        parts.append(
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top}" y2="{top + plot_h}" class="grid"/>'
        )
        if week % 2 == 0 or week == weeks:
            parts.append(
                f'<text x="{x(day):.1f}" y="{height - 8}" text-anchor="middle" class="axis">'
                f"{day.day} {day:%b}</text>"
            )
    for (region, soreness), scores in sorted(daily.items()):
        colour = REGION_COLOURS[region]
        points = sorted(scores.items())
        path = " ".join(f"{x(day):.1f},{y(score):.1f}" for day, score in points)
        dashed = ' stroke-dasharray="5 4"' if soreness else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>'
        )
        what = "soreness" if soreness else "pain"
        fill = f'fill="#fff" stroke="{colour}" stroke-width="2"' if soreness else f'fill="{colour}"'
        for day, score in points:
            parts.append(
                f'<circle cx="{x(day):.1f}" cy="{y(score):.1f}" r="3.5" {fill} class="{what}">'
                f"<title>{escape(REGION_WORDS[region])} {what} {score}/10 on {day.isoformat()}"
                "</title></circle>"
            )
    for (region, day), flags in sorted(flagged.items()):
        cx, cy = x(day), y(10)
        signs = ", ".join(sorted(f.replace("_", " ") for f in flags))
        parts.append(
            f'<path d="M{cx:.1f},{cy - 1:.1f} l6,11 h-12 z" fill="#b91c1c" class="flag">'
            f"<title>{escape(REGION_WORDS[region])}: warning sign ({escape(signs)}) on "
            f"{day.isoformat()}</title></path>"
        )
    if not daily and not flagged:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            f'class="axis">no pain reported in the last {weeks} weeks</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def chart_legend(rows: list[FeedbackRow]) -> list[tuple[str, str]]:
    regions = sorted({p.region for row in rows for p in pain_points(row)})
    return [(REGION_WORDS[r], REGION_COLOURS[r]) for r in regions]


# --- one session's form -----------------------------------------------------------------------------

_KG = re.compile(r"(\d+(?:\.\d+)?)\s*kg")


@dataclass
class ExerciseField:
    index: int
    exercise_id: str
    name: str
    dose: str
    load_hint: str
    sets: int
    reps: str
    load_kg: str
    cue: str


def exercise_fields(session: Session) -> list[ExerciseField]:
    """The strength exercises of a session with what was prescribed, to prefill the log."""
    fields = []
    for index, p in enumerate(p for p in session.prescriptions if p.pattern != Pattern.mobility):
        load = _KG.search(p.load_hint)
        fields.append(
            ExerciseField(
                index,
                p.exercise_id,
                p.name,
                p.dose(),
                p.load_hint,
                p.sets,
                # the range as a hint only: a prefilled top of the range would credit a
                # tap-through with every rep made (the 2-for-2 step)
                p.reps or "",
                load.group(1) if load else "",
                p.cue,
            )
        )
    return fields


# --- what changed, in the athlete's words ----------------------------------------------------------


def swaps(
    before: list[Session],
    after: list[Session],
    zone: ZoneInfo,
    why: str,
    by_pattern: dict[str, str] | None = None,
    shown: int = 3,
    logged: dict[str, str] | None = None,
) -> list[str]:
    """ "Tue 14 May, strength: split squat instead of goblet squat, because ..." for the next
    few sessions whose content changed (a mobility session's holds one by one, as
    api.feedback.describe_plan_changes tells them apart), then the sessions added and taken
    out (a skipped session's work put elsewhere).

    Each exercise's change gives its own pattern's reason (`by_pattern`: the level change
    behind it) where it has one, else `why` (the report): a step-up of the step-up is no reason
    for a mobility hold left out for a sore back. A change of load alone on a pattern with no
    step gives the load the report logged (`logged`: "you logged 12.5 kg"), not its pain."""
    reasons = by_pattern or {}
    old = {s.uid: s for s in before}
    new = {s.uid for s in after}
    lines = []
    for session in sorted(after, key=lambda s: s.start):
        was = old.get(session.uid)
        if was is None or was.content_key() == session.content_key():
            continue
        changes: list[tuple[str, str]] = []
        for previous, item in slot_changes(was, session):
            pattern = (item or previous).pattern.value  # type: ignore[union-attr]
            reason = reasons.get(pattern, why)
            if previous is None:
                changes.append((f"{item.name} added", reason))  # type: ignore[union-attr]
            elif item is None:
                changes.append((f"no {previous.name}", reason))
            elif previous.name != item.name:
                changes.append((f"{item.name} instead of {previous.name}", reason))
            else:
                if pattern not in reasons and item.dose() == previous.dose():
                    reason = (logged or {}).get(pattern) or reason  # the load alone changed
                changes.append(
                    (
                        f"{item.name} at {dose_words(item, previous)} "
                        f"(was {dose_words(previous, item)})",
                        reason,
                    )
                )
        if was.start != session.start:
            changes.append((f"moved from {when(was.start, zone)}", ""))
        if not changes:
            changes.append(("advice updated", why))
        local = session.start.astimezone(zone)
        lines.append(
            f"{local:%A} {local.day} {local:%b}, {session.kind.value}: " + _because(changes)
        )
        if len(lines) == shown:
            break
    added = sorted((s for s in after if s.uid not in old), key=lambda s: s.start)
    removed = sorted((s for s in before if s.uid not in new), key=lambda s: s.start)
    moves = [(s, "new session") for s in added] + [(s, "taken out") for s in removed]
    for session, what in moves[:shown]:
        lines.append(f"{_day_and_time(session.start, zone)}, {session.kind.value}: {what}")
    if len(moves) > shown:
        lines.append(f"and {len(moves) - shown} more sessions added or taken out")
    return lines


def _because(changes: list[tuple[str, str]]) -> str:
    """The changes joined, each run of changes with one reason followed by it once."""
    parts: list[str] = []
    for reason, run in groupby(changes, key=lambda c: c[1]):
        said = ", ".join(text for text, _ in run)
        parts.append(f"{said}, because {reason}" if reason else said)
    return "; ".join(parts)


def _day_and_time(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%b} {local:%H:%M}"
