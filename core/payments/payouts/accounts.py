"""Where a payout goes: the IBAN a person (or a clerk for them) recorded for refunds, else the
IBAN of the person's active SEPA mandate (the account the municipality debits anyway)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import FieldErrors
from core.payments.payouts.models import PayoutAccount
from core.payments.sepa.identifiers import check_iban, masked_iban
from core.payments.sepa.models import Mandate, MandateStatus
from core.persons.models import Person


@dataclass(frozen=True)
class Target:
    account_holder: str
    iban: str
    bic: str | None
    source: str  # "payout_account" or "mandate"

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)


def record_payout_account(
    session: Session,
    person: Person,
    *,
    iban: str,
    account_holder: str,
    actor: str,
    bic: str | None = None,
) -> PayoutAccount:
    """Record the account for payouts (the IBAN checked as for mandates, German messages)."""
    holder = " ".join((account_holder or "").split())
    if not holder:
        raise FieldErrors({"account_holder": "Bitte geben Sie den Kontoinhaber an."})
    if len(holder) > 70:
        raise FieldErrors({"account_holder": "Der Kontoinhaber darf höchstens 70 Zeichen haben."})
    checked = check_iban(iban, bic)
    row = PayoutAccount(
        municipality_id=person.municipality_id,
        person_id=person.id,
        account_holder=holder,
        iban=checked.iban,
        bic=checked.bic,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_account.recorded",
        obj=row,
        municipality_id=person.municipality_id,
        after={"person_id": person.id, "iban": masked_iban(checked.iban)},
    )
    return row


def recorded_account(session: Session, person: Person) -> PayoutAccount | None:
    return session.scalars(
        select(PayoutAccount)
        .where(
            PayoutAccount.person_id == person.id,
            PayoutAccount.municipality_id == person.municipality_id,
        )
        .order_by(PayoutAccount.id.desc())
        .limit(1)
    ).first()


def payout_target(session: Session, person: Person) -> Target | None:
    """The account a payout to ``person`` goes to, or None when none is known."""
    recorded = recorded_account(session, person)
    if recorded is not None:
        return Target(recorded.account_holder, recorded.iban, recorded.bic, "payout_account")
    mandate = session.scalars(
        select(Mandate)
        .where(
            Mandate.person_id == person.id,
            Mandate.municipality_id == person.municipality_id,
            Mandate.status == MandateStatus.ACTIVE,
        )
        .order_by(Mandate.id.desc())
        .limit(1)
    ).first()
    if mandate is None:
        return None
    return Target(mandate.account_holder, mandate.iban, mandate.bic, "mandate")
