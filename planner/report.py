"""The week-by-week table a coach reads in the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from planner.domain import Plan, Ride, SessionKind


class NotUsed(Protocol):
    """A calendar entry the import left out (planner.calendar_in.Skipped)."""

    uid: str
    title: str
    reason: str


def table(
    plan: Plan,
    rides: list[Ride],
    skipped: Sequence[NotUsed] = (),
    read_as: Sequence[NotUsed] = (),
) -> str:
    """`read_as`: calendar entries read with an assumption (an all-day race), with it."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(plan.timezone)
    out = [
        f"Plan for {plan.athlete}: {plan.weeks} weeks from {plan.start} ({plan.timezone})",
        f"Solver: {plan.solver.status}, build {plan.solver.build_ms:.0f} ms, "
        f"solve {plan.solver.solve_ms:.0f} ms, gap {plan.solver.gap:.2%}",
        "",
    ]
    for week in plan.week_reports:
        flags = [week.phase.value]
        if week.deload:
            flags.append("deload")
        if week.taper:
            flags.append("taper")
        # "B race Sat 17 Apr 09:00 (...): ..." flags the week "B race"
        flags += [line[: line.index("race") + 4] for line in week.races]
        verdict = "ok" if not week.broken else f"{len(week.broken)} paid"
        out.append(
            f"Week {week.index} ({week.start} to {week.end}) [{', '.join(flags)}]"
            f"  strength {week.strength_planned} (heavy {week.heavy_planned}),"
            f" mobility days {week.mobility_planned}: {verdict}"
        )
        for offset in range(7):
            day = week.start + timedelta(days=offset)
            items = []
            for ride in rides:
                local = ride.start.astimezone(zone)
                if local.date() == day:
                    items.append(
                        (
                            local.time(),
                            f"ride  {local:%H:%M} {ride.label()} ({ride.duration_min} min)",
                        )
                    )
            for session in plan.sessions:
                local = session.start.astimezone(zone)
                if local.date() == day:
                    if session.kind == SessionKind.strength:
                        what = "HEAVY " if session.heavy else "light "
                        names = ", ".join(p.name for p in session.prescriptions)
                        items.append((local.time(), f"{what}{local:%H:%M} strength: {names}"))
                    else:
                        after = f" (after {session.after_ride})" if session.after_ride else ""
                        items.append((local.time(), f"mob.  {local:%H:%M} mobility{after}"))
            if items:
                out.append(f"  {day:%a %d %b}")
                out.extend(f"    {text}" for _, text in sorted(items))
        for line in week.races:
            out.append(f"  race   {line}")
        for target in week.targets:
            mark = "ok " if target.met else "MISSED"
            line = f"  {mark} {target.rule} {target.wanted}: planned {target.planned}"
            if not target.met and target.reason:
                line += f" -- {target.reason}"
            out.append(line)
        told = [t.reason for t in week.targets if not t.met and t.reason]
        for entry in week.broken:
            if any(entry.detail.split("; ")[0] in reason for reason in told):
                continue  # the MISSED line above gives its whole account (a coach's review)
            blocked = f" [in the way: {', '.join(entry.blocked_by)}]" if entry.blocked_by else ""
            out.append(f"  PAID   {entry.rule} {entry.detail}{blocked}")
            if entry.suggestion:
                out.append(f"         to make room: {entry.suggestion}")
        out.append("")
    if skipped:
        out.append(f"Calendar entries not used ({len(skipped)}):")
        out.extend(f"  {item.title or item.uid!r}: {item.reason}" for item in skipped)
        out.append("")
    if read_as:
        out.append(f"Calendar entries read with an assumption ({len(read_as)}):")
        out.extend(f"  {item.title or item.uid!r}: {item.reason}" for item in read_as)
        out.append("")
    if plan.warnings:
        out.extend(f"Note: {w}" for w in plan.warnings)
    return "\n".join(out)
