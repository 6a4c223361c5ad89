"""claim reservations by payment attempts: one card charge in progress per claim

Revision ID: 05113ea7a331
Revises: f612e87a5a99
Create Date: 2026-12-01 20:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.kernel.db

revision: str = "05113ea7a331"
down_revision: str | None = "f612e87a5a99"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", core.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", core.kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_claim_reservation_amount_positive")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempt.id"],
            name=op.f("fk_claim_reservation_attempt_id_payment_attempt"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
            name=op.f("fk_claim_reservation_claim_id_claim"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_claim_reservation_municipality_id_municipality"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_reservation")),
    )
    with op.batch_alter_table("claim_reservation", schema=None) as batch_op:
        batch_op.create_index("ix_claim_reservation_attempt", ["attempt_id"], unique=False)
        batch_op.create_index(
            "uq_claim_reservation_active",
            ["claim_id"],
            unique=True,
            sqlite_where=sa.text("released_at IS NULL"),
            postgresql_where=sa.text("released_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("claim_reservation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_claim_reservation_active",
            sqlite_where=sa.text("released_at IS NULL"),
            postgresql_where=sa.text("released_at IS NULL"),
        )
        batch_op.drop_index("ix_claim_reservation_attempt")
    op.drop_table("claim_reservation")
