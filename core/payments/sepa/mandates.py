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
  municipality's SEPA statute data, like the pre-notification period.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import archive, audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import FieldErrors, IllegalTransition, NotFound
from core.kernel.months import add_months
from core.kernel.references import format_kassenzeichen, is_valid_creditor_id
from core.ledger.kinds import KINDS
from core.ledger.models import TaxAccount
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number
from core.tenancy.statutes import statute_on

SEPA_LEVY = "sepa"  # the statute "levy" that holds the municipality's direct-debit rules

_REFERENCE = re.compile(r"^[A-Za-z0-9+?/\-:().,']{1,35}$")


def is_valid_mandate_reference(text: str) -> bool:
    """Allowed characters and length (EPC rulebook / DK "Mandatsreferenz"); like every SEPA
    identifier it may neither start nor end with ``/`` nor contain ``//``."""
    return (
        bool(_REFERENCE.match(text or ""))
        and not text.startswith("/")
        and not text.endswith("/")
        and "//" not in text
    )


def make_mandate_reference(municipality: Municipality, serial: int) -> str:
    """``PPP-SEPA-NNNNNNN``: the municipality's Kassenzeichen prefix and a serial."""
    return f"{municipality.kassenzeichen_prefix}-SEPA-{serial:07d}"


# --------------------------------------------------------------------------- IBAN


@dataclass(frozen=True)
class BankAccount:
    iban: str  # compact, upper case
    bic: str | None  # derived from the IBAN where the bank registry knows it
    bank_name: str | None


def check_iban(text: str, bic: str | None = None) -> BankAccount:
    """Validate an IBAN (schwifty: country, length, structure, check digits) for SEPA.

    Raises FieldErrors keyed ``iban`` / ``bic`` with German messages.
    """
    compact = re.sub(r"\s", "", text or "").upper()
    if not compact:
        raise FieldErrors({"iban": "Bitte geben Sie Ihre IBAN an."})
    try:
        iban = IBAN(compact)
    except InvalidChecksumDigits:
        raise FieldErrors(
            {"iban": "Die Prüfziffer der IBAN stimmt nicht. Bitte vergleichen Sie jede Stelle."}
        ) from None
    except InvalidLength:
        raise FieldErrors(
            {"iban": "Die IBAN hat nicht die richtige Länge (in Deutschland 22 Stellen)."}
        ) from None
    except InvalidCountryCode:
        raise FieldErrors(
            {"iban": "Die IBAN muss mit einem gültigen Ländercode beginnen, z. B. DE."}
        ) from None
    except SchwiftyException:
        raise FieldErrors({"iban": "Das ist keine gültige IBAN."}) from None
    if not iban.in_sepa_zone:
        raise FieldErrors({"iban": "Lastschriften sind nur von Konten im SEPA-Raum möglich."})
    derived = iban.bic
    given = re.sub(r"\s", "", bic or "").upper() or None
    if given is not None and not re.match(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$", given):
        raise FieldErrors({"bic": "Die BIC hat 8 oder 11 Zeichen, z. B. COBADEFFXXX."})
    return BankAccount(
        iban=iban.compact,
        bic=given or (str(derived) if derived else None),
        bank_name=iban.bank_name if derived else None,
    )


def masked_iban(iban: str) -> str:
    """For letters and screens: country, check digits and the last four digits only."""
    return f"{iban[:4]} **** **** {iban[-4:]}" if len(iban) > 8 else iban


# --------------------------------------------------------------------------- rules (statute)


@dataclass(frozen=True)
class SepaRules:
    """The municipality's direct-debit rules (statute data, levy ``sepa``)."""

    prenotification_days: int  # DOMAIN.md: at least 14 days unless a shorter period is agreed
    mandate_lapse_months: int  # rulebook: 36 months without a collection
    return_fee_cents: int  # flat passed-on bank charges for a return (0: none)
    # Claim what the bank actually charged for a return (where it states its charges) instead
    # of the flat fee; only for ``return_fee_reasons`` (core.payments.bank.returns).
    pass_on_bank_charges: bool
    return_fee_reasons: frozenset[str]  # reason codes the debtor is responsible for
    suspend_reasons: frozenset[str]  # reason codes after which the mandate is not used again
    source: str

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str) -> SepaRules:
        days = int(data["prenotification_days"])
        if not 1 <= days <= 60:
            raise ValueError("prenotification_days must be between 1 and 60")
        fee = data.get("return_fee_cents", 0)
        if not isinstance(fee, int) or fee < 0:
            raise ValueError("return_fee_cents must be a non-negative integer (cents)")
        return cls(
            prenotification_days=days,
            mandate_lapse_months=int(data.get("mandate_lapse_months", 36)),
            return_fee_cents=fee,
            pass_on_bank_charges=data.get("pass_on_bank_charges", False) is True,
            return_fee_reasons=frozenset(data.get("return_fee_reasons", [])),
            suspend_reasons=frozenset(data.get("suspend_mandate_reasons", [])),
            source=source,
        )


