"""Ledger services: post claims, record payments, apply credit, reverse entries, read balances.

Each service flushes but never commits: the caller (a view, a CLI command, a batch run) owns the
transaction, so a service that fails half-way leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, case, func, inspect, select
from sqlalchemy.orm import Session, aliased

from core.kernel import audit
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.references import make_kassenzeichen, make_rf, normalize_kassenzeichen
from core.ledger.allocation import Allocation, OpenItem, allocate
from core.ledger.kinds import KINDS, SYSTEM_ACCOUNTS, ClaimKind
from core.ledger.models import (
    AccountKind,
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
    TaxAccount,
)
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number

# Where the money of a channel arrives: card payments sit with the provider until paid out.
CHANNEL_ACCOUNT = {
    PaymentChannel.BANK_TRANSFER: "1800",
    PaymentChannel.DIRECT_DEBIT: "1800",
    PaymentChannel.CASH: "1800",
    PaymentChannel.CARD: "1810",
}


# --------------------------------------------------------------------------- accounts


# Per-session memo of accounts already loaded (session.info), so that a batch run does not look
# them up again for every posting. An entry counts only while its rows are persistent in this
# very session: a rollback expunges rows it created, and then they are looked up afresh.
_SYSTEM_ACCOUNTS = "openkasse.ledger.system_accounts"
_PERSON_ACCOUNTS = "openkasse.ledger.person_accounts"
_PERSON_ACCOUNTS_KEPT = 64  # the persons booked last (one at a time in batch runs)


def _in_session(session: Session, *rows: Any) -> bool:
    return all(row in session and inspect(row).persistent for row in rows)


def system_account(session: Session, municipality_id: int, code: str) -> LedgerAccount:
    memo: dict[tuple[int, str], LedgerAccount] = session.info.setdefault(_SYSTEM_ACCOUNTS, {})
    account = memo.get((municipality_id, code))
    if account is not None and _in_session(session, account):
        return account
    account = session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.municipality_id == municipality_id, LedgerAccount.code == code
        )
    ).first()
    if account is None:
        name, kind = SYSTEM_ACCOUNTS[code]
        account = LedgerAccount(
            municipality_id=municipality_id, code=code, name=name, kind=AccountKind(kind)
        )
        session.add(account)
        session.flush()
    memo[(municipality_id, code)] = account
    return account


@dataclass(frozen=True)
class PersonAccounts:
    """The Personenkonto: what the person owes (receivable) and what they have paid in excess."""

    receivable: LedgerAccount
    credit: LedgerAccount


def _known_person_accounts(session: Session, person_id: int) -> PersonAccounts | None:
    memo: dict[int, PersonAccounts] = session.info.get(_PERSON_ACCOUNTS, {})
    accounts = memo.get(person_id)
    if accounts is not None and _in_session(session, accounts.receivable, accounts.credit):
        return accounts
    return None


def person_accounts(session: Session, person: Person) -> PersonAccounts:
    known = _known_person_accounts(session, person.id)
    if known is not None:
        return known
    rows = {
        a.kind: a
        for a in session.scalars(select(LedgerAccount).where(LedgerAccount.person_id == person.id))
    }
    for kind, prefix, name in (
        (AccountKind.RECEIVABLE, "P", "Forderungen"),
        (AccountKind.CREDIT, "G", "Guthaben"),
    ):
        if kind not in rows:
            rows[kind] = LedgerAccount(
                municipality_id=person.municipality_id,
                code=f"{prefix}{person.number:08d}",
                name=f"{name} Personenkonto {person.number}",
                kind=kind,
                person_id=person.id,
            )
            session.add(rows[kind])
    session.flush()
    accounts = PersonAccounts(rows[AccountKind.RECEIVABLE], rows[AccountKind.CREDIT])
    memo: dict[int, PersonAccounts] = session.info.setdefault(_PERSON_ACCOUNTS, {})
    memo.pop(person.id, None)
    memo[person.id] = accounts
    while len(memo) > _PERSON_ACCOUNTS_KEPT:
        del memo[next(iter(memo))]  # the oldest entry
    return accounts


def _side_total(side: Any) -> Any:
    return (
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .where(side == bindparam("account_id"))
        .scalar_subquery()
    )


# Built once: the balance is asked for after every claim (credit check), so a batch run would
# otherwise spend more time building this statement than the database spends answering it.
_BALANCE = select(_side_total(Posting.debit_account_id) - _side_total(Posting.credit_account_id))


def account_balance(session: Session, account: LedgerAccount) -> int:
    """Debits minus credits: the sum of the account's postings (one round trip).

    No autoflush: postings never wait in the session (:func:`_save` adds an entry with its
    postings and flushes at once), so what is pending (e.g. an audit event) cannot change the
    sum, and a flush only for that would be wasted.
    """
    account_id = account.id
    with session.no_autoflush:
        balance = session.scalar(_BALANCE, {"account_id": account_id})
    return int(balance or 0)


def _existing_account(session: Session, person: Person, kind: AccountKind) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.person_id == person.id, LedgerAccount.kind == kind
        )
    ).first()


def credit_balance(session: Session, person: Person) -> int:
    """The person's credit (Guthaben), a positive number when they have paid in excess."""
    known = _known_person_accounts(session, person.id)
    account = known.credit if known else _existing_account(session, person, AccountKind.CREDIT)
    return -account_balance(session, account) if account else 0


