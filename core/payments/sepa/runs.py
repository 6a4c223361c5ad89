"""Direct-debit runs (Lastschrifteinzug) and the "in collection" state.

The run (:func:`create_run`): every due open item with an active, unexpired mandate and a
pre-notification of the same amount whose date has come goes into one ``pain.008.001.08`` file
(core.payments.sepa.pain008). Sequence type RCUR for all (FRST is optional since the 2016
rulebook). Each item is booked at once as paid "in collection": the payment moves the claim's
open amount to the clearing account 1820, so dunning and the next run leave it alone.

The bank statement (core.payments.bank) then clears 1820 (matched by the EndToEndId written
here, or by the batch's PmtInfId); a return (R-transaction) reverses the payment and re-opens
the claim."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import NotFound, ValidationError
from core.kernel.gc_pause import with_fewer_collections
from core.ledger.balances import open_amounts
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments import reservations
from core.payments.collection_limits import capped, limits_on
from core.payments.sepa.bank_days import check_bank_day
from core.payments.sepa.bulk_run import book_in_bulk
from core.payments.sepa.collectable import collectable
from core.payments.sepa.due import (
    DueItem,
    chunks,
    due_items,
    matching_prenotification,
    unused_prenotifications,
)
from core.payments.sepa.mandates import expire_mandate
from core.payments.sepa.models import (
    DirectDebitItem,
    DirectDebitRun,
    ItemStatus,
    Mandate,
    MandateStatus,
    PreNotification,
)
from core.payments.sepa.pain008 import PAIN_008, Message, pain008
from core.payments.sepa.rules import SepaRules, rules_on
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, reserve_numbers, serialize

CLEARING_ACCOUNT = "1820"  # Lastschriften im Einzug


@dataclass(frozen=True)
class Collected:
    item: DirectDebitItem
    collection_date: date

    @property
    def settled(self) -> bool:
        """Handed to the bank or credited by it (not returned or rejected)."""
        return self.item.status in (ItemStatus.IN_COLLECTION, ItemStatus.CREDITED)


def collections_by_claim(session: Session, person: Person) -> dict[int, Collected]:
    """The person's latest direct debit per claim (for "eingezogen am …" in the account)."""
    rows = session.execute(
        select(DirectDebitItem, DirectDebitRun.collection_date)
        .join(DirectDebitRun, DirectDebitRun.id == DirectDebitItem.run_id)
        .where(
            DirectDebitItem.person_id == person.id,
            DirectDebitItem.municipality_id == person.municipality_id,
        )
        .order_by(DirectDebitItem.id)
    )
    return {item.claim_id: Collected(item, day) for item, day in rows}


@dataclass
class RunResult:
    run: DirectDebitRun | None
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.run.count if self.run else 0

    @property
    def total_cents(self) -> int:
        return self.run.total_cents if self.run else 0


SKIP_LABELS = {
    "not_prenotified": "ohne gültige Vorabankündigung",
    "mandate_expired": "Mandat erloschen (36 Monate ohne Einzug)",
    "card_payment_running": "Kartenzahlung läuft gerade (beim nächsten Einzug wieder dabei)",
    "still_in_collection": "vorige Rate noch im Einzug (beim nächsten Einzug wieder dabei)",
}


def _not_held_by_card(
    session: Session,
    municipality_id: int,
    items: list[DueItem],
    skipped: dict[str, int],
    collection_date: date,
) -> list[DueItem]:
    """The items no card payment holds, with their open amounts as they are under lock.

    A claim that a card attempt has reserved (core.payments.reservations; also past its hold
    time, until the attempt is closed: its card can still be charged) is not collected now —
    debiting it as well could charge the citizen twice. Refusing or cancelling the card
    instead cannot protect them: the payer may be in the middle of 3-D Secure and the
    provider may already have charged. Skipping is within the pre-notification rules: the
    item keeps its unused pre-notification, which a later run may use (collection on or
    after the announced day, :func:`~core.payments.sepa.due.matching_prenotification`); if the
    card succeeds, it is no longer open.

    The claims are locked first (in id order, as ``checkout.start`` and ``settlement.settle``
    lock them), so no attempt starts or is booked while the run decides; the open amounts are
    read again under the lock, so an item paid by card a moment ago is not collected (and so
    are the limits of core.payments.collection_limits, e.g. an instalment plan's)."""
    held = reservations.lock_and_find_held(session, municipality_id, [i.claim.id for i in items])
    claims = [i.claim for i in items]
    open_now: dict[int, int] = {}
    for part in chunks(claims):
        open_now.update(open_amounts(session, part))
    limits = limits_on(session, municipality_id, collection_date)
    in_collection = _in_collection(session, [i.claim.id for i in items])
    kept = []
    for item in items:
        amount = capped(item.claim.id, open_now.get(item.claim.id, 0), limits)
        if item.claim.id in held:
            skipped["card_payment_running"] += 1
        elif item.claim.id in in_collection:  # collected in parts: the last is with the bank
            skipped["still_in_collection"] += 1
        elif amount > 0:  # else paid meanwhile: nothing left to collect
            kept.append(DueItem(item.claim, item.mandate, amount))
    return kept


