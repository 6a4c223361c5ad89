"""Payout runs (Auszahlungsläufe): preview → a run prepared → approved by a second person and
booked → the pain.001 file.

Who is paid: every person of the municipality whose credit (Guthaben) is not needed for their
open items — the credit is offset first (Aufrechnung/Verrechnung, § 226 AO with § 225 AO's
order: core.ledger.credit) and only the rest is paid out (§ 37 (2) AO: what was paid without
legal ground is refunded). Listed but not paid: a person without a known account (reason
``no_iban``) and a person under a block that forbids payouts (``blocked``, core.payments.
payouts.blocks: the insolvency block).

Each payout is one journal entry (kind refund): the person's credit account to 1830
"Auszahlungen im Überweisungsausgang", booked once per (run, person): the item keeps the
entry, and executing again books nothing.

The run works set-based (core.payments.payouts.bulk): the preview reads credit, open items,
blocks and payout targets for all persons at once, the items are stored in one executemany, and
the approved run is booked a chunk of items at a time with one executemany per table; tests/
integration/test_payouts_bulk.py holds it to the person-by-person run it replaced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs import four_eyes
from core.kernel import audit, clock
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.bulk_receipts import insert_rows
from core.ledger.journal import book_clearing
from core.payments.payouts import bulk
from core.payments.payouts.blocks import blocked_persons
from core.payments.payouts.bulk import PAYOUT_ACCOUNT
from core.payments.payouts.models import PayoutItem, PayoutRun, PayoutRunState
from core.payments.payouts.pain001 import Transfer, pain001
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, serialize

BANK_ACCOUNT = "1800"
LOCK = "payout_run"
NAMES = four_eyes.RunNames(noun="Auszahlungslauf", audit="payout_run")

REASON_LABELS = {
    "no_iban": "keine Bankverbindung bekannt (IBAN erfassen)",
    "blocked": "Auszahlungssperre (Insolvenz)",
    "used_for_open_items": "Guthaben mit offenen Forderungen verrechnet",
}


@dataclass(frozen=True)
class Planned:
    person: Person
    credit_cents: int
    open_cents: int
    reason: str | None
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None

    @property
    def payable_cents(self) -> int:
        """Credit not needed for open items (what offsetting first would leave)."""
        return max(self.credit_cents - self.open_cents, 0)

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason or "", "")


def preview(session: Session, municipality: Municipality, as_of: date) -> list[Planned]:
    """Every person with credit left after offsetting, payable or with the reason why not
    (nothing is written); read for all persons at once (core.payments.payouts.bulk.plan)."""
    rows = bulk.plan(session, municipality.id, as_of)
    people = bulk.persons(session, municipality.id, [r.person_id for r in rows])
    return [
        Planned(
            people[r.person_id],
            r.credit_cents,
            r.open_cents,
            r.reason,
            r.account_holder,
            r.iban,
            r.bic,
        )
        for r in rows
    ]


def _refuse_a_second_waiting_run(session: Session, municipality: Municipality) -> None:
    """One prepared run at a time (under the municipality's lock), so two previews never
    promise the same credit twice."""
    serialize(session, municipality.id, LOCK)
    found = session.scalar(
        select(PayoutRun.id).where(
            PayoutRun.municipality_id == municipality.id,
            PayoutRun.state == PayoutRunState.PREVIEW,
        )
    )
    if found is not None:
        raise IllegalTransition(
            f"Auszahlungslauf Nr. {found} wartet noch auf Freigabe. Bitte erst ihn freigeben "
            "oder verwerfen."
        )


def open_run(
    session: Session,
    municipality: Municipality,
    *,
    as_of: date,
    actor: str,
    execution_date: date | None = None,
) -> PayoutRun:
    """Prepare a run (state preview) with its items; nothing is booked yet."""
    if as_of > clock.today():
        raise ValidationError("Der Stichtag darf nicht in der Zukunft liegen.")
    execution_date = execution_date or as_of
    if execution_date < as_of:
        raise ValidationError("Der Ausführungstag darf nicht vor dem Stichtag liegen.")
    _refuse_a_second_waiting_run(session, municipality)
    planned = bulk.plan(session, municipality.id, as_of)
    payable = [p for p in planned if p.reason is None]
    run = PayoutRun(
        municipality_id=municipality.id,
        as_of=as_of,
        execution_date=execution_date,
        state=PayoutRunState.PREVIEW,
        count=len(payable),
        total_cents=sum(p.payable_cents for p in payable),
        created_by=actor,
    )
    session.add(run)
    session.flush()
    _store_items(session, run, planned)
    audit.record(
        session,
        actor=actor,
        action="payout_run.prepared",
        obj=run,
        municipality_id=municipality.id,
        after={
            "as_of": as_of.isoformat(),
            "count": run.count,
            "total_cents": run.total_cents,
            "not_paid": len(planned) - len(payable),
        },
    )
    return run


def _store_items(session: Session, run: PayoutRun, planned: list[bulk.PlanRow]) -> None:
    """The run's items, one per person of the preview, in one executemany."""
    insert_rows(
        session,
        PayoutItem,
        [
            {
                "municipality_id": run.municipality_id,
                "run_id": run.id,
                "person_id": p.person_id,
                "amount_cents": p.payable_cents,
                "reason": p.reason,
                "account_holder": p.account_holder,
                "iban": p.iban,
                "bic": p.bic,
                "end_to_end_id": None,
                "paid_cents": 0,
                "entry_id": None,
            }
            for p in planned
        ],
    )


def approve(session: Session, run: PayoutRun, *, actor: str, as_of: date) -> int:
    """The second person's approval (Vier-Augen-Prinzip); books and writes the file. Returns
    how many payouts were booked. Two approvals at once: the second waits for the first
    (the run's lock) and then finds the run executed."""
    serialize(session, run.municipality_id, LOCK)
    session.refresh(run)
    four_eyes.approve(session, run, actor, NAMES)
    return execute(session, run, actor=actor, as_of=as_of)


def execute(session: Session, run: PayoutRun, *, actor: str, as_of: date) -> int:
    """Book every payable item not booked yet (in chunks, core.payments.payouts.bulk) and
    (re)write the file; an approved run executed again books nothing. Returns how many payouts
    were booked now."""
    if run.approved_by is None or run.state is PayoutRunState.DISCARDED:
        raise IllegalTransition("Nur ein freigegebener Auszahlungslauf wird ausgeführt.")
    serialize(session, run.municipality_id, LOCK)
    municipality = session.get_one(Municipality, run.municipality_id)
    blocked = blocked_persons(session, run.municipality_id, as_of)
    booked = bulk.book(session, run, blocked, actor=actor, as_of=as_of)
    paid = paid_transfers(session, run)
    run.count, run.total_cents = len(paid), sum(t.amount_cents for t in paid)
    if paid:
        run.xml, run.message_id = pain001(municipality, run, paid)
        run.filename = f"Auszahlungen-{municipality.slug}-{run.execution_date}-{run.id}.xml"
    run.state = PayoutRunState.EXECUTED
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_run.executed",
        obj=run,
        municipality_id=run.municipality_id,
        after={"booked": booked, "count": run.count, "total_cents": run.total_cents},
    )
    return booked