def person_balance(session: Session, person: Person) -> int:
    """What the person owes, net: open items minus credit (the Personenkonto's balance)."""
    return sum(
        account_balance(session, account)
        for kind in (AccountKind.RECEIVABLE, AccountKind.CREDIT)
        if (account := _existing_account(session, person, kind)) is not None
    )


# --------------------------------------------------------------------------- claims


def new_kassenzeichen(session: Session, municipality: Municipality) -> str:
    serial = next_number(session, municipality.id, "kassenzeichen")
    return make_kassenzeichen(municipality.kassenzeichen_prefix, serial)


def tax_account(
    session: Session, person: Person, municipality: Municipality, levy: ClaimKind
) -> TaxAccount:
    """The person's Steuerkonto for a levy, created with a new Kassenzeichen on first use."""
    account = session.scalars(
        select(TaxAccount).where(TaxAccount.person_id == person.id, TaxAccount.levy == levy)
    ).first()
    return account or open_tax_account(session, person, municipality, levy)


def open_tax_account(
    session: Session, person: Person, municipality: Municipality, levy: ClaimKind
) -> TaxAccount:
    """A new Steuerkonto with a new Kassenzeichen, for a caller that has already found that the
    person has none for the levy (batch runs look this up for many persons at once); the
    database refuses a second one (unique person and levy)."""
    account = TaxAccount(
        municipality_id=municipality.id,
        person_id=person.id,
        levy=levy,
        kassenzeichen=new_kassenzeichen(session, municipality),
    )
    session.add(account)
    session.flush()
    return account


def rf_reference(claim: Claim) -> str:
    return make_rf(claim.kassenzeichen)


# Made once: an alias copies the table's columns, and balances are asked for after every booking.
_DEBIT_ACCOUNT, _CREDIT_ACCOUNT = aliased(LedgerAccount), aliased(LedgerAccount)


@dataclass(frozen=True)
class ClaimBalance:
    assessed_cents: int  # what stands of the claim after reductions (0 when cancelled)
    open_cents: int  # what is still to pay

    @property
    def paid_cents(self) -> int:
        return self.assessed_cents - self.open_cents


