"""S4: on a re-plan, as few changes as possible to published sessions, above all in the next 72 h."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import utc
from planner.domain import Session
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation


def slot_key(session: Session | object) -> tuple[object, ...]:
    """Kept means same kind at the same moment; heavy or light is content, not a move."""
    return (session.kind, utc(session.start))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class S4Stability(Rule):
    near_h: int = 72
    near_weight: int = 100
    far_weight: int = 30
    name = "S4"
    title = "few changes to a published plan"
    hard = False

    def weight(self, problem: Problem, session: Session) -> int:
        if problem.now is None:  # no clock to measure "the next 72 h" from
            return self.far_weight
        return (
            self.near_weight
            if utc(session.start) < utc(problem.now) + timedelta(hours=self.near_h)
            else self.far_weight
        )

    def to_keep(self, problem: Problem) -> list[Session]:
        """Published sessions the solver may still move: those not yet started."""
        return [
            s
            for s in problem.previous
            if (problem.now is None or s.start >= problem.now)
            and problem.start <= problem.local_day(s.start) < problem.end
        ]

    def encode(self, ctx: ModelContext) -> None:
        by_key: dict[tuple[object, ...], list] = {}
        for cand in ctx.live():
            by_key.setdefault(slot_key(cand), []).append(cand)
        for session in self.to_keep(ctx.problem):
            term = f"S4 moved[{session.start.isoformat()}]"
            cands = by_key.get(slot_key(session), [])
            weight = self.weight(ctx.problem, session)
            if not cands:
                ctx.penalize(term, weight, 1)
                continue
            # the same variant as published if it is still on offer, else the other one
            same = [c for c in cands if c.heavy == session.heavy] or cands
            ctx.hint(same[0])
            # light and heavy at one moment exclude each other (H7, one mobility a day)
            ctx.penalize(term, weight, 1 - ctx.total(cands))

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        present = {slot_key(s) for s in sessions}
        return [
            Violation(
                self.name,
                f"S4 moved[{s.start.isoformat()}]",
                f"{s.kind.value} session of {s.start.isoformat()} moved or dropped",
                penalty=self.weight(problem, s),
                when=s.start,
            )
            for s in self.to_keep(problem)
            if slot_key(s) not in present
        ]
