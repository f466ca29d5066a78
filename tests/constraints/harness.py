"""Runs one rule's CP-SAT face on a given plan, so tests can compare it with the rule's `check`.

The plan's sessions become the only candidates, each pinned to 1. A hard rule's encoding
must then be infeasible exactly when `check` finds a breach; a soft rule's encoding must
price each named term as `check` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from planner.candidates import CandidateFactory
from planner.domain import Session
from planner.problem import Problem
from planner.variables import ModelContext, Rule, SlotRule


@dataclass
class Encoded:
    feasible: bool
    terms: dict[str, int]  # penalty term -> weighted value in the optimum


def encode_plan(rule: Rule, prob: Problem, sessions: list[Session]) -> Encoded:
    candidates = CandidateFactory(prob).build(fixed=sessions, days=[])
    assert len(candidates) == len(sessions), "every session must fall inside the plan's weeks"
    for cand in candidates:
        # `fixed` means "already happened" to the rules, which then spare it; pin by constraint
        cand.fixed = False
    ctx = ModelContext(problem=prob, candidates=candidates, rules=[rule])
    if isinstance(rule, SlotRule):
        rule.encode(ctx)
        if ctx.forbidden:
            return Encoded(False, {})
        ctx.create_variables()
    else:
        ctx.create_variables()
        rule.encode(ctx)
    for var in ctx.x.values():
        ctx.model.add(var == 1)
    ctx.model.minimize(
        sum((p.weight * p.var for p in ctx.penalties), cp_model.LinearExpr.constant(0))
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(ctx.model)
    if status == cp_model.INFEASIBLE:
        return Encoded(False, {})
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    terms: dict[str, int] = {}
    for p in ctx.penalties:
        value = p.var if isinstance(p.var, int) else solver.value(p.var)
        if value:
            terms[p.term] = terms.get(p.term, 0) + p.weight * int(value)
    return Encoded(True, terms)


def checked_terms(rule: Rule, prob: Problem, sessions: list[Session]) -> dict[str, int]:
    """The rule's `check`: its penalty terms, summed per term name."""
    terms: dict[str, int] = {}
    for violation in rule.check(prob, sessions):
        assert violation.rule == rule.name
        terms[violation.term] = terms.get(violation.term, 0) + violation.penalty
    return terms


def encoded_terms(rule: Rule, prob: Problem, sessions: list[Session]) -> dict[str, int]:
    """The rule's encoding: its penalty terms in the optimum with `sessions` pinned."""
    result = encode_plan(rule, prob, sessions)
    assert result.feasible
    return result.terms
