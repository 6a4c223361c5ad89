"""saml_assertion_seen: the replay cache of SAML assertion IDs (core.identity.saml)

Revision ID: e8b1f4c27d35
Revises: d3f8a1c5e7b2
Create Date: 2026-12-03 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.kernel.db

revision: str = "e8b1f4c27d35"
down_revision: str | None = "d3f8a1c5e7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saml_assertion_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("assertion_id", sa.String(length=200), nullable=False),
        sa.Column("keep_until", core.kernel.db.UTCDateTime(), nullable=False),
        sa.Column("seen_at", core.kernel.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_assertion_seen")),
        sa.UniqueConstraint(
            "issuer", "assertion_id", name=op.f("uq_saml_assertion_seen_issuer_assertion_id")
        ),
    )
    op.create_index(
        op.f("ix_saml_assertion_seen_keep_until"),
        "saml_assertion_seen",
        ["keep_until"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_saml_assertion_seen_keep_until"), table_name="saml_assertion_seen")
    op.drop_table("saml_assertion_seen")
