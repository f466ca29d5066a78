"""The service's now, in one place: re-plans pin what started before it, feeds date from it.

Everything in `api/` asks `clock.now()` rather than the datetime module, so a simulation (the
20-week season test) can walk the service through time as the athlete lives it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
