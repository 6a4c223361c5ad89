"""The payment rows of a notice: what stands per due date after the notice, what of it was
already paid when the notice was issued, and what is still open.

A notice must say what is true: what is assessed, what was already assessed and paid, what
remains (a final payment or a credit), and as direct-debit pre-notification only the amounts
still to be collected. The rows mirror :func:`core.levies.booking.book` exactly: claims
kept stand at their own due dates, a reduction lowers the newest claims of a key first (what
had been paid beyond the new amount becomes credit, :func:`core.ledger.claims.reduce_claim`),
an increase is a new claim at the target's due date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.ledger.balances import ClaimBalance, claim_balances
from core.ledger.models import Claim
from core.levies import prenotification
from core.levies.booking import Target
from core.notices.records import Notice


@dataclass(frozen=True)
class Row:
    due_date: date
    label: str
    amount_cents: int  # what stands for this due date after the notice
    paid_cents: int  # of it, paid (or in collection) when the notice is issued

    @property
    def open_cents(self) -> int:
        return self.amount_cents - self.paid_cents

    def as_data(self) -> dict[str, Any]:
        return {
            "due_date": self.due_date.isoformat(),
            "label": self.label,
            "amount_cents": self.amount_cents,
            "paid_cents": self.paid_cents,
        }


@dataclass(frozen=True)
class Schedule:
    rows: tuple[Row, ...]
    overpaid_cents: int  # paid beyond what stands now: becomes credit

    def as_data(self) -> list[dict[str, Any]]:
        return [row.as_data() for row in self.rows]


def schedule(
    targets: Sequence[Target],
    claims_by_key: Mapping[str, Sequence[Claim]],
    balances: Mapping[int, ClaimBalance],
) -> Schedule:
    """The rows of ``targets`` given the claims booked per key and their balances now (pure).
    Rows with the same due date and label are added up (e.g. the instalments of several
    properties)."""
    by_key = {t.key: t for t in targets}
    rows: list[Row] = []
    overpaid = 0
    for key in sorted(set(by_key) | set(claims_by_key)):
        target = by_key.get(key)
        claims = [c for c in claims_by_key.get(key, ()) if c.id in balances]
        label = _label(target, claims)
        stands = [(c, balances[c.id].assessed_cents, balances[c.id].paid_cents) for c in claims]
        before = sum(assessed for _, assessed, _ in stands)
        after = target.amount_cents if target else 0
        reduce_by = max(0, before - after)
        more = f"{label}, Nachforderung"  # a key's later claims (as booking.book names them)
        kept: list[Row] = []
        for i, (claim, assessed, paid) in reversed(list(enumerate(stands))):  # newest first
            part = min(assessed, reduce_by)
            reduce_by -= part
            left = assessed - part
            overpaid += max(0, paid - left)
            if left:
                kept.append(Row(claim.due_date, more if i else label, left, min(paid, left)))
        rows.extend(reversed(kept))
        if target is not None and after > before:
            rows.append(Row(target.due_date, more if stands else label, after - before, 0))
    return Schedule(_merged(rows), overpaid)


def balances_of(
    session: Session, claims_by_key: Mapping[str, Sequence[Claim]]
) -> dict[int, ClaimBalance]:
    """What stands and what is paid of the claims booked so far, as of now (a payment or an
    offset credit may have come in since a run's chunk was read)."""
    return claim_balances(session, [c for claims in claims_by_key.values() for c in claims])


Booked = tuple[Sequence[Target], Mapping[str, Sequence[Claim]], Sequence[Claim]]


def settle(session: Session, notice: Notice, tables: Mapping[str, Booked]) -> None:
    """Print what stands paid *after* the notice's booking: posting a claim or a reduction
    offsets the person's credit against open items at once (§ 226 AO), so a new instalment may
    already be partly paid, and only the rest is announced for collection. ``tables``: per
    payment table of the snapshot, its targets, the claims booked before and those posted."""
    after: dict[str, dict[str, list[Claim]]] = {}
    for name, (_targets, before, posted) in tables.items():
        by_key = {key: list(claims) for key, claims in before.items()}
        for claim in posted:
            by_key.setdefault(claim.assessment_key or "", []).append(claim)
        after[name] = by_key
    balances = claim_balances(
        session, [c for by_key in after.values() for cs in by_key.values() for c in cs]
    )
    prenotification.replace_rows(
        notice,
        {
            name: schedule(targets, after[name], balances).as_data()
            for name, (targets, _before, _posted) in tables.items()
        },
    )


def _label(target: Target | None, claims: Sequence[Claim]) -> str:
    if target is not None:
        return target.label or target.description
    return claims[0].description if claims else ""


def _merged(rows: list[Row]) -> tuple[Row, ...]:
    merged: dict[tuple[date, str], Row] = {}
    for row in rows:
        key = (row.due_date, row.label)
        if key in merged:
            old = merged[key]
            row = Row(
                row.due_date,
                row.label,
                old.amount_cents + row.amount_cents,
                old.paid_cents + row.paid_cents,
            )
        merged[key] = row
    return tuple(sorted(merged.values(), key=lambda r: (r.due_date, r.label)))
