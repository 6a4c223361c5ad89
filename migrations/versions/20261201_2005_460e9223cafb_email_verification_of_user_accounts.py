"""e-mail verification of user accounts

Self-registered accounts wait for their owner to follow an e-mailed link; every account that
exists already (staff, demo, citizens registered before) counts as verified since its creation.

Revision ID: 460e9223cafb
Revises: 05113ea7a331
Create Date: 2026-12-01 20:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.kernel.db

revision: str = "460e9223cafb"
down_revision: str | None = "05113ea7a331"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", core.kernel.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE user_account SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("email_verified_at")
