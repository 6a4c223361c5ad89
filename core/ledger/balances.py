"""Balances summed from postings: an account's, a person's credit and net balance, each claim's
assessed and open amount, and a municipality's trial balance. Read-only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session, aliased

from core.ledger.accounts import existing_person_account, known_person_accounts
from core.ledger.models import AccountKind, Claim, LedgerAccount, Posting
from core.persons.models import Person


def _side_total(side: Any, account_id: Any) -> Any:
    return (
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .where(side == account_id)
        .scalar_subquery()
    )


def _balance_of(account_id: Any) -> Any:
    return select(
        _side_total(Posting.debit_account_id, account_id)
        - _side_total(Posting.credit_account_id, account_id)
    )


# Built once: the balance is asked for after every claim (credit check), so a batch run would
# otherwise spend more time building this statement than the database spends answering it.
_BALANCE = _balance_of(bindparam("account_id"))
# A person's credit account found within the same statement (0 when there is none): one round
# trip where looking the account up first would take two.
_PERSON_CREDIT = _balance_of(
    select(LedgerAccount.id)
    .where(
        LedgerAccount.person_id == bindparam("person_id"),
        LedgerAccount.kind == AccountKind.CREDIT,
    )
    .order_by(LedgerAccount.id)
    .limit(1)
    .scalar_subquery()
)


def credit_of(person_id: Any) -> Any:
    """The credit (Guthaben, positive when paid in excess) of the person ``person_id`` names (a
    column of an enclosing statement): a scalar subquery, for a statement that reads the person
    (as :func:`credit_balance` would answer in the same transaction)."""
    credit_account = (
        select(LedgerAccount.id)
        .where(LedgerAccount.person_id == person_id, LedgerAccount.kind == AccountKind.CREDIT)
        .order_by(LedgerAccount.id)
        .limit(1)
        .correlate_except(LedgerAccount)  # to the enclosing statement's person, two levels up
        .scalar_subquery()
    )
    return -func.coalesce(_balance_of(credit_account).scalar_subquery(), 0)


def account_balance(session: Session, account: LedgerAccount) -> int:
    """Debits minus credits: the sum of the account's postings (one round trip).

    No autoflush: postings never wait in the session (:func:`core.ledger.journal.save_entry`
    adds an entry with its postings and flushes at once), so what is pending (e.g. an audit
    event) cannot change the sum, and a flush only for that would be wasted.
    """
    account_id = account.id
    with session.no_autoflush:
        balance = session.scalar(_BALANCE, {"account_id": account_id})
    return int(balance or 0)


def credit_balance(session: Session, person: Person) -> int:
    """The person's credit (Guthaben), a positive number when they have paid in excess."""
    known = known_person_accounts(session, person.id)
    if known:
        return -account_balance(session, known.credit)
    with session.no_autoflush:  # as in account_balance
        balance = session.scalar(_PERSON_CREDIT, {"person_id": person.id})
    return -int(balance or 0)


def person_balance(session: Session, person: Person) -> int:
    """What the person owes, net: open items minus credit (the Personenkonto's balance)."""
    return sum(
        account_balance(session, account)
        for kind in (AccountKind.RECEIVABLE, AccountKind.CREDIT)
        if (account := existing_person_account(session, person, kind)) is not None
    )


# Made once: an alias copies the table's columns, and balances are asked for after every booking.
_DEBIT_ACCOUNT, _CREDIT_ACCOUNT = aliased(LedgerAccount), aliased(LedgerAccount)


@dataclass(frozen=True)
class ClaimBalance:
    assessed_cents: int  # what stands of the claim after reductions (0 when cancelled)
    open_cents: int  # what is still to pay

    @property
    def paid_cents(self) -> int:
        return self.assessed_cents - self.open_cents


def claim_totals(claim_ids: Any) -> Any:
    """A subquery of (claim_id, assessed, open) for the claims ``claim_ids`` names (a list of
    ids or a SELECT of them), both summed from the claims' postings.

    Every posting of a claim touches the person's receivable account on one side: debits there
    raise the open amount, credits lower it. Postings against a revenue account are the
    assessment itself (the claim) or its reductions.
    """
    debit, credit = _DEBIT_ACCOUNT, _CREDIT_ACCOUNT
    amount = Posting.amount_cents
    open_signed = case((debit.kind == AccountKind.RECEIVABLE, amount), else_=-amount)
    assessed_signed = case(
        (credit.kind == AccountKind.REVENUE, amount),
        (debit.kind == AccountKind.REVENUE, -amount),
        else_=0,
    )
    return (
        select(
            Posting.claim_id,
            func.sum(assessed_signed).label("assessed"),
            func.sum(open_signed).label("open"),
        )
        .join(debit, Posting.debit_account_id == debit.id)
        .join(credit, Posting.credit_account_id == credit.id)
        .where(Posting.claim_id.in_(claim_ids))
        .group_by(Posting.claim_id)
        .subquery()
    )


def claim_balances(session: Session, claims: Iterable[Claim]) -> dict[int, ClaimBalance]:
    """Assessed and open amount per claim (:func:`claim_totals`)."""
    claims = list(claims)
    if not claims:
        return {}
    rows = session.execute(select(claim_totals([c.id for c in claims])))
    result = {c.id: ClaimBalance(0, 0) for c in claims}
    result.update({cid: ClaimBalance(int(a), int(o)) for cid, a, o in rows})
    return result


def open_amounts(session: Session, claims: Iterable[Claim]) -> dict[int, int]:
    return {cid: b.open_cents for cid, b in claim_balances(session, claims).items()}


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
