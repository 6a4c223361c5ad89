"""What a person's account shows (Kontoauszug): their claims with balances, open items, journal
entries and payments, always within the person's own municipality; and whose account a
Kassenzeichen names. Read-only."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.kernel.references import is_valid_kassenzeichen, is_valid_rf, normalize_kassenzeichen
from core.ledger.allocation import OpenItem
from core.ledger.balances import ClaimBalance, claim_totals
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim, JournalEntry, Payment, TaxAccount
from core.persons.models import Person


class ClaimView:
    """A claim with its balance. Plain attributes, computed once: an account page reads each
    of them several times per item (a property would run every time)."""

    __slots__ = (
        "assessed_cents",
        "balance",
        "cancelled",
        "claim",
        "label",
        "open_cents",
        "paid_cents",
    )

    def __init__(self, claim: Claim, balance: ClaimBalance) -> None:
        self.claim = claim
        self.balance = balance
        self.open_cents = balance.open_cents
        self.assessed_cents = balance.assessed_cents
        self.paid_cents = balance.paid_cents
        self.cancelled = claim.cancelled_by_entry_id is not None
        self.label = KINDS[claim.kind].label


def _with_balances(*columns: Any) -> Any:
    """``columns`` of the person's claims (bound: person_id, municipality_id), then each claim's
    assessed and open cents, in order of due date: the statement of claims_of and claim_rows_of."""
    mine = (
        Claim.person_id == bindparam("person_id"),
        Claim.municipality_id == bindparam("municipality_id"),
    )
    totals = claim_totals(select(Claim.id).where(*mine))
    return (
        select(*columns, func.coalesce(totals.c.assessed, 0), func.coalesce(totals.c.open, 0))
        .outerjoin(totals, totals.c.claim_id == Claim.id)
        .where(*mine)
        .order_by(Claim.due_date, Claim.id)
    )


# Built once: every account page asks for it, and building it costs more than answering it.
_CLAIMS_WITH_BALANCES = _with_balances(Claim)


def claims_of(session: Session, person: Person) -> list[ClaimView]:
    """The person's claims in order of due date, each with its balance: one statement."""
    rows = session.execute(
        _CLAIMS_WITH_BALANCES,
        {"person_id": person.id, "municipality_id": person.municipality_id},
    )
    return [ClaimView(c, ClaimBalance(int(a), int(o))) for c, a, o in rows]


class ClaimRow(NamedTuple):
    """A claim as the account page shows it, with its balance: plain columns, no ORM entity
    (loading 40 entities costs more than the page's statement itself)."""

    id: int
    kind: ClaimKind
    description: str
    period_start: date | None
    period_end: date | None
    amount_cents: int
    due_date: date
    kassenzeichen: str
    cancelled: bool
    assessed_cents: int
    open_cents: int


_CLAIM_ROWS = _with_balances(
    Claim.id,
    Claim.kind,
    Claim.description,
    Claim.period_start,
    Claim.period_end,
    Claim.amount_cents,
    Claim.due_date,
    Claim.kassenzeichen,
    Claim.cancelled_by_entry_id.is_not(None),
)


def claim_rows_of(session: Session, person: Person) -> list[ClaimRow]:
    """What :func:`claims_of` answers, as plain rows (:class:`ClaimRow`): one statement."""
    rows = session.execute(
        _CLAIM_ROWS, {"person_id": person.id, "municipality_id": person.municipality_id}
    )
    return [ClaimRow._make((*r[:8], bool(r[8]), int(r[9]), int(r[10]))) for r in rows]


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


def persons_by_kassenzeichen(session: Session, municipality_id: int, query: str) -> set[int] | None:
    """The persons a Kassenzeichen (as printed, with or without spaces) or its RF reference
    names, through their tax accounts or claims; None when the query is neither."""
    compact = re.sub(r"\s", "", query).upper()
    kassenzeichen = normalize_kassenzeichen(query)
    if is_valid_rf(compact) and is_valid_kassenzeichen(compact[4:]):
        kassenzeichen = compact[4:]
    if not is_valid_kassenzeichen(kassenzeichen):
        return None
    return set(
        session.scalars(
            select(TaxAccount.person_id).where(
                TaxAccount.municipality_id == municipality_id,
                TaxAccount.kassenzeichen == kassenzeichen,
            )
        )
    ) | set(
        session.scalars(
            select(Claim.person_id).where(
                Claim.municipality_id == municipality_id,
                Claim.kassenzeichen == kassenzeichen,
            )
        )
    )
