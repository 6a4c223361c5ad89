"""sepa_item: a claim is in one collection at a time, and may be collected in parts (instalments)

The unique index on collecting items covered credited items too, so a claim could be collected
only once. An instalment plan's claim is collected instalment by instalment
(core.dunning.instalment_debits); the guard now holds for items in collection (handed to the
bank, not yet credited or returned): never two collections of a claim at once.

The instalment service's review criterion "mandate" is gone (a mandate no longer collects a
plan's claims in full): its rows are removed so the back office lists no switch without effect.

Revision ID: 95088919e51c
Revises: 4c1e7a2b9d30
Create Date: 2026-12-02 10:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "95088919e51c"
down_revision: str | None = "4c1e7a2b9d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_COLLECTION = "status = 'in_collection'"
COLLECTING_OR_CREDITED = "status IN ('in_collection', 'credited')"


def _recreate(where: str) -> None:
    with op.batch_alter_table("sepa_item", schema=None) as batch_op:
        batch_op.drop_index("uq_sepa_item_claim_collecting")
        batch_op.create_index(
            "uq_sepa_item_claim_collecting",
            ["claim_id"],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def upgrade() -> None:
    _recreate(IN_COLLECTION)
    op.execute(
        "DELETE FROM review_criterion WHERE service = 'instalment_plan' AND code = 'mandate'"
    )


def downgrade() -> None:
    # Fails where a claim was collected in parts: those rows must be resolved first. The
    # "mandate" criterion comes back by itself on first use of the older code.
    _recreate(COLLECTING_OR_CREDITED)
