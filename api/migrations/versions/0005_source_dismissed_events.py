"""calendar sources remember the events whose rides the coach deleted

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A ride brought by a calendar source and deleted by the coach came back with the source's next
change (the event was still there). calendar_source.dismissed lists those event UIDs, and a
refresh leaves them out. Null on the rows of 0004: nothing dismissed.
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "calendar_source",
        sa.Column(
            "dismissed",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
            .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("calendar_source") as batch:
        batch.drop_column("dismissed")
