"""S4: on a re-plan, as few changes as possible to published sessions, above all in the next 72 h.

Two kinds of change, each priced in both faces:
- moved: no session of the published kind at the published moment (dropped or moved);
- changed: kept at its moment, but a strength session flipped between heavy and light, or a
  heavy one between a lift and its stand-in (the week's one Nordic of its build-up moving to
  another of its heavy sessions), while the published variant could still be built that day.
  The solver picks the variant, so without a price a re-plan may flip sessions far from what
  changed whenever the variants tie (deload weeks, a week's heavy sessions beyond T1's heavy
  part, which session holds the Nordic). Where pain or the ladders took the published variant
  away, the flip follows the content and costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from constraints._time import local, utc
from constraints.t1_strength_per_week import content_of, stand_in_for
from planner.domain import Session, SessionKind
from planner.problem import Problem
from planner.variables import ModelContext, Rule, Violation


def slot_key(session: Session | object) -> tuple[object, ...]:
    """Kept means same kind at the same moment; heavy or light is content, not a move."""
    return (session.kind, utc(session.start))  # type: ignore[attr-defined]


def variant_on_offer(problem: Problem, session: Session) -> bool:
    """Whether the published strength session's variant (heavy or light) can still be built on
    its day: red pain, a changed ladder or a light-only phase may have taken it away."""
    if session.kind != SessionKind.strength:
        return False  # mobility has one variant
    day = problem.local_day(session.start)
    return content_of(problem).strength(day, session.heavy) is not None


def is_stand_in(problem: Problem, session: Session | object) -> bool:
    """A heavy strength session holding the rung below a stand-in lift (T1) in its place."""
    return bool(stand_in_for(problem, session, content_of(problem)))  # type: ignore[arg-type]


def variant(heavy: bool) -> str:
    return "heavy" if heavy else "light"


@dataclass(frozen=True)
class S4Stability(Rule):
    near_h: int = 72
    near_weight: int = 100
    far_weight: int = 30
    # a flip at the same moment is a smaller change than a move, and it must stay below every
    # term that prefers one variant for a coaching reason (T1's stand-in 10, S1 20, T1's heavy
    # part 40, T3 and T4 50): it only keeps the published variant where nothing else decides
    near_change_weight: int = 9
    far_change_weight: int = 3
    name = "S4"
    title = "few changes to a published plan"
    hard = False

    def is_near(self, problem: Problem, session: Session) -> bool:
        if problem.now is None:  # no clock to measure "the next 72 h" from
            return False
        return utc(session.start) < utc(problem.now) + timedelta(hours=self.near_h)

    def weight(self, problem: Problem, session: Session) -> int:
        return self.near_weight if self.is_near(problem, session) else self.far_weight

    def change_weight(self, problem: Problem, session: Session) -> int:
        return self.near_change_weight if self.is_near(problem, session) else self.far_change_weight

    def to_keep(self, problem: Problem) -> list[Session]:
        """Published sessions the solver may still move: those not yet started."""
        return [
            s
            for s in problem.previous
            if (problem.now is None or s.start >= problem.now)
            and problem.start <= problem.local_day(s.start) < problem.end
        ]

    def encode(self, ctx: ModelContext) -> None:
        problem = ctx.problem
        keep = self.to_keep(problem)
        if not keep:  # a first plan: nothing published to stay close to
            return
        by_key: dict[tuple[object, ...], list] = {}
        for cand in ctx.live():
            by_key.setdefault(slot_key(cand), []).append(cand)
        for session in keep:
            term = f"S4 moved[{session.start.isoformat()}]"
            cands = by_key.get(slot_key(session), [])
            weight = self.weight(problem, session)
            if not cands:
                ctx.penalize(term, weight, 1)
                continue
            # the same variant as published if it is still on offer, else the other one
            same = [c for c in cands if c.heavy == session.heavy]
            ctx.hint((same or cands)[0])
            # light and heavy at one moment exclude each other (H7, one mobility a day)
            ctx.penalize(term, weight, 1 - ctx.total(cands))
            was_stand_in = is_stand_in(problem, session)
            flipped = [
                c
                for c in cands
                if c.heavy != session.heavy or (c.heavy and c.stand_in != was_stand_in)
            ]
            if flipped and variant_on_offer(problem, session):
                ctx.penalize(
                    f"S4 changed[{session.start.isoformat()}]",
                    self.change_weight(problem, session),
                    ctx.total(flipped),
                )

    def check(self, problem: Problem, sessions: list[Session]) -> list[Violation]:
        present = {slot_key(s): s for s in sessions}
        content = content_of(problem)
        found = []
        for s in self.to_keep(problem):
            kept = present.get(slot_key(s))
            if kept is None:
                found.append(
                    Violation(
                        self.name,
                        f"S4 moved[{s.start.isoformat()}]",
                        f"{s.kind.value} session of {local(s.start, problem.zone)} moved or "
                        "dropped",
                        penalty=self.weight(problem, s),
                        when=s.start,
                    )
                )
                continue
            message, when = None, local(s.start, problem.zone)
            if kept.heavy != s.heavy:
                message = (
                    f"{variant(s.heavy)} strength session of {when} is now {variant(kept.heavy)}"
                )
            elif s.heavy:
                left_out = stand_in_for(problem, kept, content)
                published_left_out = stand_in_for(problem, s, content)
                if bool(left_out) != bool(published_left_out):
                    lifts = " and ".join(p.name for p in left_out or published_left_out)
                    now = "leaves out" if left_out else "holds"
                    message = f"heavy strength session of {when} now {now} the {lifts}"
            if message is not None and variant_on_offer(problem, s):
                found.append(
                    Violation(
                        self.name,
                        f"S4 changed[{s.start.isoformat()}]",
                        f"{message}, at the same time",
                        penalty=self.change_weight(problem, s),
                        when=s.start,
                    )
                )
        return found
