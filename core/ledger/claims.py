"""Claims (Sollstellungen): posting what a person owes, lowering it (Sollminderung) and
cancelling it (Storno der Sollstellung). Credit is offset against open items after each."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.references import make_rf
from core.ledger.accounts import new_kassenzeichen, person_accounts, system_account
from core.ledger.balances import claim_balances
from core.ledger.credit import apply_credit
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim, EntryKind, JournalEntry
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def rf_reference(claim: Claim) -> str:
    return make_rf(claim.kassenzeichen)


def post_claim(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    kind: ClaimKind,
    amount_cents: int,
    due_date: date,
    description: str,
    as_of: date,
    actor: str,
    period_start: date | None = None,
    period_end: date | None = None,
    kassenzeichen: str | None = None,
    assessment_key: str | None = None,
    notice_id: int | None = None,
) -> Claim:
    """Book a claim (debit the person's receivable, credit the levy's revenue account).

    Existing credit is offset against open items right away (Verrechnung).
    """
    if person.municipality_id != municipality.id:
        raise LedgerError("Person und Kommune passen nicht zusammen.")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Der Betrag einer Forderung muss positiv sein (in Cent).")
    claim = Claim(
        municipality_id=municipality.id,
        person_id=person.id,
        kind=kind,
        description=description[:200],
        period_start=period_start,
        period_end=period_end,
        amount_cents=amount_cents,
        due_date=due_date,
        kassenzeichen=kassenzeichen or new_kassenzeichen(session, municipality),
        assessment_key=assessment_key,
        notice_id=notice_id,
    )
    session.add(claim)
    session.flush()
    _book_claim(session, claim, person, as_of=as_of, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="claim.posted",
        obj=claim,
        municipality_id=municipality.id,
        after={
            "amount_cents": amount_cents,
            "kind": kind.value,
            "due_date": due_date.isoformat(),
            "kassenzeichen": claim.kassenzeichen,
        },
    )
    apply_credit(session, person, as_of=as_of, actor=actor)
    return claim


def _book_claim(session: Session, claim: Claim, person: Person, *, as_of: date, actor: str) -> None:
    accounts = person_accounts(session, person)
    revenue = system_account(session, claim.municipality_id, KINDS[claim.kind].revenue_account)
    entry = new_entry(
        person,
        EntryKind.CLAIM,
        value_date=as_of,
        actor=actor,
        text=f"Sollstellung {KINDS[claim.kind].label}: {claim.description}",
    )
    add_posting(entry, accounts.receivable, revenue, claim.amount_cents, claim_id=claim.id)
    save_entry(session, entry)


def reduce_claim(
    session: Session, claim: Claim, by_cents: int, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """Lower what stands of a claim (Sollminderung, e.g. a change assessment).

    The open part is reduced first; whatever had already been paid beyond the new amount becomes
    credit, which is offset against other open items right away.
    """
    if claim.cancelled_by_entry_id is not None:
        raise LedgerError("Diese Forderung ist bereits storniert.")
    balance = claim_balances(session, [claim])[claim.id]
    if not 0 < by_cents <= balance.assessed_cents:
        raise LedgerError("Eine Forderung kann nur um einen Teil ihres Betrags gemindert werden.")
    person = session.get_one(Person, claim.person_id)
    accounts = person_accounts(session, person)
    revenue = system_account(session, claim.municipality_id, KINDS[claim.kind].revenue_account)
    entry = new_entry(
        person,
        EntryKind.REDUCTION,
        value_date=as_of,
        actor=actor,
        text=f"Minderung {KINDS[claim.kind].label}: {reason}",
    )
    add_posting(entry, revenue, accounts.receivable, by_cents, claim_id=claim.id)
    to_credit = by_cents - balance.open_cents
    if to_credit > 0:
        add_posting(entry, accounts.receivable, accounts.credit, to_credit, claim_id=claim.id)
    save_entry(session, entry)
    audit.record(
        session,
        actor=actor,
        action="claim.reduced",
        obj=claim,
        municipality_id=claim.municipality_id,
        after={"by_cents": by_cents, "to_credit_cents": max(to_credit, 0), "reason": reason},
    )
    if by_cents == balance.assessed_cents:
        claim.cancelled_by_entry_id = entry.id  # reduced to nothing: the claim is cancelled
        session.flush()
    apply_credit(session, person, as_of=as_of, actor=actor)
    return entry


def cancel_claim(
    session: Session, claim: Claim, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """Cancel a claim (Storno der Sollstellung): reduce it to nothing; what was paid on it
    becomes credit."""
    if claim.cancelled_by_entry_id is not None:
        raise LedgerError("Diese Forderung ist bereits storniert.")
    balance = claim_balances(session, [claim])[claim.id]
    entry = reduce_claim(
        session, claim, balance.assessed_cents, as_of=as_of, actor=actor, reason=f"Storno: {reason}"
    )
    audit.record(
        session,
        actor=actor,
        action="claim.cancelled",
        obj=claim,
        municipality_id=claim.municipality_id,
        after={"reason": reason},
    )
    session.flush()
    return entry