def rules_on(session: Session, municipality_id: int, day: date) -> SepaRules:
    statute = statute_on(session, municipality_id, SEPA_LEVY, day)
    return SepaRules.from_data(statute.data, statute.source)


def consent_text(municipality: Municipality, rules: SepaRules) -> str:
    """The mandate text of the SEPA Core rulebook in the wording of the German banks."""
    text = (
        f"Ich ermächtige die {municipality.cash_office_name} "
        f"(Gläubiger-Identifikationsnummer {municipality.creditor_id}), Zahlungen von meinem "
        "Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die "
        f"von der {municipality.cash_office_name} auf mein Konto gezogenen Lastschriften "
        "einzulösen.\n"
        "Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die "
        "Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem "
        "Kreditinstitut vereinbarten Bedingungen."
    )
    if rules.prenotification_days < 14:
        text += (
            "\nDie Frist für die Vorabankündigung (Pre-Notification) wird auf "
            f"{rules.prenotification_days} Tage verkürzt."
        )
    return text


# --------------------------------------------------------------------------- model


class MandateStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # after a return whose reason says so; a clerk may reactivate
    REPLACED = "replaced"  # a newer mandate (other account) took over
    REVOKED = "revoked"  # by the debtor
    EXPIRED = "expired"  # 36 months without a collection


STATUS_LABELS = {
    MandateStatus.ACTIVE: "aktiv",
    MandateStatus.SUSPENDED: "ausgesetzt",
    MandateStatus.REPLACED: "ersetzt",
    MandateStatus.REVOKED: "widerrufen",
    MandateStatus.EXPIRED: "erloschen",
}


class Mandate(Base):
    __tablename__ = "sepa_mandate"
    __table_args__ = (
        UniqueConstraint("municipality_id", "reference_key"),
        CheckConstraint("length(iban) BETWEEN 15 AND 34", name="iban_length"),
        Index("ix_sepa_mandate_person", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(35))
    reference_key: Mapped[str] = mapped_column(String(35))  # upper case: unique ignoring case
    # None: every claim of the person; else only the claims of this tax account (levy).
    tax_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_account.id", ondelete="RESTRICT")
    )
    account_holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    signed_on: Mapped[date]
    consent_text: Mapped[str] = mapped_column(String(2000))
    status: Mapped[MandateStatus] = mapped_column(
        enum_column(MandateStatus, "sepa_mandate_status", 20),
        default=MandateStatus.ACTIVE,
    )
    status_reason: Mapped[str | None] = mapped_column(String(200))
    ended_on: Mapped[date | None]
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_mandate.id", ondelete="RESTRICT")
    )
    last_collected_on: Mapped[date | None]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)

    def lapses_on(self, rules: SepaRules) -> date:
        """The first day on which the mandate may no longer be used."""
        return add_months(self.last_collected_on or self.signed_on, rules.mandate_lapse_months)


# --------------------------------------------------------------------------- services


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


def covering(by_scope: dict[int | None, Mandate], tax_account_id: int | None) -> Mandate | None:
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
