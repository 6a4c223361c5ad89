"""The ledger's accounts: the municipality's own (bank, clearing, suspense, revenue), each
person's Personenkonto (receivable and credit) and the Steuerkonto per levy with its Kassenzeichen.

Accounts are created on first use; a per-session memo spares batch runs a lookup per posting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.kernel.bulk_rows import executemany
from core.kernel.references import make_kassenzeichen
from core.ledger.kinds import SYSTEM_ACCOUNTS, ClaimKind
from core.ledger.models import AccountKind, LedgerAccount, PaymentChannel, TaxAccount
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number, reserve_ids, reserve_numbers

# Where the money of a channel arrives: card payments sit with the provider until paid out.
CHANNEL_ACCOUNT = {
    PaymentChannel.BANK_TRANSFER: "1800",
    PaymentChannel.DIRECT_DEBIT: "1800",
    PaymentChannel.CASH: "1800",
    PaymentChannel.CARD: "1810",
}


class Payer(Protocol):
    """Who a claim is booked for, as the bulk path needs them: a Person, or a run's plain copy
    of one (core.levies.cases.Addressee)."""

    @property
    def id(self) -> int: ...
    @property
    def municipality_id(self) -> int: ...
    @property
    def number(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TaxAccountRef:
    """A Steuerkonto as a run needs it: its id and Kassenzeichen (plain values)."""

    id: int
    person_id: int
    kassenzeichen: str


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
    query = select(LedgerAccount).where(
        LedgerAccount.municipality_id == municipality_id, LedgerAccount.code == code
    )
    account = session.scalars(query).first()
    if account is None:
        name, kind = SYSTEM_ACCOUNTS[code]
        account = LedgerAccount(
            municipality_id=municipality_id, code=code, name=name, kind=AccountKind(kind)
        )
        try:  # made on first use, in a savepoint: a rollback expunges it (see above)
            with session.begin_nested():
                session.add(account)
        except IntegrityError:  # two chunks of a run on two workers were both first: theirs
            account = session.scalars(query).one()
    memo[(municipality_id, code)] = account
    return account


def accounts_by_id(session: Session, municipality_id: int) -> dict[int, LedgerAccount]:
    return {
        a.id: a
        for a in session.scalars(
            select(LedgerAccount).where(LedgerAccount.municipality_id == municipality_id)
        )
    }


@dataclass(frozen=True)
class PersonAccounts:
    """The Personenkonto: what the person owes (receivable) and what they have paid in excess."""

    receivable: LedgerAccount
    credit: LedgerAccount


def known_person_accounts(session: Session, person_id: int) -> PersonAccounts | None:
    """The person's accounts if this session has already loaded them (no query)."""
    memo: dict[int, PersonAccounts] = session.info.get(_PERSON_ACCOUNTS, {})
    accounts = memo.get(person_id)
    if accounts is not None and _in_session(session, accounts.receivable, accounts.credit):
        return accounts
    return None


def person_accounts(session: Session, person: Person) -> PersonAccounts:
    known = known_person_accounts(session, person.id)
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


def existing_person_account(
    session: Session, person: Person, kind: AccountKind
) -> LedgerAccount | None:
    """The person's account of this kind, or None if nothing was ever booked for them."""
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.person_id == person.id, LedgerAccount.kind == kind
        )
    ).first()


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


def open_tax_accounts(
    session: Session, persons: Sequence[Payer], municipality: Municipality, levy: ClaimKind
) -> dict[int, TaxAccountRef]:
    """New Steuerkonten for ``persons`` (who have none for the levy), their Kassenzeichen
    reserved as one block in the persons' order: one counter update and one executemany of
    plain rows (no ORM object per account)."""
    serials = reserve_numbers(session, municipality.id, "kassenzeichen", len(persons))
    ids = reserve_ids(session, TaxAccount, len(persons))
    prefix = municipality.kassenzeichen_prefix
    rows: list[dict[str, Any]] = [
        {
            "id": account_id,
            "municipality_id": municipality.id,
            "person_id": person.id,
            "levy": levy,
            "kassenzeichen": make_kassenzeichen(prefix, serial),
        }
        for person, serial, account_id in zip(persons, serials, ids, strict=True)
    ]
    executemany(session.connection(), TaxAccount.metadata.tables[TaxAccount.__tablename__], rows)
    return {
        row["person_id"]: TaxAccountRef(row["id"], row["person_id"], row["kassenzeichen"])
        for row in rows
    }
