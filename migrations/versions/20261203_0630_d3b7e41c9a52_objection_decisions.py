"""objection decisions: objection_decision (core.objections.models: Abhilfe, Zurückweisung,
Rücknahme; four eyes; the letter in the archive)

Revision ID: d3b7e41c9a52
Revises: a5e2c7d91b04
Create Date: 2026-12-03 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.kernel.db

revision: str = "d3b7e41c9a52"
down_revision: str | None = "a5e2c7d91b04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "objection_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "granted_full",
                "granted_partial",
                "rejected",
                "withdrawn",
                name="objection_decision_kind",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "final",
                "discarded",
                name="objection_decision_status",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("before_cents", sa.Integer(), nullable=False),
        sa.Column("after_cents", sa.Integer(), nullable=False),
        sa.Column("refund_cents", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("proposed_by", sa.String(length=60), nullable=False),
        sa.Column("proposed_at", core.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=60), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "after_cents >= 0 AND after_cents <= before_cents",
            name=op.f("ck_objection_decision_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_objection_decision_document_id_document"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_objection_decision_municipality_id_municipality"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["objection_id"],
            ["objection.id"],
            name=op.f("fk_objection_decision_objection_id_objection"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_decision")),
    )
    with op.batch_alter_table("objection_decision", schema=None) as batch_op:
        batch_op.create_index(
            "uq_objection_decision_live",
            ["objection_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'discarded'"),
            postgresql_where=sa.text("status <> 'discarded'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("objection_decision", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_objection_decision_live",
            sqlite_where=sa.text("status <> 'discarded'"),
            postgresql_where=sa.text("status <> 'discarded'"),
        )
    op.drop_table("objection_decision")