def claim_balances(session: Session, claims: Iterable[Claim]) -> dict[int, ClaimBalance]:
    """Assessed and open amount per claim, both summed from the claim's postings.

    Every posting of a claim touches the person's receivable account on one side: debits there
    raise the open amount, credits lower it. Postings against a revenue account are the
    assessment itself (the claim) or its reductions.
    """
    claims = list(claims)
    if not claims:
        return {}
    debit, credit = _DEBIT_ACCOUNT, _CREDIT_ACCOUNT
    amount = Posting.amount_cents
    open_signed = case((debit.kind == AccountKind.RECEIVABLE, amount), else_=-amount)
    assessed_signed = case(
        (credit.kind == AccountKind.REVENUE, amount),
        (debit.kind == AccountKind.REVENUE, -amount),
        else_=0,
    )
    rows = session.execute(
        select(Posting.claim_id, func.sum(assessed_signed), func.sum(open_signed))
        .join(debit, Posting.debit_account_id == debit.id)
        .join(credit, Posting.credit_account_id == credit.id)
        .where(Posting.claim_id.in_([c.id for c in claims]))
        .group_by(Posting.claim_id)
    )
    result = {c.id: ClaimBalance(0, 0) for c in claims}
    result.update({cid: ClaimBalance(int(a), int(o)) for cid, a, o in rows})
    return result


def open_amounts(session: Session, claims: Iterable[Claim]) -> dict[int, int]:
    return {cid: b.open_cents for cid, b in claim_balances(session, claims).items()}


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    balance: ClaimBalance

    @property
    def open_cents(self) -> int:
        return self.balance.open_cents

    @property
    def assessed_cents(self) -> int:
        return self.balance.assessed_cents

    @property
    def paid_cents(self) -> int:
        return self.balance.paid_cents

    @property
    def cancelled(self) -> bool:
        return self.claim.cancelled_by_entry_id is not None

    @property
    def label(self) -> str:
        return KINDS[self.claim.kind].label


def claims_of(session: Session, person: Person) -> list[ClaimView]:
    claims = list(
        session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.municipality_id == person.municipality_id)
            .order_by(Claim.due_date, Claim.id)
        )
    )
    balances = claim_balances(session, claims)
    return [ClaimView(c, balances[c.id]) for c in claims]


def open_items(session: Session, person: Person) -> list[OpenItem]:
    return [
        OpenItem(v.claim.id, KINDS[v.claim.kind].group, v.claim.due_date, v.open_cents)
        for v in claims_of(session, person)
        if v.open_cents > 0 and not v.cancelled
    ]


