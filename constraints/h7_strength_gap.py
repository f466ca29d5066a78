"""H7: at most one strength session a day, and `strength_gap_h` from the end of one to the next."""

from __future__ import annotations

from dataclasses import dataclass

from constraints._time import real_hours, utc
from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation


@dataclass(frozen=True)
class H7StrengthGap(Rule):
    strength_gap_h: int
    name = "H7"
    title = "rest between strength sessions"
    hard = True

    def encode(self, ctx: ModelContext) -> None:
        # instants as timestamps: real time, whatever zone a pinned session carries
        strength = sorted(ctx.live(SessionKind.strength), key=lambda c: c.start.timestamp())
        gap = self.strength_gap_h * 3600
        starts = [c.start.timestamp() for c in strength]
        count = len(strength)
        last_covered = -1
        j = 0
        for i, first in enumerate(strength):
            # every session starting before `first` ends + gap clashes with it: at most one of them
            clear = first.end.timestamp() + gap
            j = max(j, i)  # the clear moments grow with i, up to a session's length: j never falls
            while j + 1 < count and starts[j + 1] < clear:
                j += 1
            while j > i and starts[j] >= clear:  # a shorter session ends sooner: step back
                j -= 1
            if j > last_covered and j > i:
                # a pinned session holds its stretch (ModelContext.at_most_one)
                constraint = ctx.at_most_one(strength[i : j + 1])
                if constraint is not None:
                    ctx.add_hard(self.name, constraint)
                last_covered = j
        for cands in ctx.by_day(SessionKind.strength).values():
            constraint = ctx.at_most_one(cands)
            if constraint is not None:
                ctx.add_hard(self.name, constraint)

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        strength = sorted(
            (s for s in sessions if s.kind == SessionKind.strength), key=lambda s: utc(s.start)
        )
        found = []
        for before, after in zip(strength, strength[1:], strict=False):
            same_day = problem.local_day(before.start) == problem.local_day(after.start)
            gap = real_hours(before.end, after.start)
            if same_day or gap < self.strength_gap_h:
                found.append(
                    Violation(
                        self.name,
                        f"H7[{after.start.isoformat()}]",
                        f"strength at {after.start.isoformat()} only {gap:.0f} h after the previous "
                        f"one (needs {self.strength_gap_h} h, one a day at most)",
                        when=after.start,
                    )
                )
        return found
