"""A notice as pre-notification of a direct debit (DOMAIN.md "SEPA"): when an active mandate
covers the notice's levy, the notice names the mandate and, for every row still open, the day
it will be collected. Only future collections are announced: a row already paid (or in
collection) is not announced again.

The facts are computed here, one layer above the notices, and handed to them as plain data
(:func:`core.notices.records.new_notice` stores the snapshot as given).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.ledger.models import TaxAccount
from core.notices.records import SCHEDULES, Notice, replace_payment_rows
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa.bank_days import next_target_day
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def open_cents(row: dict[str, Any]) -> int:
    """What of a payment row was still to pay when the notice was issued."""
    return int(row["amount_cents"]) - int(row.get("paid_cents", 0))


def direct_debit_facts(
    session: Session, municipality: Municipality, person: Person, levy: str, issued_on: date
) -> dict[str, str] | None:
    """Mandate facts for a notice whose levy an active mandate covers, or None (also when the
    municipality has no direct-debit rules). ``earliest`` is the first day a collection may be
    made after this notice (pre-notification period, then the next bank day)."""
    by_scope = mandates.active_by_person(session, municipality.id, [person.id]).get(person.id)
    if not by_scope:
        return None
    account_id = session.scalar(
        select(TaxAccount.id).where(TaxAccount.person_id == person.id, TaxAccount.levy == levy)
    )
    mandate = mandates.covering(by_scope, account_id)
    if mandate is None:
        return None
    try:
        earliest = prenotifications.earliest_collection(session, municipality.id, issued_on)
    except NotFound:
        return None
    return {
        "reference": mandate.reference,
        "masked_iban": mandate.masked_iban,
        "creditor_id": municipality.creditor_id,
        "earliest": earliest.isoformat(),
    }


def with_direct_debit(
    session: Session,
    municipality: Municipality,
    person: Person,
    levy: str,
    issued_on: date,
    data: dict[str, Any],
) -> dict[str, Any]:
    """A notice's snapshot, with the mandate facts and collection days where a mandate pays."""
    debit = direct_debit_facts(session, municipality, person, levy, issued_on)
    if debit is None:
        return data
    return {
        **data,
        "direct_debit": debit,
        **{
            table: [_prenotified(row, debit["earliest"]) for row in data[table]]
            for table in SCHEDULES
            if table in data
        },
    }


def replace_rows(notice: Notice, tables: dict[str, list[dict[str, Any]]]) -> None:
    """The payment tables after the notice's booking into its snapshot, with collection days
    for what is still open under the notice's mandate."""
    debit = notice.data.get("direct_debit")
    replace_payment_rows(
        notice,
        {
            name: [_prenotified(row, debit["earliest"]) for row in rows] if debit else rows
            for name, rows in tables.items()
        },
    )


def _prenotified(row: dict[str, Any], earliest: str) -> dict[str, Any]:
    """A row with the day its open amount will be collected."""
    if open_cents(row) <= 0:
        return row
    day = next_target_day(date.fromisoformat(max(row["due_date"], earliest)))
    return {**row, "collection_date": day.isoformat()}