def _entry(
    session: Session,
    person: Person,
    kind: EntryKind,
    *,
    value_date: date,
    text: str,
    actor: str,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """A new journal entry, not yet in the session: :func:`_save` adds it with all its postings
    at once, so that no autoflush can write an entry whose postings are still to come."""
    return JournalEntry(
        municipality_id=person.municipality_id,
        person_id=person.id,
        kind=kind,
        value_date=value_date,
        text=text[:200],
        actor=actor,
        reverses_entry_id=reverses.id if reverses else None,
    )


def _save(session: Session, entry: JournalEntry) -> JournalEntry:
    if not entry.postings:
        raise LedgerError("Eine Buchung ohne Buchungszeilen ist nicht zulässig.")
    session.add(entry)
    session.flush()
    return entry


def _post(
    entry: JournalEntry,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: int,
    *,
    claim_id: int | None = None,
    payment_id: int | None = None,
) -> None:
    if amount <= 0:
        raise LedgerError("Buchungsbeträge müssen positiv sein.")
    if debit.id == credit.id:
        raise LedgerError("Soll- und Habenkonto müssen verschieden sein.")
    if debit.municipality_id != credit.municipality_id:
        raise LedgerError("Eine Buchung darf keine Kommunen mischen.")
    entry.postings.append(
        Posting(
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_cents=amount,
            claim_id=claim_id,
            payment_id=payment_id,
        )
    )


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
    accounts = person_accounts(session, person)
    revenue = system_account(session, municipality.id, KINDS[kind].revenue_account)
    entry = _entry(
        session,
        person,
        EntryKind.CLAIM,
        value_date=as_of,
        actor=actor,
        text=f"Sollstellung {KINDS[kind].label}: {description}",
    )
    _post(entry, accounts.receivable, revenue, amount_cents, claim_id=claim.id)
    _save(session, entry)
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


# --------------------------------------------------------------------------- payments


def find_payment(
    session: Session, municipality_id: int, channel: PaymentChannel, external_ref: str
) -> Payment | None:
    return session.scalars(
        select(Payment).where(
            Payment.municipality_id == municipality_id,
            Payment.channel == channel,
            Payment.external_ref == external_ref,
        )
    ).first()


def record_payment(
    session: Session,
    *,
    person: Person,
    amount_cents: int,
    received_on: date,
    channel: PaymentChannel,
    as_of: date,
    actor: str,
    reference_text: str = "",
    kassenzeichen: str | None = None,
    claim_ids: Collection[int] = (),
    external_ref: str | None = None,
    cash_account: str | None = None,
    only_designated: bool = False,
) -> Payment:
    """Book a payment and allocate it (§ 225 AO); what is left becomes credit.

    ``only_designated``: allocate to the designated claims only (a card payment for chosen
    items), never to the person's other items; the rest stays credit.

    Idempotent: a payment with the same ``external_ref`` on the same channel is booked once and
    the first booking is returned for every repetition. ``cash_account`` overrides where the
    money comes from (default: the channel's account), e.g. "1820" for a direct debit handed to
    the bank but not yet credited, "1890" for a bank credit a clerk assigns from suspense.
    """
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Der Zahlbetrag muss positiv sein (in Cent).")
    if external_ref:
        existing = find_payment(session, person.municipality_id, channel, external_ref)
        if existing is not None:
            if existing.amount_cents != amount_cents or existing.person_id != person.id:
                raise LedgerError("Dieselbe Transaktion wurde mit anderen Daten gemeldet.")
            return existing
    payment = Payment(
        municipality_id=person.municipality_id,
        person_id=person.id,
        amount_cents=amount_cents,
        received_on=received_on,
        channel=channel,
        reference_text=reference_text[:140],
        external_ref=external_ref,
    )
    session.add(payment)
    session.flush()
    designated = set(claim_ids)
    if kassenzeichen:
        kz = normalize_kassenzeichen(kassenzeichen)
        designated |= set(
            session.scalars(
                select(Claim.id).where(Claim.person_id == person.id, Claim.kassenzeichen == kz)
            )
        )
    allocation = allocate(
        amount_cents,
        open_items(session, person),
        as_of=received_on,
        designated=designated,
        only_designated=only_designated,
    )
    accounts = person_accounts(session, person)
    cash = system_account(session, person.municipality_id, cash_account or CHANNEL_ACCOUNT[channel])
    entry = _entry(
        session,
        person,
        EntryKind.PAYMENT,
        value_date=received_on,
        actor=actor,
        text=f"Zahlungseingang {reference_text}".strip(),
    )
    _book_allocation(entry, allocation, source=cash, accounts=accounts, payment_id=payment.id)
    _save(session, entry)
    audit.record(
        session,
        actor=actor,
        action="payment.booked",
        obj=payment,
        municipality_id=person.municipality_id,
        after={
            "amount_cents": amount_cents,
            "channel": channel.value,
            "allocated": allocation.parts,
            "credit_cents": allocation.credit_cents,
        },
    )
    return payment


def _book_allocation(
    entry: JournalEntry,
    allocation: Allocation,
    *,
    source: LedgerAccount,
    accounts: PersonAccounts,
    payment_id: int | None,
) -> None:
    for claim_id, part in allocation.parts:
        _post(entry, source, accounts.receivable, part, claim_id=claim_id, payment_id=payment_id)
    if allocation.credit_cents:
        _post(entry, source, accounts.credit, allocation.credit_cents, payment_id=payment_id)


def apply_credit(
    session: Session, person: Person, *, as_of: date, actor: str
) -> JournalEntry | None:
    """Offset the person's credit against open items in the statutory order."""
    credit = credit_balance(session, person)
    items = open_items(session, person) if credit > 0 else []
    if not items:
        return None
    allocation = allocate(credit, items, as_of=as_of)
    allocation.credit_cents = 0  # what is not used simply stays on the credit account
    accounts = person_accounts(session, person)
    entry = _entry(
        session,
        person,
        EntryKind.CREDIT_APPLICATION,
        value_date=as_of,
        actor=actor,
        text="Verrechnung mit Guthaben",
    )
    for claim_id, part in allocation.parts:
        _post(entry, accounts.credit, accounts.receivable, part, claim_id=claim_id)
    return _save(session, entry)


def book_clearing(
    session: Session,
    municipality_id: int,
    *,
    debit: str,
    credit: str,
    amount_cents: int,
    value_date: date,
    text: str,
    actor: str,
    person_id: int | None = None,
    payment_id: int | None = None,
) -> JournalEntry:
    """Move money between two of the municipality's own accounts (Umbuchung), e.g. the bank's
    credit for a direct debit (bank ← clearing) or an unexplained transfer (bank → suspense).
    No person's balance changes."""
    entry = JournalEntry(
        municipality_id=municipality_id,
        person_id=person_id,
        kind=EntryKind.CLEARING,
        value_date=value_date,
        text=text[:200],
        actor=actor,
    )
    _post(
        entry,
        system_account(session, municipality_id, debit),
        system_account(session, municipality_id, credit),
        amount_cents,
        payment_id=payment_id,
    )
    return _save(session, entry)


# --------------------------------------------------------------------------- reversals


def is_reversed(session: Session, entry: JournalEntry) -> bool:
    return (
        session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.reverses_entry_id == entry.id)
        )
        != 0
    )


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
    entry = _entry(
        session,
        person,
        EntryKind.REDUCTION,
        value_date=as_of,
        actor=actor,
        text=f"Minderung {KINDS[claim.kind].label}: {reason}",
    )
    _post(entry, revenue, accounts.receivable, by_cents, claim_id=claim.id)
    to_credit = by_cents - balance.open_cents
    if to_credit > 0:
        _post(entry, accounts.receivable, accounts.credit, to_credit, claim_id=claim.id)
    _save(session, entry)
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


