"""Keeps a published calendar stable across re-plans: UIDs survive, SEQUENCE rises on change."""

from __future__ import annotations

import uuid
from datetime import datetime

from planner.domain import Session

UID_NAMESPACE = uuid.UUID("6f0b3c1e-5d4a-4e0b-9a51-2f1d7c9e8b40")


def new_uid(owner: str, session: Session) -> str:
    return f"{uuid.uuid5(UID_NAMESPACE, f'{owner}|{session.kind.value}|{session.start.isoformat()}')}@planner"


def carry_over(
    previous: list[Session], fresh: list[Session], *, owner: str, now: datetime
) -> list[Session]:
    """Give each fresh session the UID of the published one it replaces.

    A session matches the published one at the same time and kind, else the one of the same
    kind on the same day (it moved within the day). A match keeps its UID; its SEQUENCE rises
    and its change time is now only if what the athlete sees changed.
    """
    unmatched = {s.uid: s for s in previous if s.uid}
    result: list[Session] = []
    pending: list[Session] = []
    by_slot = {(s.kind, s.start): s for s in unmatched.values()}
    for session in fresh:
        old = by_slot.get((session.kind, session.start))
        if old is not None and old.uid in unmatched:
            result.append(_inherit(session, unmatched.pop(old.uid), now))
        else:
            pending.append(session)
    for session in pending:
        old = next(
            (
                s
                for s in sorted(unmatched.values(), key=lambda s: abs(s.start - session.start))
                if s.kind == session.kind and s.start.date() == session.start.date()
            ),
            None,
        )
        if old is not None:
            result.append(_inherit(session, unmatched.pop(old.uid), now))
        else:
            session = session.model_copy()
            session.uid = new_uid(owner, session)
            session.sequence = 0
            session.changed_at = now
            result.append(session)
    return sorted(result, key=lambda s: s.start)


def _inherit(session: Session, old: Session, now: datetime) -> Session:
    session = session.model_copy()
    session.uid = old.uid
    if session.content_key() == old.content_key():
        session.sequence = old.sequence
        session.changed_at = old.changed_at or now
    else:
        session.sequence = old.sequence + 1
        session.changed_at = now
    return session
