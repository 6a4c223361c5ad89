"""Returns of our direct debits (R-transactions), with the bank's charges.

A return after settlement (camt.053/camt.054: a debit with a return reason or a reversal code)
often takes more than was collected: a debit of 33.00 € comes back as 36.00 €, the bank's
charges included. The bank states what the debit is made of — the original collection
(``AmtDtls/InstdAmt``, or ``OrgnlIntrBkSttlmAmt`` copied from the pacs.004) and/or its charges
(``Chrgs``; camt.parse_statements reads both). A return is matched by its original EndToEndId
**and** the original amount; then

* the original collection is reversed (the claim is open again; the bank's money leaves
  account 1820, "in collection");
* the charges are booked as the municipality's expense (account 6750, Bankentgelte);
* where the statute passes them on, they are claimed from the debtor as costs
  (ClaimKind.RETURN_DEBIT_FEE, § 225 AO group "Kosten", DOMAIN.md "Ledger" and "Enforcement
  costs"): the SEPA statute's ``pass_on_bank_charges`` claims what the bank actually charged
  for the reasons in ``return_fee_reasons`` (those the debtor is responsible for); where the
  bank states no charges, the statute's flat ``return_fee_cents`` applies as before. No federal
  norm fixes this: it is each municipality's statute (Kassen-/Gebührenordnung), hence data.

A rejection before settlement (pain.002) is matched the same way (EndToEndId and, where the
bank states it, the original amount); nothing moved at the bank, so only stated charges can be
passed on. A debit that does not add up (original + charges ≠ what the bank took, or another
amount than our debit) is not guessed at: it goes to the clerks' queue with both amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import LedgerError
from core.kernel.money import format_euro
from core.ledger.claims import post_claim
from core.ledger.journal import book_clearing
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, EntryKind, JournalEntry, Posting
from core.ledger.reversals import reverse_entry
from core.payments.bank.camt import CamtTransaction
from core.payments.bank.models import BankLine, breakdown
from core.payments.bank.report import ImportReport
from core.payments.sepa.mandates import suspend_mandate
from core.payments.sepa.models import DirectDebitItem, ItemStatus, Mandate, MandateStatus
from core.payments.sepa.rules import SepaRules
from core.payments.sepa.runs import CLEARING_ACCOUNT
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

BANK_ACCOUNT = "1800"
CHARGES_ACCOUNT = "6750"  # Bankentgelte (Kosten des Geldverkehrs)


@dataclass(frozen=True)
class ReturnAmounts:
    original_cents: int  # the collection that came back
    charges_cents: int  # the bank's charges taken with it


def split_return(
    debited_cents: int, original_cents: int | None, charges_cents: int | None
) -> ReturnAmounts | None:
    """What a return debit is made of, from what the bank states; None when it does not add up
    (a charge the bank books separately is not part of this debit and not stated here)."""
    if original_cents is None and charges_cents is None:
        return ReturnAmounts(debited_cents, 0)
    original = debited_cents - (charges_cents or 0) if original_cents is None else original_cents
    charges = debited_cents - original if charges_cents is None else charges_cents
    if original <= 0 or charges < 0 or original + charges != debited_cents:
        return None
    return ReturnAmounts(original, charges)


def costs_to_claim(
    rules: SepaRules, reason: str, charges_cents: int | None, *, flat_fee: bool
) -> int:
    """What the debtor owes for the return (statute): nothing for a reason they are not
    responsible for; the bank's stated charges where the statute passes them on; else the
    statute's flat fee (``flat_fee``: only for a return after settlement)."""
    if reason not in rules.return_fee_reasons:
        return 0
    if rules.pass_on_bank_charges and charges_cents is not None:
        return charges_cents
    return rules.return_fee_cents if flat_fee else 0


def claim_costs(
    session: Session,
    municipality: Municipality,
    item: DirectDebitItem,
    amount_cents: int,
    *,
    reason: str,
    report: ImportReport,
    as_of: date,
    actor: str,
) -> None:
    if amount_cents <= 0:
        return
    claim = session.get_one(Claim, item.claim_id)
    post_claim(
        session,
        person=session.get_one(Person, item.person_id),
        municipality=municipality,
        kind=ClaimKind.RETURN_DEBIT_FEE,
        amount_cents=amount_cents,
        due_date=as_of + timedelta(days=14),
        description=f"Rücklastschrift ({reason}) zu Kassenzeichen {claim.kassenzeichen}",
        as_of=as_of,
        actor=actor,
    )
    report.return_fees += 1
    report.return_charges_passed_on_cents += amount_cents


def bank_moves(
    session: Session, item: DirectDebitItem, *, incoming: bool, day: date, actor: str
) -> None:
    """The bank's side of one of our direct debits: its credit clears "in collection" (1820),
    its return takes the money out of the bank again."""
    book_clearing(
        session,
        item.municipality_id,
        debit=BANK_ACCOUNT if incoming else CLEARING_ACCOUNT,
        credit=CLEARING_ACCOUNT if incoming else BANK_ACCOUNT,
        amount_cents=item.amount_cents,
        value_date=day,
        text=f"{'Gutschrift' if incoming else 'Rücklastschrift'} Lastschrift {item.end_to_end_id}",
        actor=actor,
        person_id=item.person_id,
        payment_id=item.payment_id,
    )


