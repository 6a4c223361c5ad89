"""What a direct-debit run may collect: the due open items an active mandate covers (each with
its open amount, or less where core.payments.collection_limits limits it, e.g. an instalment
plan), and the pre-notifications still telling the truth about them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.balances import open_amounts
from core.ledger.models import Claim, TaxAccount
from core.payments.collection_limits import capped, limits_on
from core.payments.sepa.mandates import active_by_person, covering
from core.payments.sepa.models import Mandate, PreNotification
from core.tenancy.municipalities import Municipality

_T = TypeVar("_T")


@dataclass(frozen=True)
class DueItem:
    claim: Claim
    mandate: Mandate
    open_cents: int


def due_items(session: Session, municipality: Municipality, collection_date: date) -> list[DueItem]:
    """Open items due by ``collection_date`` that an active mandate covers (oldest first), with
    what may be collected of each (its open amount, or its limit: collection_limits)."""
    by_person = active_by_person(session, municipality.id)
    if not by_person:
        return []
    person_ids = list(by_person)
    accounts = {
        (t.person_id, t.levy): t.id
        for chunk in chunks(person_ids)
        for t in session.scalars(select(TaxAccount).where(TaxAccount.person_id.in_(chunk)))
    }
    claims = [
        c
        for chunk in chunks(person_ids)
        for c in session.scalars(
            select(Claim)
            .where(
                Claim.municipality_id == municipality.id,
                Claim.person_id.in_(chunk),
                Claim.due_date <= collection_date,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.due_date, Claim.id)
        )
    ]
    balances: dict[int, int] = {}
    for chunk in chunks(claims):
        balances.update(open_amounts(session, chunk))
    limits = limits_on(session, municipality.id, collection_date)
    result = []
    for claim in claims:
        amount = capped(claim.id, balances[claim.id], limits)
        if amount <= 0:
            continue  # paid, already in collection, or not to be collected now
        mandate = covering(by_person[claim.person_id], accounts.get((claim.person_id, claim.kind)))
        if mandate is not None:
            result.append(DueItem(claim, mandate, amount))
    result.sort(key=lambda d: (d.claim.due_date, d.claim.id))
    return result


def chunks(items: list[_T], size: int = 500) -> list[list[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def unused_prenotifications(
    session: Session, claim_ids: list[int]
) -> dict[int, list[PreNotification]]:
    result: dict[int, list[PreNotification]] = defaultdict(list)
    for chunk in chunks(claim_ids):
        for pn in session.scalars(
            select(PreNotification).where(
                PreNotification.claim_id.in_(chunk), PreNotification.used_by_item_id.is_(None)
            )
        ):
            result[pn.claim_id].append(pn)
    return result


def matching_prenotification(
    pns: list[PreNotification], item: DueItem, collection_date: date
) -> PreNotification | None:
    """A pre-notification still telling the truth: same mandate, same amount, announced for
    this day or earlier."""
    for pn in pns:
        if (
            pn.mandate_id == item.mandate.id
            and pn.amount_cents == item.open_cents
            and pn.collection_date <= collection_date
        ):
            return pn
    return None