def reverse_entry(
    session: Session, entry: JournalEntry, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """Cancel a booking (Storno); the original stays as it was.

    * A claim's booking is cancelled by :func:`cancel_claim`.
    * A payment is reversed by its mirror image. A claim that has been lowered or cancelled
      since is re-opened only up to what is paid on it now; the rest is taken from the credit
      account. If the credit account would then be negative (the credit had already been
      offset against other items), those offsets are undone, newest first, and what is left
      is offset again.
    """
    if entry.kind is EntryKind.CLAIM:
        return cancel_claim(
            session,
            session.get_one(Claim, entry.postings[0].claim_id),
            as_of=as_of,
            actor=actor,
            reason=reason,
        )
    if entry.kind is not EntryKind.PAYMENT:
        raise LedgerError("Nur Sollstellungen und Zahlungen können storniert werden.")
    if is_reversed(session, entry):
        raise LedgerError("Diese Buchung ist bereits storniert.")
    person = session.get(Person, entry.person_id)
    if person is None:
        raise LedgerError("Buchung ohne Personenkonto kann hier nicht storniert werden.")
    reversal = _save(
        session, _mirror(session, entry, person, as_of=as_of, actor=actor, reason=reason)
    )
    payment_ids = {p.payment_id for p in entry.postings}
    for payment in session.scalars(select(Payment).where(Payment.id.in_(payment_ids))):
        payment.reversed_by_entry_id = reversal.id
        audit.record(
            session,
            actor=actor,
            action="payment.reversed",
            obj=payment,
            municipality_id=payment.municipality_id,
            after={"reason": reason},
        )
    session.flush()
    _restore_non_negative_credit(session, person, as_of=as_of, actor=actor)
    apply_credit(session, person, as_of=as_of, actor=actor)
    return reversal


def _mirror(
    session: Session, entry: JournalEntry, person: Person, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """The mirror image of a payment or an offset, not yet saved (see :func:`reverse_entry`)."""
    accounts = person_accounts(session, person)
    claims = session.scalars(
        select(Claim).where(Claim.id.in_({p.claim_id for p in entry.postings if p.claim_id}))
    )
    room = {cid: b.paid_cents for cid, b in claim_balances(session, claims).items()}
    reversal = _entry(
        session,
        person,
        EntryKind.REVERSAL,
        value_date=as_of,
        actor=actor,
        text=f"Storno: {reason}",
        reverses=entry,
    )
    for p in entry.postings:
        source = session.get_one(LedgerAccount, p.debit_account_id)  # gets its money back
        if p.claim_id is None:  # an over-payment: it leaves the credit account again
            _post(
                reversal,
                session.get_one(LedgerAccount, p.credit_account_id),
                source,
                p.amount_cents,
                payment_id=p.payment_id,
            )
            continue
        reopen = min(p.amount_cents, room[p.claim_id])
        room[p.claim_id] -= reopen
        if reopen:
            _post(
                reversal,
                accounts.receivable,
                source,
                reopen,
                claim_id=p.claim_id,
                payment_id=p.payment_id,
            )
        if p.amount_cents - reopen and source.id != accounts.credit.id:
            _post(
                reversal, accounts.credit, source, p.amount_cents - reopen, payment_id=p.payment_id
            )
    if not reversal.postings:
        raise LedgerError("Diese Buchung wirkt nicht mehr und muss nicht storniert werden.")
    audit.record(
        session,
        actor=actor,
        action="entry.reversed",
        obj=entry,
        municipality_id=entry.municipality_id,
        after={"reason": reason},
    )
    return reversal


def _restore_non_negative_credit(
    session: Session, person: Person, *, as_of: date, actor: str
) -> None:
    while credit_balance(session, person) < 0:
        offsets = list(
            session.scalars(
                select(JournalEntry)
                .where(
                    JournalEntry.person_id == person.id,
                    JournalEntry.kind == EntryKind.CREDIT_APPLICATION,
                )
                .order_by(JournalEntry.id.desc())
            )
        )
        for candidate in offsets:
            if is_reversed(session, candidate):
                continue
            try:
                undo = _mirror(
                    session,
                    candidate,
                    person,
                    as_of=as_of,
                    actor=actor,
                    reason="Guthaben durch Storno entfallen",
                )
            except LedgerError:
                continue
            _save(session, undo)
            break
        else:
            raise LedgerError("Das Guthaben würde negativ; bitte eine Forderung anlegen.")


def accounts_by_id(session: Session, municipality_id: int) -> dict[int, LedgerAccount]:
    return {
        a.id: a
        for a in session.scalars(
            select(LedgerAccount).where(LedgerAccount.municipality_id == municipality_id)
        )
    }


def entries_of(session: Session, person: Person) -> list[JournalEntry]:
    return list(
        session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.person_id == person.id,
                JournalEntry.municipality_id == person.municipality_id,
            )
            .order_by(JournalEntry.id)
        )
    )


def payments_of(session: Session, person: Person) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(
                Payment.person_id == person.id, Payment.municipality_id == person.municipality_id
            )
            .order_by(Payment.received_on.desc(), Payment.id.desc())
        )
    )


def trial_balance(session: Session, municipality_id: int) -> dict[str, Any]:
    """Sum of all debits and credits of a municipality (equal by construction) and the per-kind
    account balances, for the invariant tests and the back office."""
    totals = session.execute(
        select(
            LedgerAccount.kind,
            func.coalesce(
                func.sum(
                    case(
                        (Posting.debit_account_id == LedgerAccount.id, Posting.amount_cents),
                        else_=-Posting.amount_cents,
                    )
                ),
                0,
            ),
        )
        .join(
            Posting,
            (Posting.debit_account_id == LedgerAccount.id)
            | (Posting.credit_account_id == LedgerAccount.id),
        )
        .where(LedgerAccount.municipality_id == municipality_id)
        .group_by(LedgerAccount.kind)
    )
    return {kind.value if hasattr(kind, "value") else kind: int(v) for kind, v in totals}
