"""Trade tax (Gewerbesteuer): the Hebesatz statute, advance payments, the final settlement and
interest (pure, no ORM).

Rules and their sources (DOMAIN.md "Property tax and trade tax", "Trade tax settlement"):
* Tax = Messbetrag × Hebesatz / 100 (§ 16 (1) GewStG; the Messbetrag is the municipality's
  share after a Zerlegung), in integer cents; rounding of the last fraction of a cent is
  statute data, default down (no source found, :mod:`core.levies.realtax`). Example
  (DOMAIN.md): Messbetrag 1,242.50 € at 400 % → 4,970.00 €.
* The Hebesatz is at least 200 % (§ 16 (4) S. 2 GewStG; lower statute data is refused) and fixed
  for whole calendar years (§ 16 (3) GewStG): the statute in force on 1 January.
* Advance payments, § 19 GewStG: on 15.2., 15.5., 15.8., 15.11. (§ 19 (1)), each a quarter of
  the tax of the last assessment (§ 19 (2)), **rounded down to full euro** and fixed only if at
  least 50 € (§ 19 (5)). Example (DOMAIN.md): 4,970.00 € → 1,242 € each. An adjustment during the
  year (§ 19 (3)): an increase for due dates already passed is due one month after the notice,
  later due dates carry the new amount (:func:`adjust_advance_payments`).
* Final settlement, § 20 GewStG: the advance payments paid for the year are credited; the rest
  (Abschlusszahlung) is due one month after notification (§ 20 (2)), a surplus is refunded or
  set off (§ 20 (3)) — :func:`settle`.
* Interest on the difference, § 233a AO, statute data, off by default (DOMAIN.md): the interest
  period begins 15 months after the end of the year (§ 233a (2) S. 1: on 1 April of the second
  year after it) and ends on the day the assessment takes effect (§ 233a (2) S. 3); 0.15 % per
  month since 2019 (§ 233a (3) with § 238 (1a) AO), for **full months** only (§ 238 (1) S. 2);
  the amount bearing interest rounded down to a multiple of 50 € (§ 238 (2)); the interest
  rounded to full euro in the taxpayer's favour and set only from 10 € (§ 239 (2) AO). The base
  is the tax less the advance payments fixed (§ 233a (3) S. 1); refund interest only up to the
  amount refunded (§ 233a (3) S. 3; that it starts no earlier than the day of payment is not
  modelled: advance payments fall due long before the interest period). These AO details are
  not in DOMAIN.md (read from the AO).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.kernel.months import add_months
from core.levies import realtax
from core.levies.realtax import Payment, Rounding
from core.tenancy.statutes import statute_on

LEVY = "trade_tax"
MIN_HEBESATZ = 200 * realtax.PERCENT  # § 16 (4) S. 2 GewStG
MIN_ADVANCE_CENTS = 5000  # § 19 (5) GewStG
QUARTERS = ((2, 15), (5, 15), (8, 15), (11, 15))  # § 19 (1) GewStG
INTEREST_BASE_STEP_CENTS = 5000  # § 238 (2) AO
MIN_INTEREST_CENTS = 1000  # § 239 (2) S. 2 AO
DEFAULT_REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Widerspruch "
    "erhoben werden. Der Widerspruch ist schriftlich oder zur Niederschrift bei der oben "
    "genannten Stelle einzulegen. Einwendungen gegen den Gewerbesteuermessbetrag sind nicht "
    "gegen diesen Bescheid, sondern gegen den Messbescheid des Finanzamts zu richten "
    "(§ 351 Abs. 2 AO). Der Widerspruch hat keine aufschiebende Wirkung (§ 80 Abs. 2 Nr. 1 VwGO)."
)


@dataclass(frozen=True)
class InterestRules:
    rate_per_month: int  # hundredths of a percent: 15 = 0.15 % (§ 238 (1a) AO)
    waiting_months: int = 15  # § 233a (2) S. 1 AO
    legal_basis: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> InterestRules:
        rate = realtax.parse_percent(data["rate_per_month_percent"], "Zinssatz je Monat")
        waiting = int(data.get("waiting_months", 15))
        if rate <= 0 or waiting < 0:
            raise ValidationError("Zinssatz und Karenzzeit der Verzinsung müssen positiv sein.")
        return cls(rate, waiting, str(data.get("legal_basis", "")))


@dataclass(frozen=True)
class TradeTaxRules:
    source: str
    hebesatz: int  # hundredths of a percent
    rounding: Rounding = "down"
    interest: InterestRules | None = None  # None: the municipality charges no § 233a interest
    late_due_months: int = 1  # § 19 (3), § 20 (2) GewStG
    legal_basis: str = ""
    # Four eyes: a notice whose tax is above this needs an approver (no law sets it: a setting
    # of the municipality, e.g. from its Dienstanweisung; None: only refunds need one)
    approval_above_cents: int | None = None
    remedy: str = DEFAULT_REMEDY

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> TradeTaxRules:
        """``{"hebesatz_percent": 450, "interest": {"rate_per_month_percent": "0,15"}}``;
        optional ``rounding``, ``late_due_months``, ``legal_basis``, ``approval_above_euro``
        and ``remedy`` (the Rechtsbehelfsbelehrung: Widerspruch or, where the Land abolished
        it, Klage — § 68 VwGO with the Land's AGVwGO)."""
        try:
            interest = data.get("interest")
            rules = cls(
                source=source,
                hebesatz=realtax.parse_percent(data["hebesatz_percent"], "Hebesatz"),
                rounding=realtax.parse_rounding(data.get("rounding", "down")),
                interest=InterestRules.from_data(interest) if interest else None,
                late_due_months=int(data.get("late_due_months", 1)),
                legal_basis=str(data.get("legal_basis", "")),
                approval_above_cents=_euro_cents(data.get("approval_above_euro")),
                remedy=str(data.get("remedy") or DEFAULT_REMEDY),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"Hebesatzsatzung Gewerbesteuer unvollständig: {exc}") from exc
        check_hebesatz(rules.hebesatz)
        if not 0 <= rules.late_due_months <= 12:
            raise ValidationError("Die Nachzahlungsfrist muss 0 bis 12 Monate betragen.")
        return rules


def _euro_cents(value: Any) -> int | None:
    """Whole euro of statute data → cents (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"Freigabegrenze „{value}“: bitte ganze Euro angeben.")
    return value * 100


def check_hebesatz(hebesatz: int) -> None:
    if hebesatz < MIN_HEBESATZ:
        raise ValidationError(
            "Der Hebesatz der Gewerbesteuer muss mindestens 200 % betragen "
            f"(§ 16 Abs. 4 Satz 2 GewStG), nicht {realtax.format_percent(hebesatz)}."
        )


def rules_for_year(session: Session, municipality_id: int, year: int) -> TradeTaxRules:
    """The Hebesatz statute of ``year``: the one in force on 1 January (§ 16 (3) GewStG); a
    statute taking effect later in a year governs from the next year on."""
    statute = statute_on(session, municipality_id, LEVY, date(year, 1, 1))
    return TradeTaxRules.from_data(statute.data, statute.source)


def trade_tax(messbetrag_cents: int, rules: TradeTaxRules) -> int:
    """The year's tax in cents (Messbetrag × Hebesatz / 100)."""
    return realtax.tax_cents(messbetrag_cents, rules.hebesatz, rules.rounding)


def quarterly_advance(basis_tax_cents: int) -> int:
    """One advance payment: a quarter of the tax, down to full euro; 0 below 50 €
    (§ 19 (2), (5) GewStG)."""
    if basis_tax_cents < 0:
        raise ValidationError("Die Steuer als Grundlage der Vorauszahlungen ist negativ.")
    quarter = basis_tax_cents // 4 // 100 * 100
    return quarter if quarter >= MIN_ADVANCE_CENTS else 0


def advance_payments(basis_tax_cents: int, year: int) -> tuple[Payment, ...]:
    """The four advance payments of ``year`` on the tax of the last assessment, or none."""
    amount = quarterly_advance(basis_tax_cents)
    if not amount:
        return ()
    return tuple(
        Payment(date(year, month, day), amount, f"Vorauszahlung {i}. Quartal")
        for i, (month, day) in enumerate(QUARTERS, start=1)
    )


def adjust_advance_payments(
    old_basis_tax_cents: int,
    new_basis_tax_cents: int,
    year: int,
    notified_on: date,
    rules: TradeTaxRules,
) -> tuple[Payment, ...]:
    """What an adjustment of the year's advance payments books (§ 19 (3) GewStG): the
    difference per due date, passed ones together one month after the notice."""
    return realtax.change_payments(
        advance_payments(old_basis_tax_cents, year),
        advance_payments(new_basis_tax_cents, year),
        notified_on,
        rules.late_due_months,
    )


@dataclass(frozen=True)
class Settlement:
    tax_cents: int
    advance_paid_cents: int
    kind: Literal["Abschlusszahlung", "Erstattung", "ausgeglichen"]
    amount_cents: int  # positive: to pay; negative: refunded or set off
    due_date: date
    interest_cents: int  # positive: Nachzahlungszinsen; negative: Erstattungszinsen

    @property
    def total_cents(self) -> int:
        return self.amount_cents + self.interest_cents


def settle(
    tax_cents: int,
    advance_paid_cents: int,
    year: int,
    notified_on: date,
    rules: TradeTaxRules,
    *,
    advance_fixed_cents: int | None = None,
    refundable_paid_cents: int | None = None,
) -> Settlement:
    """The final assessment of ``year`` against the advance payments paid (§ 20 GewStG), with
    § 233a AO interest where the statute charges it (base: the advance payments fixed,
    by default those paid; refund interest at most on what was paid beyond the tax,
    ``refundable_paid_cents`` by default the advance payments paid)."""
    if min(tax_cents, advance_paid_cents, advance_fixed_cents or 0) < 0:
        raise ValidationError("Steuer und Vorauszahlungen dürfen nicht negativ sein.")
    balance = tax_cents - advance_paid_cents
    fixed = advance_paid_cents if advance_fixed_cents is None else advance_fixed_cents
    interest = 0
    if rules.interest is not None:
        paid = advance_paid_cents if refundable_paid_cents is None else refundable_paid_cents
        refund = max(0, paid - tax_cents)
        interest = interest_cents(tax_cents - fixed, refund, year, notified_on, rules.interest)
    if balance > 0:
        due = add_months(notified_on, rules.late_due_months)
        return Settlement(tax_cents, advance_paid_cents, "Abschlusszahlung", balance, due, interest)
    kind: Literal["Erstattung", "ausgeglichen"] = "Erstattung" if balance else "ausgeglichen"
    return Settlement(tax_cents, advance_paid_cents, kind, balance, notified_on, interest)


def interest_start(year: int, waiting_months: int = 15) -> date:
    """First day of the § 233a interest period: ``waiting_months`` after the year's end."""
    return add_months(date(year + 1, 1, 1), waiting_months)


def full_months(start: date, effective_on: date) -> int:
    """Full months from ``start`` up to and including ``effective_on`` (§ 238 (1) S. 2 AO)."""
    months = 0
    while add_months(start, months + 1) <= effective_on + timedelta(days=1):
        months += 1
    return months


def interest_basis(
    difference_cents: int, refund_cents: int, year: int, effective_on: date, rules: InterestRules
) -> tuple[int, int, date]:
    """What § 233a interest is computed from, as the notice explains it: the amount bearing
    interest (down to a multiple of 50 €, a refund's limited to the amount refunded), the full
    months and the first day of the interest period."""
    base = difference_cents if difference_cents >= 0 else min(-difference_cents, refund_cents)
    start = interest_start(year, rules.waiting_months)
    base_abs = abs(base) // INTEREST_BASE_STEP_CENTS * INTEREST_BASE_STEP_CENTS
    return base_abs, full_months(start, effective_on), start


def interest_cents(
    difference_cents: int, refund_cents: int, year: int, effective_on: date, rules: InterestRules
) -> int:
    """§ 233a AO interest on ``difference_cents`` (tax − advance payments fixed): positive owed
    by the taxpayer, negative owed to them (limited to ``refund_cents``); 0 below 10 €."""
    base = difference_cents if difference_cents >= 0 else -min(-difference_cents, refund_cents)
    base_abs, months, _start = interest_basis(
        difference_cents, refund_cents, year, effective_on, rules
    )
    raw = base_abs * rules.rate_per_month * months  # in cents × 10_000
    # § 239 (2) AO: to full euro in the taxpayer's favour (down when owed, up when refunded)
    euros = raw // 1_000_000 if base > 0 else -(-raw // 1_000_000)
    amount = euros * 100
    if amount < MIN_INTEREST_CENTS:
        return 0
    return amount if base > 0 else -amount
