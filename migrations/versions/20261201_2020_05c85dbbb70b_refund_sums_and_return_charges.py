"""refund sums per payment and clerk day; return charges on bank lines; expense accounts

Revision ID: 05c85dbbb70b
Revises: a0f135826dc3
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.kernel.schema_changes import replace_enum_check

revision: str = "05c85dbbb70b"
down_revision: str | None = "a0f135826dc3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the migration must not change when the enum in the code grows.
ACCOUNT_KINDS = ["receivable", "credit", "revenue", "bank", "clearing", "suspense", "expense"]


def upgrade() -> None:
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("approval_reason", sa.String(length=300), nullable=True))
    # Existing refunds count on the (UTC) day they were requested.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE refund SET requested_on = CAST(requested_at AT TIME ZONE 'UTC' AS DATE)")
    else:
        op.execute("UPDATE refund SET requested_on = date(requested_at)")
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.alter_column("requested_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            "ix_refund_requester_day",
            ["municipality_id", "requested_by", "requested_on"],
            unique=False,
        )
        batch_op.create_index("ix_refund_payment", ["payment_id"], unique=False)

    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_amount_cents", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("charges_cents", sa.Integer(), nullable=True))

    replace_enum_check("ledger_account", "account_kind", "kind", ACCOUNT_KINDS)


def downgrade() -> None:
    replace_enum_check(
        "ledger_account", "account_kind", "kind", [k for k in ACCOUNT_KINDS if k != "expense"]
    )
    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.drop_column("charges_cents")
        batch_op.drop_column("original_amount_cents")
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_payment")
        batch_op.drop_index("ix_refund_requester_day")
        batch_op.drop_column("approval_reason")
        batch_op.drop_column("requested_on")