def payment_entry(session: Session, payment_id: int) -> JournalEntry:
    entry = session.scalars(
        select(JournalEntry)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.payment_id == payment_id, JournalEntry.kind == EntryKind.PAYMENT)
    ).first()
    if entry is None:
        raise LedgerError("Zur Lastschrift gibt es keine Zahlungsbuchung.")
    return entry


def suspend_if_due(
    session: Session,
    item: DirectDebitItem,
    rules: SepaRules,
    reason: str,
    text: str,
    report: ImportReport,
    as_of: date,
    actor: str,
) -> None:
    """Suspend the item's mandate when the statute lists the reason code (account or mandate
    gone); a mandate already out of use stays as it is."""
    mandate = session.get_one(Mandate, item.mandate_id)
    if reason in rules.suspend_reasons and mandate.status is MandateStatus.ACTIVE:
        suspend_mandate(session, mandate, as_of=as_of, reason=text, actor=actor)
        report.mandates_suspended += 1


def _mismatch(line: BankLine, item: DirectDebitItem | None, reason: str) -> str | None:
    """Why the return cannot be booked automatically (German, for the queue), or None."""
    shown = breakdown(line.amount_cents, line.original_amount_cents, line.charges_cents)
    head = f"Rücklastschrift ({reason}) über {shown}"
    if item is None:
        return f"{head} ohne passende gutgeschriebene Lastschrift."
    if item.status is not ItemStatus.CREDITED:
        return (
            f"{head} ohne passende gutgeschriebene Lastschrift: die Lastschrift "
            f"{item.end_to_end_id} ist im Status „{item.status_label}“."
        )
    amounts = split_return(line.amount_cents, line.original_amount_cents, line.charges_cents)
    if amounts is not None and amounts.original_cents == item.amount_cents:
        return None
    inconsistent = (
        " Originalbetrag und Entgelte laut Bank ergeben nicht den belasteten Betrag."
        if amounts is None
        else ""
    )
    return (
        f"{head} ohne passende gutgeschriebene Lastschrift: die Lastschrift "
        f"{item.end_to_end_id} lautet über {format_euro(item.amount_cents)}.{inconsistent} "
        "Bitte prüfen Sie den Auszug und vermerken Sie die Klärung."
    )


def _book_bank_charges(
    session: Session,
    municipality: Municipality,
    item: DirectDebitItem,
    charges_cents: int,
    report: ImportReport,
    day: date,
    actor: str,
) -> None:
    book_clearing(
        session,
        municipality.id,
        debit=CHARGES_ACCOUNT,
        credit=BANK_ACCOUNT,
        amount_cents=charges_cents,
        value_date=day,
        text=f"Bankentgelt Rücklastschrift {item.end_to_end_id}",
        actor=actor,
        person_id=item.person_id,
        payment_id=item.payment_id,
    )
    report.return_charges_cents += charges_cents


def process_return(
    session: Session,
    municipality: Municipality,
    line: BankLine,
    tx: CamtTransaction,
    item: DirectDebitItem | None,
    rules: SepaRules,
    report: ImportReport,
    *,
    day: date,
    as_of: date,
    actor: str,
) -> str | None:
    """Book a return of ``item`` (found by the line's EndToEndId); None when booked (the caller
    marks the line), else the note for the clerks' queue (the caller parks the line)."""
    line.original_amount_cents, line.charges_cents = tx.original_amount_cents, tx.charges_cents
    reason = line.return_reason or "MS03"
    note = _mismatch(line, item, reason)
    if note is not None or item is None:
        return note
    amounts = split_return(line.amount_cents, line.original_amount_cents, line.charges_cents)
    if amounts is None:  # pragma: no cover - _mismatch refused it already
        return "Rücklastschrift: Originalbetrag und Entgelte ergeben nicht den Betrag."
    # The bank takes the money back: what it had credited leaves the bank again…
    bank_moves(session, item, incoming=False, day=day, actor=actor)
    # …its charges are the municipality's expense (claimed back below where the statute says)…
    if amounts.charges_cents:
        _book_bank_charges(session, municipality, item, amounts.charges_cents, report, day, actor)
    # …and the payment is reversed: the claim is open again.
    reverse_entry(
        session,
        payment_entry(session, item.payment_id),
        as_of=as_of,
        actor=actor,
        reason=f"Rücklastschrift {reason}",
    )
    item.status, item.returned_on, item.return_reason = ItemStatus.RETURNED, day, reason
    report.returns += 1
    stated = line.original_amount_cents is not None or line.charges_cents is not None
    costs = costs_to_claim(rules, reason, amounts.charges_cents if stated else None, flat_fee=True)
    claim_costs(
        session, municipality, item, costs, reason=reason, report=report, as_of=as_of, actor=actor
    )
    suspend_if_due(session, item, rules, reason, f"Rücklastschrift {reason}", report, as_of, actor)
    audit.record(
        session,
        actor=actor,
        action="sepa.returned",
        obj=item,
        municipality_id=municipality.id,
        after={
            "reason": reason,
            "amount_cents": item.amount_cents,
            "charges_cents": amounts.charges_cents,
            "costs_claimed_cents": costs,
        },
    )
    session.flush()
    return None
