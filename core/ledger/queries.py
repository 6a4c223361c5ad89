"""What a person's account shows (Kontoauszug): their claims with balances, open items, journal
entries and payments, always within the person's own municipality. Read-only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.allocation import OpenItem
from core.ledger.balances import ClaimBalance, claim_balances
from core.ledger.kinds import KINDS
from core.ledger.models import Claim, JournalEntry, Payment
from core.persons.models import Person


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    balance: ClaimBalance

    @property
    def open_cents(self) -> int:
        return self.balance.open_cents

    @property
    def assessed_cents(self) -> int:
        return self.balance.assessed_cents

    @property
    def paid_cents(self) -> int:
        return self.balance.paid_cents

    @property
    def cancelled(self) -> bool:
        return self.claim.cancelled_by_entry_id is not None

    @property
    def label(self) -> str:
        return KINDS[self.claim.kind].label


def claims_of(session: Session, person: Person) -> list[ClaimView]:
    claims = list(
        session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.municipality_id == person.municipality_id)
            .order_by(Claim.due_date, Claim.id)
        )
    )
    balances = claim_balances(session, claims)
    return [ClaimView(c, balances[c.id]) for c in claims]


def open_items(session: Session, person: Person) -> list[OpenItem]:
    return [
        OpenItem(v.claim.id, KINDS[v.claim.kind].group, v.claim.due_date, v.open_cents)
        for v in claims_of(session, person)
        if v.open_cents > 0 and not v.cancelled
    ]


def entries_of(session: Session, person: Person) -> list[JournalEntry]:
    return list(
        session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.person_id == person.id,
                JournalEntry.municipality_id == person.municipality_id,
            )
            .order_by(JournalEntry.id)
        )
    )


def payments_of(session: Session, person: Person) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(
                Payment.person_id == person.id, Payment.municipality_id == person.municipality_id
            )
            .order_by(Payment.received_on.desc(), Payment.id.desc())
        )
    )
