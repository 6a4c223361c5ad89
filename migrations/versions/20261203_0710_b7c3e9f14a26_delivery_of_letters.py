"""delivery of letters: a delivery record for an archived letter (an objection decision) as for a
notice: ``document_id`` beside ``notice_id``, exactly one of them set (core.delivery)

Revision ID: b7c3e9f14a26
Revises: d3f8a1c5e720
Create Date: 2026-12-03 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c3e9f14a26"
down_revision: str | None = "d3f8a1c5e720"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.Integer(), nullable=True))
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_document_id_document"),
            "document",
            ["document_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_delivery_document_id"), ["document_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_delivery_notice_or_letter"),
            "(notice_id IS NULL) <> (document_id IS NULL)",
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery_dispatch WHERE delivery_id IN "
               "(SELECT id FROM delivery WHERE document_id IS NOT NULL)")  # fmt: skip
    op.execute("DELETE FROM delivery WHERE document_id IS NOT NULL")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_delivery_notice_or_letter"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_delivery_document_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_delivery_document_id_document"), type_="foreignkey")
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("document_id")