def _in_collection(session: Session, claim_ids: list[int]) -> set[int]:
    return {
        claim_id
        for part in chunks(claim_ids)
        for claim_id in session.scalars(
            select(DirectDebitItem.claim_id).where(
                DirectDebitItem.claim_id.in_(part),
                DirectDebitItem.status == ItemStatus.IN_COLLECTION,
            )
        )
    }


def _collectable(
    session: Session,
    items: list[DueItem],
    rules: SepaRules,
    collection_date: date,
    skipped: dict[str, int],
    actor: str,
) -> list[tuple[DueItem, PreNotification]]:
    """The items to collect, each with the pre-notification it uses; a mandate that has lapsed
    by the collection day is expired on the way."""
    announced = unused_prenotifications(session, [i.claim.id for i in items])
    chosen: list[tuple[DueItem, PreNotification]] = []
    for item in items:
        if (
            item.mandate.status is MandateStatus.ACTIVE
            and collection_date >= item.mandate.lapses_on(rules)
        ):
            expire_mandate(session, item.mandate, rules, actor=actor)
        if item.mandate.status is not MandateStatus.ACTIVE:
            skipped["mandate_expired"] += 1
            continue
        pn = matching_prenotification(announced[item.claim.id], item, collection_date)
        if pn is None:
            skipped["not_prenotified"] += 1
            continue
        announced[item.claim.id].remove(pn)
        chosen.append((item, pn))
    return chosen


def _book_in_collection(
    session: Session,
    municipality: Municipality,
    run: DirectDebitRun,
    chosen: list[tuple[DueItem, PreNotification]],
    *,
    as_of: date,
    actor: str,
) -> list[tuple[DirectDebitItem, Claim, Mandate]]:
    """Each item booked as paid into clearing (1820) and recorded with its EndToEndId; its
    pre-notification is used up."""
    collection_date = run.collection_date
    first = reserve_numbers(session, municipality.id, "sepa_item", len(chosen)).start
    persons = {
        p.id: p
        for chunk in chunks(sorted({i.claim.person_id for i, _ in chosen}))
        for p in session.scalars(select(Person).where(Person.id.in_(chunk)))
    }
    debits = []
    for n, (item, _pn) in enumerate(chosen):
        claim, mandate = item.claim, item.mandate
        end_to_end = f"{claim.kassenzeichen}-{first + n}"
        payment = record_payment(
            session,
            person=persons[claim.person_id],
            amount_cents=item.open_cents,
            received_on=collection_date,
            channel=PaymentChannel.DIRECT_DEBIT,
            as_of=as_of,
            actor=actor,
            reference_text=f"Lastschrift {end_to_end}",
            claim_ids=[claim.id],
            external_ref=end_to_end,
            cash_account=CLEARING_ACCOUNT,
        )
        debit = DirectDebitItem(
            municipality_id=municipality.id,
            run_id=run.id,
            mandate_id=mandate.id,
            person_id=claim.person_id,
            claim_id=claim.id,
            amount_cents=item.open_cents,
            end_to_end_id=end_to_end,
            payment_id=payment.id,
        )
        session.add(debit)
        debits.append((debit, claim, mandate))
        mandate.last_collected_on = collection_date
    session.flush()
    for (debit, _, _), (_, pn) in zip(debits, chosen, strict=True):
        pn.used_by_item_id = debit.id
    return debits


