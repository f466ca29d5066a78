"""Errors a caller can cause, each naming the problem in words a coach understands."""

from __future__ import annotations


class PlannerInputError(ValueError):
    """Bad input: the message says what and where; `field` names the offending part."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PlannerFailure(RuntimeError):
    """The solver could not produce a plan (time limit hit before any plan was found)."""
