"""What a direct-debit run collects, read in a few statements for all items at once (the bulk
run, core.payments.sepa.bulk_run): the same choice as due.due_items, runs._not_held_by_card and
runs._collectable make item by item, from plain rows instead of ORM objects.

The reading order keeps the guarantees of the one-by-one path: on PostgreSQL the candidate
claims are locked first (in id order, as ``checkout.start`` and ``settlement.settle`` lock
them), so no card attempt starts or is booked while the run decides; then their open amounts
and the card reservations are read under that lock, so an item paid or reserved a moment ago
is not collected; so are the limits of core.payments.collection_limits (an instalment plan's
claims give only the instalments due). A claim already in collection has no open amount: it is
never collected twice (and the database's unique index on collecting items refuses it besides)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import Session

from core.kernel.months import add_months
from core.ledger.balances import claim_totals
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, TaxAccount
from core.payments.collection_limits import capped, limits_on
from core.payments.reservations import ClaimReservation
from core.payments.sepa.mandates import covering, expire_mandate
from core.payments.sepa.models import (
    DirectDebitItem,
    ItemStatus,
    Mandate,
    MandateStatus,
    PreNotification,
)
from core.payments.sepa.rules import SepaRules


@dataclass(frozen=True, slots=True)
class MandateRow:
    id: int
    person_id: int
    tax_account_id: int | None
    reference: str
    account_holder: str
    iban: str
    bic: str | None
    signed_on: date
    last_collected_on: date | None

    def lapses_on(self, rules: SepaRules) -> date:
        """As :meth:`Mandate.lapses_on`."""
        return add_months(self.last_collected_on or self.signed_on, rules.mandate_lapse_months)


@dataclass(frozen=True, slots=True)
class Collectable:
    """One item to collect, with the mandate that pays it and the pre-notification it uses."""

    claim_id: int
    person_id: int
    kind: ClaimKind
    kassenzeichen: str
    description: str
    open_cents: int
    mandate: MandateRow
    prenotification_id: int


def collectable(
    session: Session,
    municipality_id: int,
    collection_date: date,
    rules: SepaRules,
    skipped: dict[str, int],
    actor: str,
) -> list[Collectable]:
    """The items to collect, oldest due first; ``skipped`` counts the others by reason as the
    one-by-one run does. A mandate that has lapsed by the collection day is expired on the way
    (ORM, audited: rare)."""
    session.flush()  # then plain Core reads: no ORM row processing for 100,000s of rows
    db = session.connection()
    candidates = _candidates(municipality_id, collection_date)
    if db.dialect.name != "sqlite":  # SQLite: one writer, the lock is the file's
        db.execute(candidates.order_by(Claim.id).with_for_update(of=Claim)).all()
    mandates = _mandates(db, municipality_id)
    if not mandates:
        return []
    accounts = _tax_accounts(db, municipality_id)
    busy = _busy(db, candidates)
    announced = _announced(db, candidates)
    limits = limits_on(session, municipality_id, collection_date)
    expired: set[int] = set()
    chosen = []
    for claim_id, person_id, kind, kassenzeichen, description, open_cents in _open_claims(
        db, candidates
    ):
        mandate = covering(mandates.get(person_id, {}), accounts.get((person_id, kind)))
        open_cents = capped(claim_id, open_cents, limits)
        if mandate is None or open_cents <= 0:
            continue
        if claim_id in busy:
            skipped[busy[claim_id]] += 1
            continue
        if mandate.id not in expired and collection_date >= mandate.lapses_on(rules):
            expire_mandate(session, session.get_one(Mandate, mandate.id), rules, actor=actor)
            expired.add(mandate.id)
        if mandate.id in expired:
            skipped["mandate_expired"] += 1
            continue
        pn = _matching(announced[claim_id], mandate.id, open_cents, collection_date)
        if pn is None:
            skipped["not_prenotified"] += 1
            continue
        chosen.append(
            Collectable(
                claim_id, person_id, kind, kassenzeichen, description, open_cents, mandate, pn
            )
        )
    return chosen


def _busy(db: Connection, candidates: Select[Any]) -> dict[int, str]:
    """The candidates not to collect now, with the reason (runs.SKIP_LABELS): a card attempt
    holds it, or a part of it is still with the bank (a claim collected in instalments)."""
    busy = dict.fromkeys(
        db.scalars(
            select(DirectDebitItem.claim_id).where(
                DirectDebitItem.claim_id.in_(candidates),
                DirectDebitItem.status == ItemStatus.IN_COLLECTION,
            )
        ),
        "still_in_collection",
    )
    busy.update(
        dict.fromkeys(
            db.scalars(
                select(ClaimReservation.claim_id).where(
                    ClaimReservation.claim_id.in_(candidates),
                    ClaimReservation.released_at.is_(None),
                )
            ),
            "card_payment_running",
        )
    )
    return busy


def _candidates(municipality_id: int, collection_date: date) -> Select[Any]:
    """The ids of the claims due by the collection day of persons with an active mandate."""
    persons = select(Mandate.person_id).where(
        Mandate.municipality_id == municipality_id, Mandate.status == MandateStatus.ACTIVE
    )
    return select(Claim.id).where(
        Claim.municipality_id == municipality_id,
        Claim.person_id.in_(persons),
        Claim.due_date <= collection_date,
        Claim.cancelled_by_entry_id.is_(None),
    )


def _mandates(db: Connection, municipality_id: int) -> dict[int, dict[int | None, MandateRow]]:
    """Active mandates per person by scope, as mandates.active_by_person (the later one wins)."""
    result: dict[int, dict[int | None, MandateRow]] = {}
    for row in db.execute(
        select(
            Mandate.id,
            Mandate.person_id,
            Mandate.tax_account_id,
            Mandate.reference,
            Mandate.account_holder,
            Mandate.iban,
            Mandate.bic,
            Mandate.signed_on,
            Mandate.last_collected_on,
        )
        .where(Mandate.municipality_id == municipality_id, Mandate.status == MandateStatus.ACTIVE)
        .order_by(Mandate.id)
    ):
        mandate = MandateRow(*row)
        result.setdefault(mandate.person_id, {})[mandate.tax_account_id] = mandate
    return result


def _tax_accounts(db: Connection, municipality_id: int) -> dict[tuple[int, ClaimKind], int]:
    persons = select(Mandate.person_id).where(
        Mandate.municipality_id == municipality_id, Mandate.status == MandateStatus.ACTIVE
    )
    return {
        (person_id, levy): account_id
        for account_id, person_id, levy in db.execute(
            select(TaxAccount.id, TaxAccount.person_id, TaxAccount.levy).where(
                TaxAccount.person_id.in_(persons)
            )
        )
    }


def _open_claims(db: Connection, candidates: Select[Any]) -> Any:
    """(id, person, kind, Kassenzeichen, description, open cents) of the candidates with an
    open amount, oldest due first."""
    totals = claim_totals(candidates)
    return db.execute(
        select(
            Claim.id,
            Claim.person_id,
            Claim.kind,
            Claim.kassenzeichen,
            Claim.description,
            totals.c.open,
        )
        .join(totals, totals.c.claim_id == Claim.id)
        .where(totals.c.open > 0)
        .order_by(Claim.due_date, Claim.id)
    ).all()  # read in full: expiring a mandate on the way writes through the same connection


@dataclass(frozen=True, slots=True)
class _Announced:
    id: int
    mandate_id: int
    amount_cents: int
    collection_date: date


def _announced(db: Connection, candidates: Select[Any]) -> dict[int, list[_Announced]]:
    """The unused pre-notifications per claim, as due.unused_prenotifications."""
    result: dict[int, list[_Announced]] = defaultdict(list)
    for pn_id, claim_id, mandate_id, amount, day in db.execute(
        select(
            PreNotification.id,
            PreNotification.claim_id,
            PreNotification.mandate_id,
            PreNotification.amount_cents,
            PreNotification.collection_date,
        )
        .where(PreNotification.claim_id.in_(candidates), PreNotification.used_by_item_id.is_(None))
        .order_by(PreNotification.id)
    ):
        result[claim_id].append(_Announced(pn_id, mandate_id, amount, day))
    return result


def _matching(
    announced: list[_Announced], mandate_id: int, open_cents: int, collection_date: date
) -> int | None:
    """As due.matching_prenotification: same mandate, same amount, announced for this day or
    earlier; the one chosen is used up."""
    for pn in announced:
        if (
            pn.mandate_id == mandate_id
            and pn.amount_cents == open_cents
            and pn.collection_date <= collection_date
        ):
            announced.remove(pn)
            return pn.id
    return None
