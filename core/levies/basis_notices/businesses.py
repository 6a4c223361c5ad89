"""Which business of a municipality a Steuernummer names: the person of its trade-tax object
(the Finanzamt's Gewerbesteuermessbescheide, :class:`~.models.TaxObject`). The company-account
log-in (core/representation/company_account.py) finds the organisation this way — never by
name or e-mail (several demo businesses share a name).

Steuernummern are compared by their digits only ("0599/500/00002" = "0599 500 00002"); the
13-digit nationwide form of ELSTER is not converted (its digits differ per federal state), so a
provider must pass the form the Finanzamt uses in its notices.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.levies.basis_notices.models import TaxKind, TaxObject
from core.persons.models import Person, PersonKind

_SEPARATORS = ("/", " ", "-", ".")


def tax_number_digits(value: str) -> str:
    """The digits of a Steuernummer; empty when it holds anything else or is implausible."""
    digits = value.strip()
    for separator in _SEPARATORS:
        digits = digits.replace(separator, "")
    return digits if digits.isdigit() and 10 <= len(digits) <= 13 else ""


def business_by_tax_number(
    session: Session, municipality_id: int, tax_number: str
) -> Person | None:
    """The business of this municipality with this trade-tax Steuernummer, or None."""
    digits = tax_number_digits(tax_number)
    if not digits:
        return None
    folded: ColumnElement[str] = func.trim(TaxObject.reference)
    for separator in _SEPARATORS:
        folded = func.replace(folded, separator, "")
    return session.scalars(
        select(Person)
        .join(TaxObject, TaxObject.person_id == Person.id)
        .where(
            TaxObject.municipality_id == municipality_id,
            TaxObject.tax == TaxKind.TRADE_TAX,
            folded == digits,
            Person.municipality_id == municipality_id,
            Person.kind == PersonKind.BUSINESS,
        )
        .order_by(TaxObject.id)
    ).first()
