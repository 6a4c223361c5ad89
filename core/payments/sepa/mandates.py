"""SEPA Core direct-debit mandates (SEPA-Basislastschriftmandat) of the Digitales Finanzkonto.

Rules (DOMAIN.md "SEPA direct debit"; EPC SEPA Core Direct Debit Rulebook, DK-Abkommen):

* A mandate names the creditor (Gläubiger-ID), a unique **mandate reference** (1–35 characters
  of ``A–Z a–z 0–9 + ? / - : ( ) . , '``, no spaces, compared case-insensitively), the debtor's
  account holder and IBAN, and the date of signature; the debtor agrees to the rulebook's consent
  text, which is stored with the mandate exactly as shown.
* It covers one tax account (Kassenzeichen of one levy) or every claim of the person.
* A change (new account) is a new mandate with a new reference; the old one is kept as
  "replaced". A revocation ends it; history is never deleted.
* A mandate not used for 36 months lapses (rulebook 4.5: "expired"); the months come from the
  municipality's SEPA statute data, like the pre-notification period."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import archive, audit, clock
from core.kernel.errors import FieldErrors, IllegalTransition, NotFound
from core.kernel.references import format_kassenzeichen, is_valid_creditor_id
from core.ledger.kinds import KINDS
from core.ledger.models import TaxAccount
from core.payments.sepa.identifiers import BankAccount, check_iban, make_mandate_reference
from core.payments.sepa.models import Mandate, MandateStatus
from core.payments.sepa.rules import SepaRules, consent_text, rules_on
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number

_M = TypeVar("_M")  # a Mandate, or a row of one (core.payments.sepa.collectable)


def mandates_of(session: Session, person: Person) -> list[Mandate]:
    """Every mandate of the person, newest first (the history stays)."""
    return list(
        session.scalars(
            select(Mandate)
            .where(
                Mandate.person_id == person.id, Mandate.municipality_id == person.municipality_id
            )
            .order_by(Mandate.created_at.desc(), Mandate.id.desc())
        )
    )


def get_mandate(session: Session, person: Person, mandate_id: int) -> Mandate:
    """A mandate *of this person* (anyone else's is simply not found)."""
    mandate = session.scalars(
        select(Mandate).where(
            Mandate.id == mandate_id,
            Mandate.person_id == person.id,
            Mandate.municipality_id == person.municipality_id,
        )
    ).first()
    if mandate is None:
        raise NotFound("Dieses Lastschriftmandat wurde nicht gefunden.")
    return mandate


def find_by_reference(session: Session, municipality_id: int, reference: str) -> Mandate | None:
    return session.scalars(
        select(Mandate).where(
            Mandate.municipality_id == municipality_id,
            Mandate.reference_key == reference.strip().upper(),
        )
    ).first()


def tax_accounts_of(session: Session, person: Person) -> list[TaxAccount]:
    return list(
        session.scalars(
            select(TaxAccount)
            .where(
                TaxAccount.person_id == person.id,
                TaxAccount.municipality_id == person.municipality_id,
            )
            .order_by(TaxAccount.id)
        )
    )


def scope_label(session: Session, mandate: Mandate) -> str:
    if mandate.tax_account_id is None:
        return "alle Steuern und Gebühren"
    account = session.get_one(TaxAccount, mandate.tax_account_id)
    return (
        f"{KINDS[account.levy].label} (Kassenzeichen {format_kassenzeichen(account.kassenzeichen)})"
    )


def _end(
    session: Session, mandate: Mandate, status: MandateStatus, *, on: date, reason: str, actor: str
) -> None:
    if mandate.status not in (MandateStatus.ACTIVE, MandateStatus.SUSPENDED):
        raise IllegalTransition(
            f"Ein Mandat im Status „{mandate.status_label}“ kann nicht mehr geändert werden."
        )
    before = mandate.status
    mandate.status, mandate.status_reason, mandate.ended_on = status, reason[:200], on
    audit.record(
        session,
        actor=actor,
        action=f"mandate.{status.value}",
        obj=mandate,
        municipality_id=mandate.municipality_id,
        before={"status": before.value},
        after={"status": status.value, "reason": reason},
    )
    session.flush()


def _checked_request(
    session: Session,
    person: Person,
    municipality: Municipality,
    account_holder: str,
    iban: str,
    bic: str | None,
    tax_account_id: int | None,
    signed_on: date,
    as_of: date,
) -> tuple[str, BankAccount]:
    """The account holder's name and the checked account; FieldErrors with every problem."""
    errors: dict[str, str] = {}
    holder = " ".join((account_holder or "").split())
    if not holder:
        errors["account_holder"] = "Bitte geben Sie den Namen des Kontoinhabers an."
    elif len(holder) > 70:
        errors["account_holder"] = "Der Name darf höchstens 70 Zeichen lang sein."
    account: BankAccount | None = None
    try:
        account = check_iban(iban, bic)
    except FieldErrors as exc:
        errors.update(exc.errors)
    if signed_on > as_of:
        errors["signed_on"] = "Das Datum der Unterschrift darf nicht in der Zukunft liegen."
    if tax_account_id is not None and tax_account_id not in {
        t.id for t in tax_accounts_of(session, person)
    }:
        errors["scope"] = "Bitte wählen Sie eines Ihrer Kassenzeichen."
    if not is_valid_creditor_id(municipality.creditor_id):
        errors["form"] = "Die Kasse hat keine gültige Gläubiger-ID; bitte wenden Sie sich an sie."
    if errors or account is None:
        raise FieldErrors(errors)
    return holder, account


def _replace_covered(
    session: Session, person: Person, mandate: Mandate, *, as_of: date, actor: str
) -> None:
    """End the active mandates the new one covers (same tax account, or all of them)."""
    tax_account_id, reference = mandate.tax_account_id, mandate.reference
    for old in mandates_of(session, person):
        if old.id == mandate.id or old.status is not MandateStatus.ACTIVE:
            continue
        if tax_account_id is None or old.tax_account_id == tax_account_id:
            old.replaced_by_id = mandate.id
            _end(
                session,
                old,
                MandateStatus.REPLACED,
                on=as_of,
                reason=f"ersetzt durch Mandat {reference}",
                actor=actor,
            )


def grant_mandate(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    account_holder: str,
    iban: str,
    bic: str | None = None,
    tax_account_id: int | None,
    signed_on: date,
    as_of: date,
    actor: str,
) -> Mandate:
    """Record a mandate the person has just agreed to; it replaces the active mandates it
    covers (same tax account, or all of them when it covers every claim)."""
    holder, account = _checked_request(
        session, person, municipality, account_holder, iban, bic, tax_account_id, signed_on, as_of
    )
    rules = rules_on(session, municipality.id, as_of)
    serial = next_number(session, municipality.id, "sepa_mandate")
    reference = make_mandate_reference(municipality, serial)
    mandate = Mandate(
        municipality_id=municipality.id,
        person_id=person.id,
        reference=reference,
        reference_key=reference.upper(),
        tax_account_id=tax_account_id,
        account_holder=holder,
        iban=account.iban,
        bic=account.bic,
        signed_on=signed_on,
        consent_text=consent_text(municipality, rules),
        status=MandateStatus.ACTIVE,
        created_by=actor,
    )
    session.add(mandate)
    session.flush()
    _replace_covered(session, person, mandate, as_of=as_of, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="mandate.granted",
        obj=mandate,
        municipality_id=municipality.id,
        # No IBAN in the audit trail's readable part: the mandate row holds it.
        after={"reference": reference, "tax_account_id": tax_account_id},
    )
    mandate.document_id = store_confirmation(session, mandate, person, municipality, actor).id
    session.flush()
    return mandate


def store_confirmation(
    session: Session, mandate: Mandate, person: Person, municipality: Municipality, actor: str
) -> archive.Document:
    """The mandate confirmation as PDF, archived in the person's documents."""
    from core.kernel.pdf import render_pdf

    address = person.address_on(mandate.signed_on) or (
        person.addresses[-1] if person.addresses else None
    )
    content = render_pdf(
        "mandate.html",
        {
            "municipality": municipality,
            "person": person,
            "address": address,
            "recipient": {  # the address window of the letter (DIN 5008)
                "name": person.display_name,
                "lines": (
                    [
                        f"{address.street} {address.house_number}",
                        f"{address.postal_code} {address.city}",
                    ]
                    if address
                    else []
                ),
            },
            "mandate": mandate,
            "scope": scope_label(session, mandate),
            "consent_paragraphs": mandate.consent_text.split("\n"),
            "iban_grouped": " ".join(
                mandate.iban[i : i + 4] for i in range(0, len(mandate.iban), 4)
            ),
            "created_on": clock.today(),
        },
        archival=True,  # PDF/A-3b, tagged: kept for the mandate's lifetime and after
    )
    return archive.store(
        session,
        municipality_id=municipality.id,
        person_id=person.id,
        kind="sepa_mandate",
        filename=f"SEPA-Mandat-{mandate.reference}.pdf",
        content=content,
        actor=actor,
    )


def revoke_mandate(session: Session, mandate: Mandate, *, as_of: date, actor: str) -> None:
    """The debtor withdraws the mandate; direct-debit runs no longer use it."""
    _end(
        session,
        mandate,
        MandateStatus.REVOKED,
        on=as_of,
        reason="vom Zahlungspflichtigen widerrufen",
        actor=actor,
    )


def suspend_mandate(
    session: Session, mandate: Mandate, *, as_of: date, reason: str, actor: str
) -> None:
    if mandate.status is not MandateStatus.ACTIVE:
        return  # already out of use: nothing to suspend
    _end(session, mandate, MandateStatus.SUSPENDED, on=as_of, reason=reason, actor=actor)


def expire_mandate(session: Session, mandate: Mandate, rules: SepaRules, *, actor: str) -> None:
    """Unused for the statute's months (rulebook: 36): the mandate may no longer be used."""
    _end(
        session,
        mandate,
        MandateStatus.EXPIRED,
        on=mandate.lapses_on(rules),
        reason=f"{rules.mandate_lapse_months} Monate ohne Einzug",
        actor=actor,
    )


def reactivate_mandate(session: Session, mandate: Mandate, *, actor: str) -> None:
    """A clerk puts a suspended mandate back into use (e.g. the debtor confirmed the account)."""
    if mandate.status is not MandateStatus.SUSPENDED:
        raise IllegalTransition("Nur ein ausgesetztes Mandat kann wieder aktiviert werden.")
    mandate.status, mandate.status_reason, mandate.ended_on = MandateStatus.ACTIVE, None, None
    audit.record(
        session,
        actor=actor,
        action="mandate.reactivated",
        obj=mandate,
        municipality_id=mandate.municipality_id,
        before={"status": MandateStatus.SUSPENDED.value},
        after={"status": MandateStatus.ACTIVE.value},
    )
    session.flush()


def active_mandates(
    session: Session, municipality_id: int, person_ids: list[int] | None = None
) -> list[Mandate]:
    stmt = select(Mandate).where(
        Mandate.municipality_id == municipality_id, Mandate.status == MandateStatus.ACTIVE
    )
    if person_ids is not None:
        stmt = stmt.where(Mandate.person_id.in_(person_ids))
    return list(session.scalars(stmt.order_by(Mandate.id)))


def covering(by_scope: dict[int | None, _M], tax_account_id: int | None) -> _M | None:
    """The mandate that pays a claim: the one for its tax account, else the general one.

    ``by_scope`` holds one person's active mandates by tax account id (None: general).
    """
    if tax_account_id is not None and tax_account_id in by_scope:
        return by_scope[tax_account_id]
    return by_scope.get(None)


def active_by_person(
    session: Session, municipality_id: int, person_ids: list[int] | None = None
) -> dict[int, dict[int | None, Mandate]]:
    """Active mandates per person, by scope (tax account id, None for the general one)."""
    result: dict[int, dict[int | None, Mandate]] = {}
    for mandate in active_mandates(session, municipality_id, person_ids):
        result.setdefault(mandate.person_id, {})[mandate.tax_account_id] = mandate
    return result