def paid_transfers(session: Session, run: PayoutRun) -> list[Transfer]:
    """The run's booked payouts as the file lists them, in the order of the items."""
    rows = session.execute(
        select(
            PayoutItem.account_holder,
            PayoutItem.iban,
            PayoutItem.bic,
            PayoutItem.paid_cents,
            PayoutItem.end_to_end_id,
            Person.number,
        )
        .join(Person, Person.id == PayoutItem.person_id)
        .where(PayoutItem.run_id == run.id, PayoutItem.entry_id.is_not(None))
        .order_by(PayoutItem.id)
    )
    return [Transfer(h or "", i or "", b, int(c), e or "", str(n)) for h, i, b, c, e, n in rows]


def confirm_debited(session: Session, run: PayoutRun, *, debited_on: date, actor: str) -> None:
    """The bank has debited the run's file (as its statement shows): the payouts leave 1830
    for the bank account (1800), once."""
    serialize(session, run.municipality_id, LOCK)
    session.refresh(run)
    if run.state is not PayoutRunState.EXECUTED or not run.total_cents:
        raise IllegalTransition(
            f"Auszahlungslauf Nr. {run.id} hat keine gebuchten Auszahlungen, die die Bank "
            "belasten könnte."
        )
    if run.debit_entry_id is not None:
        raise IllegalTransition(
            f"Die Belastung des Auszahlungslaufs Nr. {run.id} ist schon gebucht."
        )
    if debited_on < run.execution_date:
        raise ValidationError("Die Bank kann nicht vor dem Ausführungstag belasten.")
    entry = book_clearing(
        session,
        run.municipality_id,
        debit=PAYOUT_ACCOUNT,
        credit=BANK_ACCOUNT,
        amount_cents=run.total_cents,
        value_date=debited_on,
        text=f"Belastung Auszahlungslauf Nr. {run.id} ({run.message_id})",
        actor=actor,
    )
    run.debited_on, run.debit_entry_id = debited_on, entry.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_run.debited",
        obj=run,
        municipality_id=run.municipality_id,
        after={"debited_on": debited_on.isoformat(), "total_cents": run.total_cents},
    )


def discard(session: Session, run: PayoutRun, *, actor: str) -> None:
    four_eyes.refuse_unless_preview(run, NAMES)
    run.state = PayoutRunState.DISCARDED
    four_eyes.record_discarded(session, run, actor, NAMES)


def get_run(session: Session, municipality_id: int, run_id: int) -> PayoutRun:
    return four_eyes.get_run(session, PayoutRun, NAMES, municipality_id, run_id)


def runs_of(session: Session, municipality_id: int, limit: int = 50) -> list[PayoutRun]:
    """The municipality's latest runs, the newest first."""
    return four_eyes.runs_of(session, PayoutRun, municipality_id, limit)


def items_of(session: Session, run: PayoutRun) -> list[PayoutItem]:
    return list(
        session.scalars(
            select(PayoutItem).where(PayoutItem.run_id == run.id).order_by(PayoutItem.id)
        )
    )
