"""Will this item be collected by direct debit, and on which day? The one answer every page
gives (account, pay pages, mandate page, notice link page, back office), so none of them says
"wird am … eingezogen – bitte nicht überweisen" while another already asks to pay.

An open item **will be collected** when a direct-debit run would take it (the same conditions
as :func:`core.payments.sepa.runs.create_run`):

* a pre-notification (Vorabankündigung) for it is unused and still tells the truth: its amount
  is the item's open amount now, and its day has not passed;
* the mandate it names is active — not suspended (e.g. after a return), revoked, replaced or
  expired — and will not have lapsed (SEPA rulebook: 36 months unused, statute data
  ``mandate_lapse_months``) by that day;
* that mandate is still the one that covers the item (a mandate for the item's tax account
  before the general one): a newer mandate needs a new pre-notification.

A card payment is never started for an announced item (:func:`refuse_collected`); a run
leaves out an item a card attempt started before the announcement still holds, and collects
it later under the same pre-notification if the card did not pay it.

An item already handed to the bank is **in collection** (no longer open: the run books it as
paid into the clearing account) until the bank's statement credits it or returns it; a returned
or rejected debit leaves the item open, and payable, again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound, ValidationError
from core.kernel.money import format_euro
from core.ledger.models import Claim, TaxAccount
from core.payments.sepa.mandates import covering
from core.payments.sepa.models import ItemStatus, Mandate, MandateStatus, PreNotification
from core.payments.sepa.prenotifications import prenotifications_of
from core.payments.sepa.rules import rules_on
from core.payments.sepa.runs import collections_by_claim
from core.persons.models import Person


class DebitState(enum.StrEnum):
    ANNOUNCED = "announced"  # open; a run will collect it on the day
    IN_COLLECTION = "in_collection"  # handed to the bank for the day, not yet credited
    CREDITED = "credited"  # collected: the bank credited it


@dataclass(frozen=True)
class DebitOutlook:
    claim_id: int
    state: DebitState
    collection_date: date
    amount_cents: int
    mandate_id: int

    @property
    def will_be_collected(self) -> bool:
        """Open now and announced for collection: nobody should pay it another way."""
        return self.state is DebitState.ANNOUNCED

    @property
    def collected(self) -> bool:
        return self.state is DebitState.CREDITED


def debit_outlook(session: Session, person: Person, *, as_of: date) -> dict[int, DebitOutlook]:
    """Per claim of ``person`` that a direct debit collects, will collect or is collecting:
    its state and day (see the module docstring). A claim not in the answer is to be paid
    by the person."""
    result: dict[int, DebitOutlook] = {}
    for claim_id, collected in collections_by_claim(session, person).items():
        if collected.item.status in (ItemStatus.IN_COLLECTION, ItemStatus.CREDITED):
            state = (
                DebitState.CREDITED
                if collected.item.status is ItemStatus.CREDITED
                else DebitState.IN_COLLECTION
            )
            result[claim_id] = DebitOutlook(
                claim_id,
                state,
                collected.collection_date,
                collected.item.amount_cents,
                collected.item.mandate_id,
            )
    announced: dict[int, DebitOutlook] = {}
    for pn in _valid_announcements(session, person, as_of):
        announced.setdefault(  # the earliest valid day wins
            pn.claim_id,
            DebitOutlook(
                pn.claim_id,
                DebitState.ANNOUNCED,
                pn.collection_date,
                pn.amount_cents,
                pn.mandate_id,
            ),
        )
    for claim_id, outlook in announced.items():
        # a claim collected in parts (an instalment plan's) is announced again for the next
        earlier = result.get(claim_id)
        if earlier is None or earlier.state is DebitState.CREDITED:
            result[claim_id] = outlook
    return result


class CollectedByDebit(ValidationError):
    """A card payment was asked for an item a direct debit collects: paying it by card as
    well would charge the citizen twice."""


def collecting(session: Session, claims: list[Claim], *, as_of: date) -> dict[int, DebitOutlook]:
    """Those of ``claims`` a direct debit will collect (announced and still valid) or is
    collecting (handed to the bank, not yet credited or returned): nobody pays them otherwise."""
    found: dict[int, DebitOutlook] = {}
    for person_id in sorted({c.person_id for c in claims}):
        outlook = debit_outlook(session, session.get_one(Person, person_id), as_of=as_of)
        found.update(
            (c.id, outlook[c.id])
            for c in claims
            if c.person_id == person_id
            and c.id in outlook
            and outlook[c.id].state in (DebitState.ANNOUNCED, DebitState.IN_COLLECTION)
        )
    return found


def refuse_collected(session: Session, claims: list[Claim], *, as_of: date) -> None:
    """Raise ``CollectedByDebit`` for a claim a direct debit collects (:func:`collecting`) —
    the pages do not offer those, so only a crafted request gets this far."""
    collected = collecting(session, claims, as_of=as_of)
    for claim in claims:
        found = collected.get(claim.id)
        if found is None:
            continue
        what = f"Kassenzeichen {claim.kassenzeichen} ({format_euro(found.amount_cents)})"
        if found.state is DebitState.ANNOUNCED:
            raise CollectedByDebit(
                f"{what} wird am {found.collection_date:%d.%m.%Y} per Lastschrift "
                "eingezogen. Bitte bezahlen Sie diesen Betrag nicht zusätzlich mit Karte."
            )
        raise CollectedByDebit(
            f"{what} wird gerade per Lastschrift zum {found.collection_date:%d.%m.%Y} "
            "eingezogen. Bitte bezahlen Sie diesen Betrag nicht zusätzlich mit Karte; "
            "kommt die Lastschrift zurück, ist er wieder hier zu bezahlen."
        )


def _valid_announcements(session: Session, person: Person, as_of: date) -> list[PreNotification]:
    announced = [pn for pn in prenotifications_of(session, person) if pn.collection_date >= as_of]
    if not announced:
        return []
    try:
        rules = rules_on(session, person.municipality_id, as_of)
    except NotFound:  # no direct debit in this municipality (any more)
        return []
    active = {
        m.tax_account_id: m
        for m in session.scalars(
            select(Mandate)
            .where(
                Mandate.person_id == person.id,
                Mandate.municipality_id == person.municipality_id,
                Mandate.status == MandateStatus.ACTIVE,
            )
            .order_by(Mandate.id)
        )
    }
    claims = {
        c.id: c
        for c in session.scalars(
            select(Claim).where(
                Claim.id.in_({pn.claim_id for pn in announced}),
                Claim.cancelled_by_entry_id.is_(None),
            )
        )
    }
    accounts = {
        t.levy: t.id
        for t in session.scalars(select(TaxAccount).where(TaxAccount.person_id == person.id))
    }
    valid = []
    for pn in announced:
        claim = claims.get(pn.claim_id)
        if claim is None:
            continue
        mandate = covering(active, accounts.get(claim.kind))
        if mandate is None or mandate.id != pn.mandate_id:
            continue  # suspended, revoked, replaced, expired, or no longer the covering one
        if pn.collection_date >= mandate.lapses_on(rules):
            continue  # the run of that day would find the mandate lapsed
        valid.append(pn)
    return sorted(valid, key=lambda pn: (pn.collection_date, pn.id))
