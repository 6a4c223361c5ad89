"""session version on user accounts, rate-limit hits for log-in throttling

Revision ID: a0f135826dc3
Revises: 460e9223cafb
Create Date: 2026-12-01 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0f135826dc3"
down_revision: str | None = "460e9223cafb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "rate_limit_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hit")),
    )
    op.create_index("ix_rate_limit_hit_key_at", "rate_limit_hit", ["key", "at_ms"])
    op.create_index("ix_rate_limit_hit_expires", "rate_limit_hit", ["expires_ms"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hit_expires", table_name="rate_limit_hit")
    op.drop_index("ix_rate_limit_hit_key_at", table_name="rate_limit_hit")
    op.drop_table("rate_limit_hit")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("session_version")
