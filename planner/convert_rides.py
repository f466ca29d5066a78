"""Small helpers over ride lists shared by the CLI and the service."""

from __future__ import annotations

from planner.domain import Ride


def rides_overlap(ride: Ride, others: list[Ride]) -> Ride | None:
    """The first ride of `others` that overlaps `ride` in time, if any."""
    for other in others:
        if other.start < ride.end and ride.start < other.end:
            return other
    return None
