"""Allocation of a payment to open items (pure, no database).

§ 225 (1) AO: a payer may say which debt a payment is for; a Kassenzeichen or an explicit
selection counts as that determination and is served first. § 225 (2) AO: the rest settles the
statutory groups in order (kinds.AllocationGroup), within a group the oldest due date first.

Choices where no source fixes the rule (documented here and in README "Ledger"):
* § 225 (2) speaks of debts that are due; items not yet due as of the payment date therefore come
  after all due items, in the same order.
* What is left after the designated items settles the other open items by § 225 (2) before it
  becomes credit (common Kassenpraxis; the citizen owes them anyway).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from core.ledger.kinds import AllocationGroup


@dataclass(frozen=True)
class OpenItem:
    claim_id: int
    group: AllocationGroup
    due_date: date
    open_cents: int


@dataclass
class Allocation:
    parts: list[tuple[int, int]] = field(default_factory=list)  # (claim_id, cents)
    credit_cents: int = 0

    @property
    def allocated_cents(self) -> int:
        return sum(c for _, c in self.parts)


def statutory_order(items: Iterable[OpenItem], as_of: date) -> list[OpenItem]:
    return sorted(items, key=lambda i: (i.due_date > as_of, int(i.group), i.due_date, i.claim_id))


def allocate(
    amount_cents: int,
    items: Iterable[OpenItem],
    *,
    as_of: date,
    designated: Collection[int] = (),
    only_designated: bool = False,
) -> Allocation:
    """Designated claims first, then the rest in statutory order; with ``only_designated``
    nothing goes to other claims (the rest becomes credit)."""
    if amount_cents <= 0:
        raise ValueError("only positive amounts are allocated")
    ordered = statutory_order((i for i in items if i.open_cents > 0), as_of)
    first = [i for i in ordered if i.claim_id in designated]
    rest = [] if only_designated else [i for i in ordered if i.claim_id not in designated]
    result = Allocation()
    remaining = amount_cents
    for item in first + rest:
        if remaining == 0:
            break
        part = min(remaining, item.open_cents)
        result.parts.append((item.claim_id, part))
        remaining -= part
    result.credit_cents = remaining
    return result
