"""the pages' feedback forms are recognised when sent twice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

A morning check-in whose answer page was reloaded was stored twice, its pain counted twice (a
new user's trial). Each feedback form is drawn with a one-time id; form_sent keeps the ids
taken, one per athlete and form, so a form sent again is answered "saved already".
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_sent",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("athlete_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athlete.id"],
            name=op.f("fk_form_sent_athlete_id_athlete"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_sent")),
        sa.UniqueConstraint("athlete_id", "form_id", name="uq_form_sent_form_id"),
    )
    with op.batch_alter_table("form_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_sent_athlete_id"), ["athlete_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("form_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_sent_athlete_id"))
    op.drop_table("form_sent")
