"""identity_provider: company-account providers (Mein Unternehmenskonto) and their org claim

Revision ID: c4a9e2f1b836
Revises: d3b8f5a61c27
Create Date: 2026-12-03 07:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a9e2f1b836"
down_revision: str | None = "d3b8f5a61c27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_provider") as batch:
        batch.add_column(
            sa.Column("company_account", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("org_claim", sa.String(length=120), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_provider") as batch:
        batch.drop_column("org_claim")
        batch.drop_column("company_account")
