"""The insolvency block keeps a person's credit from being paid out (core.payments.payouts):
in insolvency proceedings the administrator disposes of the debtor's assets (§ 80 InsO) and
claims are offset or filed, not paid to the debtor."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.dunning.models import BLOCK_REASON_LABELS, BlockReason, DunningBlock
from core.payments.payouts import blocks


@blocks.register
def insolvency_blocks(session: Session, municipality_id: int, day: date) -> dict[int, str]:
    """Persons with an insolvency block (of the person or of any claim) in force on ``day``."""
    rows = session.scalars(
        select(DunningBlock.person_id).where(
            DunningBlock.municipality_id == municipality_id,
            DunningBlock.reason == BlockReason.INSOLVENCY,
            DunningBlock.starts_on <= day,
            or_(DunningBlock.ends_on.is_(None), DunningBlock.ends_on >= day),
        )
    )
    label = BLOCK_REASON_LABELS[BlockReason.INSOLVENCY]
    return {person_id: label for person_id in rows}
