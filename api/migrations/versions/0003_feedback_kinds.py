"""feedback kinds: skipped and mobility sessions apart from strength

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Until 0002 every session feedback had kind "session". Missed training (2 weeks with no strength
logged) and the deadlift gate's weeks of logged training count only completed strength
sessions, so a skipped session becomes "skipped" and a completed mobility session "mobility".
Rows whose session no longer exists stay "session".
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

feedback = sa.table(
    "feedback",
    sa.column("id", GUID(length=16)),
    sa.column("kind", sa.String),
    sa.column("session_uid", sa.String),
    sa.column("athlete_id", GUID(length=16)),
    sa.column("body", sa.JSON),
)
session = sa.table(
    "plan_session",
    sa.column("uid", sa.String),
    sa.column("kind", sa.String),
    sa.column("athlete_id", GUID(length=16)),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(feedback.c.id, feedback.c.body, session.c.kind)
        .select_from(
            feedback.outerjoin(
                session,
                sa.and_(
                    session.c.uid == feedback.c.session_uid,
                    session.c.athlete_id == feedback.c.athlete_id,
                ),
            )
        )
        .where(feedback.c.kind == "session")
    ).all()
    for row_id, body, session_kind in rows:
        kind = _kind(body or {}, session_kind)
        if kind != "session":
            bind.execute(sa.update(feedback).where(feedback.c.id == row_id).values(kind=kind))


def _kind(body: dict[str, object], session_kind: str | None) -> str:
    if not body.get("completed", True):
        return "skipped"
    if session_kind == "mobility":
        return "mobility"
    return "session"


def downgrade() -> None:
    op.execute(
        feedback.update().where(feedback.c.kind.in_(["skipped", "mobility"])).values(kind="session")
    )
