"""The week-by-week table a coach reads in the terminal."""

from __future__ import annotations

from datetime import timedelta

from planner.domain import Plan, Ride, SessionKind


def table(plan: Plan, rides: list[Ride]) -> str:
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
        out.append(
            f"Week {week.index} ({week.start} to {week.end}) [{', '.join(flags)}]"
            f"  strength {week.strength_planned} (heavy {week.heavy_planned}),"
            f" mobility days {week.mobility_planned}"
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
        for target in week.targets:
            mark = "ok " if target.met else "MISSED"
            line = f"  {mark} {target.rule} {target.wanted}: planned {target.planned}"
            if not target.met and target.reason:
                line += f" -- {target.reason}"
            out.append(line)
        out.append("")
    if plan.warnings:
        out.extend(f"Note: {w}" for w in plan.warnings)
    return "\n".join(out)
