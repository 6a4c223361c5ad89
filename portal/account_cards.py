"""The account page's claim cards (templates/portal/_claim_card.html), each claim's figures
formatted once in Python: a page of 40 cards would otherwise call a macro with five arguments
and a dozen filters per card."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.queries import ClaimRow
from portal.filters import german_date


@dataclass(slots=True, frozen=True)
class Card:
    id: int
    title: str  # the kind's label and the period
    overdue: bool  # open and due before today
    open: bool
    amount: str  # what is open, or for a paid claim what it was
    of_amount: str  # "von …" when part is paid, else ""
    due: str
    kassenzeichen: str
    description: str
    property_tax: bool  # links to the property-tax page
    debit: Any  # core.payments.sepa.debit_outlook.DebitOutlook or None
    dunned: Any  # core.dunning.account.ClaimDunningState or None
    held: Any  # the reasons of the dunning blocks holding the open claim, or None


def cards(
    rows: Iterable[ClaimRow],
    as_of: date,
    debits: Mapping[int, Any],
    dunning: Mapping[int, Any],
    blocked: Mapping[int, Any],
) -> list[Card]:
    found = []
    for row in rows:
        open_cents, amount = row.open_cents, row.amount_cents
        title = KINDS[row.kind].label
        if row.period_start:
            title += f" {german_date(row.period_start)}–{german_date(row.period_end)}"
        found.append(
            Card(
                id=row.id,
                title=title,
                overdue=open_cents > 0 and row.due_date < as_of,
                open=bool(open_cents),
                amount=format_euro(open_cents if open_cents else amount),
                of_amount=format_euro(amount) if open_cents and open_cents != amount else "",
                due=german_date(row.due_date),
                kassenzeichen=format_kassenzeichen(row.kassenzeichen),
                description=row.description,
                property_tax=row.kind is ClaimKind.PROPERTY_TAX,
                debit=debits.get(row.id),
                dunned=dunning.get(row.id),
                held=blocked.get(row.id) if open_cents > 0 else None,
            )
        )
    return found
