"""Online payment of open items: choosing the items and starting an attempt with the provider.

A citizen pays chosen open items from the account, or the items of a Kassenzeichen from the QR
code on a paper notice. Each try is a ``PaymentAttempt`` bound to one provider payment; it is
booked when the provider says it succeeded — by the browser returning, by a webhook, or by the
clean-up job, whichever comes first — and only once: the attempt row is locked, and the ledger's
payment is unique per provider reference (``core.ledger.receipts.record_payment``); that
booking is core.payments.card.settlement.

A claim is charged by one attempt at a time: an attempt reserves the open amounts it covers
(core.payments.reservations), and a surplus the provider still reports goes back to the card
(card/surplus.py), never to the person's other items.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import NotFound, ValidationError
from core.ledger.allocation import OpenItem, allocate
from core.ledger.balances import claim_balances
from core.ledger.kinds import KINDS
from core.ledger.models import Claim
from core.payments import reservations
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.card.provider import PaymentProvider, ProviderError
from core.payments.card.settlement import close_attempt
from core.payments.sepa.debit_outlook import refuse_collected
from core.tenancy.municipalities import Municipality


def payable_claims(
    session: Session,
    municipality_id: int,
    *,
    person_id: int | None = None,
    kassenzeichen: str | None = None,
    claim_ids: list[int] | None = None,
) -> list[tuple[Claim, int]]:
    """Open, not cancelled claims (with their open amount) of a person or a Kassenzeichen."""
    return with_open_amounts(
        session,
        chosen_claims(
            session,
            municipality_id,
            person_id=person_id,
            kassenzeichen=kassenzeichen,
            claim_ids=claim_ids,
        ),
    )


def with_open_amounts(session: Session, claims: list[Claim]) -> list[tuple[Claim, int]]:
    balances = claim_balances(session, claims)
    return [(c, balances[c.id].open_cents) for c in claims if balances[c.id].open_cents > 0]


def chosen_claims(
    session: Session,
    municipality_id: int,
    *,
    person_id: int | None = None,
    kassenzeichen: str | None = None,
    claim_ids: list[int] | None = None,
) -> list[Claim]:
    """Not cancelled claims of a person or a Kassenzeichen, open or not."""
    stmt = select(Claim).where(
        Claim.municipality_id == municipality_id, Claim.cancelled_by_entry_id.is_(None)
    )
    if person_id is not None:
        stmt = stmt.where(Claim.person_id == person_id)
    if kassenzeichen is not None:
        stmt = stmt.where(Claim.kassenzeichen == kassenzeichen)
    if claim_ids is not None:
        stmt = stmt.where(Claim.id.in_(claim_ids))
    return list(session.scalars(stmt.order_by(Claim.due_date, Claim.id)))


def _payable(
    session: Session,
    municipality_id: int,
    person_id: int | None,
    kassenzeichen: str | None,
    claim_ids: list[int],
) -> tuple[list[tuple[Claim, int]], int]:
    """The chosen claims with their open amounts, and the one person who pays them."""
    chosen = chosen_claims(
        session,
        municipality_id,
        person_id=person_id,
        kassenzeichen=kassenzeichen,
        claim_ids=claim_ids,
    )
    # An item a mandate collects (announced, or with the bank) is never also charged by card.
    refuse_collected(session, chosen, as_of=clock.today())
    items = with_open_amounts(session, chosen)
    if {c.id for c, _ in items} != set(claim_ids):
        raise ValidationError("Mindestens einer der gewählten Beträge ist nicht mehr offen.")
    payers = {c.person_id for c, _ in items}
    if len(payers) != 1:
        raise ValidationError("Bitte bezahlen Sie die Beträge einzeln.")
    return items, payers.pop()


def _create_intent(
    provider: PaymentProvider,
    municipality: Municipality,
    attempt: PaymentAttempt,
    items: list[tuple[Claim, int]],
) -> None:
    """The provider payment of the attempt (idempotent per attempt)."""
    references = sorted({c.kassenzeichen for c, _ in items})
    intent = provider.create_intent(
        amount_cents=attempt.amount_cents,
        currency="EUR",
        idempotency_key=f"openkasse-attempt-{attempt.id}",
        description=f"{municipality.cash_office_name}, Kassenzeichen {', '.join(references)}",
        metadata={"attempt": str(attempt.id), "municipality": municipality.slug},
    )
    attempt.provider_ref, attempt.client_secret = intent.ref, intent.client_secret


def part_of(
    items: list[tuple[Claim, int]], amount_cents: int | None, as_of: date
) -> list[tuple[Claim, int]]:
    """What of the claims a payment of ``amount_cents`` settles, in the order the ledger
    allocates it to them (core.ledger.allocation); all of them in full when None. Refuses
    (German) an amount that is not positive or more than is open: a part never exceeds the
    open amount."""
    if amount_cents is None:
        return items
    total = sum(open_ for _, open_ in items)
    if isinstance(amount_cents, bool) or not 0 < amount_cents <= total:
        raise ValidationError("Der Betrag ist höher als noch offen ist oder nicht positiv.")
    by_id = {c.id: c for c, _ in items}
    allocation = allocate(
        amount_cents,
        [OpenItem(c.id, KINDS[c.kind].group, c.due_date, open_) for c, open_ in items],
        as_of=as_of,
        designated=list(by_id),
        only_designated=True,
    )
    return [(by_id[claim_id], cents) for claim_id, cents in allocation.parts if cents > 0]


def start(
    session: Session,
    provider: PaymentProvider,
    *,
    municipality: Municipality,
    person_id: int | None,
    claim_ids: list[int],
    origin: str,
    actor: str,
    kassenzeichen: str | None = None,
    hold: timedelta = reservations.DEFAULT_HOLD,
    amount_cents: int | None = None,
) -> PaymentAttempt:
    """An attempt for the open amount of the chosen claims (or ``amount_cents`` of it, e.g.
    an instalment, covering and reserving only the claims it settles: :func:`part_of`),
    reserved for ``hold``, and its provider payment. Raises ``AttemptInProgress`` while
    another attempt holds a chosen claim, ``CollectedByDebit`` for one a direct debit collects.
    ``person_id`` limits the claims to the logged-in person, a notice link to its
    Kassenzeichen. The provider is called before the caller commits: if that commit fails,
    the provider payment stays unused and the clean-up job cancels it."""
    if not claim_ids:
        raise ValidationError("Bitte wählen Sie mindestens einen offenen Betrag aus.")
    now = clock.now()
    # Lock first, then read what is open and who holds it: all inside this transaction.
    reservations.lock_claims(session, municipality.id, claim_ids)
    _end_expired_holds(session, provider, claim_ids, now=now)
    items, payer = _payable(session, municipality.id, person_id, kassenzeichen, claim_ids)
    items = part_of(items, amount_cents, clock.today())
    attempt = PaymentAttempt(
        municipality_id=municipality.id,
        person_id=payer,
        origin=origin,
        claim_ids=sorted(c.id for c, _ in items),
        amount_cents=sum(part for _, part in items),
        currency="EUR",
        provider=provider.name,
        status=AttemptStatus.OPEN,
        created_at=now,
    )
    session.add(attempt)
    session.flush()
    reservations.reserve(
        session,
        municipality_id=municipality.id,
        attempt_id=attempt.id,
        items=items,
        now=now,
        hold=hold,
    )
    _create_intent(provider, municipality, attempt, items)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.started",
        obj=attempt,
        municipality_id=municipality.id,
        after={"amount_cents": attempt.amount_cents, "claims": attempt.claim_ids, "origin": origin},
    )
    return attempt


def _end_expired_holds(
    session: Session, provider: PaymentProvider, claim_ids: list[int], *, now: datetime
) -> None:
    """Refuse while another attempt holds one of the claims; one whose hold has expired is
    cancelled at the provider first (or booked, if it succeeded after all)."""
    for held in reservations.active(session, claim_ids):
        if held.expires_at > now:
            raise reservations.AttemptInProgress(held.attempt_id, held.expires_at)
        other = session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.id == held.attempt_id)
            .with_for_update(skip_locked=True)  # being booked right now: do not wait for it
        ).first()
        if other is None:
            raise reservations.AttemptInProgress(held.attempt_id, held.expires_at)
        close_attempt(session, provider, other, actor="job:expiry", now=now, as_of=clock.today())


def renew_intent(
    session: Session, provider: PaymentProvider, attempt: PaymentAttempt, *, actor: str
) -> None:
    """After a declined card: a fresh provider payment for the same attempt (the declined one
    cannot be retried everywhere), so the payer can try another card on the same page."""
    old = attempt.provider_ref
    if old:
        # a declined payment that cannot be cancelled can never succeed either
        with contextlib.suppress(ProviderError):
            provider.cancel_intent(old)
    intent = provider.create_intent(
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        idempotency_key=f"openkasse-attempt-{attempt.id}-after-{old}",
        description=f"Zahlungsvorgang {attempt.id}",
        metadata={
            "attempt": str(attempt.id),
            "municipality": session.get_one(Municipality, attempt.municipality_id).slug,
        },
    )
    attempt.provider_ref, attempt.client_secret = intent.ref, intent.client_secret
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.renewed",
        obj=attempt,
        municipality_id=attempt.municipality_id,
        before={"provider_ref": old},
        after={"provider_ref": intent.ref},
    )
    session.flush()


def get_attempt(
    session: Session, municipality_id: int, attempt_id: int, *, lock: bool = False
) -> PaymentAttempt:
    stmt = select(PaymentAttempt).where(
        PaymentAttempt.id == attempt_id, PaymentAttempt.municipality_id == municipality_id
    )
    attempt = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if attempt is None:
        raise NotFound("Diese Zahlung wurde nicht gefunden.")
    return attempt