def _attach_file(
    municipality: Municipality,
    run: DirectDebitRun,
    debits: list[tuple[DirectDebitItem, Claim, Mandate]],
) -> None:
    """The run's pain.008 file (sepaxml), with the message and batch ids the bank statement
    names."""
    xml = pain008(municipality, run, debits)
    root = etree.fromstring(xml)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{PAIN_008}"}
    _set_file(
        municipality,
        run,
        Message(
            xml,
            root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=ns) or "",
            root.findtext("p:CstmrDrctDbtInitn/p:PmtInf/p:PmtInfId", namespaces=ns) or "",
        ),
    )


def _set_file(municipality: Municipality, run: DirectDebitRun, message: Message) -> None:
    run.message_id, run.payment_info_id = message.message_id, message.payment_info_id
    run.xml = message.xml
    run.filename = (
        f"Lastschriften-{municipality.slug}-{run.collection_date.isoformat()}-{run.id}.xml"
    )


@with_fewer_collections
def create_run(
    session: Session,
    municipality: Municipality,
    *,
    collection_date: date,
    as_of: date,
    actor: str,
    bulk: bool = True,
) -> RunResult:
    """Collect every due, announced item covered by an active mandate (see module docstring),
    except one a card payment holds right now (:func:`_not_held_by_card`): it stays for a
    later run.

    ``bulk`` (the default): all items read in a few statements and booked in chunks
    (core.payments.sepa.collectable, bulk_run) with the pain.008 written in one piece;
    ``bulk=False`` books item by item through record_payment and sepaxml — the same rows and
    the same file, kept as the reference the bulk path is tested against."""
    if collection_date <= as_of:
        raise ValidationError("Der Einzugstag muss nach dem heutigen Tag liegen (D-1).")
    check_bank_day(collection_date)
    # Two clerks starting a run at once must not both collect the same item.
    serialize(session, municipality.id, "sepa_run")
    rules = rules_on(session, municipality.id, as_of)
    skipped: dict[str, int] = defaultdict(int)
    if bulk:
        rows = collectable(session, municipality.id, collection_date, rules, skipped, actor)
        amounts = [c.open_cents for c in rows]
    else:
        due = due_items(session, municipality, collection_date)
        items = _not_held_by_card(session, municipality.id, due, skipped, collection_date)
        chosen = _collectable(session, items, rules, collection_date, skipped, actor)
        amounts = [i.open_cents for i, _ in chosen]
    if not amounts:
        return RunResult(None, dict(skipped))
    run = DirectDebitRun(
        municipality_id=municipality.id,
        collection_date=collection_date,
        message_id="",
        payment_info_id="",
        count=len(amounts),
        total_cents=sum(amounts),
        filename="",
        xml=b"",
        created_by=actor,
    )
    session.add(run)
    session.flush()
    if bulk:
        message = book_in_bulk(
            session, municipality, run, rows, cash_account=CLEARING_ACCOUNT, actor=actor
        )
        _set_file(municipality, run, message)
    else:
        debits = _book_in_collection(session, municipality, run, chosen, as_of=as_of, actor=actor)
        _attach_file(municipality, run, debits)
    session.flush()
    _audit_run(session, run, dict(skipped), actor)
    return RunResult(run, dict(skipped))


def _audit_run(session: Session, run: DirectDebitRun, skipped: dict[str, int], actor: str) -> None:
    audit.record(
        session,
        actor=actor,
        action="sepa.run_created",
        obj=run,
        municipality_id=run.municipality_id,
        after={
            "collection_date": run.collection_date.isoformat(),
            "count": run.count,
            "total_cents": run.total_cents,
            "message_id": run.message_id,
            "skipped": skipped,
        },
    )


def get_run(session: Session, municipality_id: int, run_id: int) -> DirectDebitRun:
    run = session.scalars(
        select(DirectDebitRun).where(
            DirectDebitRun.id == run_id, DirectDebitRun.municipality_id == municipality_id
        )
    ).first()
    if run is None:
        raise NotFound("Dieser Lastschriftlauf wurde nicht gefunden.")
    return run


def runs_of(session: Session, municipality_id: int, limit: int = 50) -> list[DirectDebitRun]:
    return list(
        session.scalars(
            select(DirectDebitRun)
            .where(DirectDebitRun.municipality_id == municipality_id)
            .order_by(DirectDebitRun.id.desc())
            .limit(limit)
        )
    )


def items_of(session: Session, run: DirectDebitRun) -> list[DirectDebitItem]:
    return list(
        session.scalars(
            select(DirectDebitItem)
            .where(DirectDebitItem.run_id == run.id)
            .order_by(DirectDebitItem.id)
        )
    )
