"""the dashboard's sign-out ends the coach's sessions on the server too

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Signing out deleted the browser's cookie only: a copy of it signed in for the rest of its 14
days. coach.signed_out_at is when the coach last signed out; a session cookie issued before it
is refused. Null on the rows of 0005: never signed out.
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "coach",
        sa.Column(
            "signed_out_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("coach") as batch:
        batch.drop_column("signed_out_at")
