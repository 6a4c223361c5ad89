"""Trade tax in the account: the Erstattungszinsen (§ 233a AO) credited to the business by its
final trade-tax notices (core.levies.trade_tax.refund_interest), with the notice they came
from; they are part of the account's credit (Guthaben), refunded or set off with it."""

from __future__ import annotations

from typing import Any

from core.levies.trade_tax import refund_interest
from core.notices.records import Notice
from core.persons.models import Person
from portal.database import db
from portal.municipal import bp


def _refund_interest(person: Person | None) -> list[tuple[refund_interest.RefundInterest, Notice]]:
    return refund_interest.of_person(db(), person.id) if person is not None else []


@bp.app_context_processor
def _account_trade_tax() -> dict[str, Any]:
    """``refund_interest_of(person)`` for the account's partial (called where included)."""
    return {"refund_interest_of": _refund_interest}
