"""What stands due per day of a person's property tax for a year after a notice (pure).

The ledger keeps one claim (or a claim and its later increases) per due date of a person's year
(keys ``property_tax:<year>:<YYYY-MM-DD>``, :func:`key`). A notice changes that standing only
by what :func:`core.levies.realtax.change_payments` says for the old and the new tax (§§ 28 to
31 GrStG, see :mod:`core.levies.property_tax.rules`):

* first notice of a year (nothing booked): the § 28 instalments of the tax; those whose due
  date has passed at notification are due together one month after it (§ 31 GrStG);
* a changed tax: per due date the difference of the new and the old instalments; the surplus
  of the due dates already passed is due one month after the notice (§ 30 (1), (3) GrStG), a
  reduction of them is a credit at once (§ 30 (2) GrStG), later due dates carry the new
  amounts;
* the same tax as booked: nothing changes — what an earlier change moved to other days stays
  there, so an annual run done twice, or again on a later day, books nothing.

A reduction lowers the day it belongs to and, where that has not enough (or for the credit of
the passed days), the latest days first: the ledger lowers the newest claims first too
(:mod:`core.levies.booking`). The amounts always add up to the new tax exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from core.levies import realtax
from core.levies.property_tax.rules import LEVY, PropertyTaxRules, instalments


def key(year: int, day: date) -> str:
    """The assessment key of a due date of a person's year."""
    return f"{LEVY}:{year}:{day.isoformat()}"


def day_of(assessment_key: str) -> date | None:
    """The due date an assessment key of this levy names (None: not one of ours)."""
    try:
        return date.fromisoformat(assessment_key.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def standing(
    booked: Mapping[date, int],
    new_total_cents: int,
    year: int,
    rules: PropertyTaxRules,
    notified_on: date,
    *,
    annual_payment: bool = False,
) -> dict[date, int]:
    """What stands due per day after a notice of ``new_total_cents`` for ``year``, given what
    stands ``booked`` per day before it (see the module docstring)."""
    old_total = sum(booked.values())
    if old_total == new_total_cents:
        return {day: cents for day, cents in booked.items() if cents}
    old = instalments(old_total, year, rules, annual_payment=annual_payment) if old_total else ()
    new = instalments(new_total_cents, year, rules, annual_payment=annual_payment)
    changes = realtax.change_payments(old, new, notified_on, rules.late_due_months)
    result = {day: cents for day, cents in booked.items() if cents}
    for payment in changes:
        if payment.amount_cents > 0:
            result[payment.due_date] = result.get(payment.due_date, 0) + payment.amount_cents
    for payment in changes:
        if payment.amount_cents < 0:
            _lower(result, -payment.amount_cents, payment.due_date, notified_on)
    return {day: cents for day, cents in result.items() if cents}


def _lower(result: dict[date, int], cents: int, day: date, notified_on: date) -> None:
    """Lower ``result`` by ``cents``: a later due date its own day first, the credit of the
    passed days (dated ``notified_on``) the passed days; then the latest days first."""
    passed = sorted((d for d in result if d <= notified_on), reverse=True)
    later = sorted((d for d in result if d > notified_on), reverse=True)
    order = ([day] if day > notified_on else []) + passed + later
    for d in order:
        part = min(result.get(d, 0), cents)
        if part:
            result[d] -= part
            cents -= part
        if not cents:
            return
    raise ValueError("reduction beyond what stands booked")  # cannot happen: new total >= 0


def labels(
    new_total_cents: int, year: int, rules: PropertyTaxRules, *, annual_payment: bool = False
) -> dict[date, str]:
    """The notice's name of each statutory due date of the year ("1. Quartal", "Jahresbetrag
    auf Antrag"); other days carry amounts moved by a change ("Nachzahlung")."""
    statutory = instalments(max(new_total_cents, 0), year, rules, annual_payment=annual_payment)
    return {p.due_date: p.label for p in statutory}
