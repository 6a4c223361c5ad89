"""Property tax (Grundsteuer): the Hebesatz statute and the yearly computation (pure, no ORM).

Rules and their sources:
* Tax = Messbetrag × Hebesatz / 100 (DOMAIN.md "Property tax and trade tax"; § 13, § 25 GrStG),
  exact in integer cents; the rounding of the last fraction of a cent is statute data,
  default down (no source found, see :mod:`core.levies.realtax`).
  Example (DOMAIN.md): Messbetrag 60.00 €, Hebesatz 480 % → 288.00 €.
* The Hebesatz is fixed for whole calendar years (§ 25 (1), (3) GrStG: the decision takes effect
  from 1 January of the year), so the statute of a year is the one in force on 1 January
  (:func:`rules_for_year`). One rate for Grundsteuer A (agriculture and forestry) and one for
  Grundsteuer B (§ 25 (4) GrStG: the same rate for all land of a kind in the municipality);
  from 2025 an own rate for baureife unbebaute Grundstücke (Grundsteuer C, § 25 (5) GrStG).
* Separate B rates for residential and non-residential land only where Land law allows it
  (e.g. NRW since 2025: Gesetz über die Zulassung örtlich differenzierter Hebesätze bei der
  Grundsteuer B — not in DOMAIN.md; the statute must name its basis in
  ``differentiation_basis``). Without an own C rate, C land pays the B rate for non-residential
  land (assumption: unbebaute Grundstücke are no Wohngrundstücke; no source found).
* Due dates, § 28 GrStG (DOMAIN.md): a quarter each on 15.2., 15.5., 15.8., 15.11. (odd cents on
  the first quarter, :func:`core.levies.realtax.split_evenly`; example 288.00 € → 72.00 € each);
  where the municipality decided it (§ 28 (2), statute ``small_amounts``): ≤ 15 € a year in full
  on 15.8., ≤ 30 € in halves on 15.2. and 15.8.; on application the whole year on 1.7.
  (§ 28 (3), applied for by 30.9. of the previous year; not for amounts ≤ 15 €, which § 28 (3)
  does not cover). The deadline is statute data (``annual_payment_deadline``, day and month of
  the year before, default "30.09." as § 28 (3) S. 1 GrStG): the same for a withdrawal.
* A changed or late notice for a year (§§ 29 to 31 GrStG): amounts for due dates already passed
  are due one month after notification (``late_due_months``), a reduction for them is a credit
  at once, due dates still to come carry the new amounts (:func:`change_assessment`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.levies import realtax
from core.levies.realtax import Payment, Rounding
from core.tenancy.statutes import statute_on

LEVY = "property_tax"
RESIDENTIAL, NON_RESIDENTIAL = "B_residential", "B_non_residential"
KINDS = ("A", RESIDENTIAL, NON_RESIDENTIAL, "C")  # the kinds of a tax object
KIND_LABELS = {
    "A": "Grundsteuer A (land- und forstwirtschaftliches Vermögen)",
    RESIDENTIAL: "Grundsteuer B (Wohngrundstück)",
    NON_RESIDENTIAL: "Grundsteuer B (Nichtwohngrundstück)",
    "C": "Grundsteuer C (baureifes unbebautes Grundstück)",
}
FIRST_C_YEAR = 2025  # § 25 (5) GrStG applies from the 2025 reform on
SMALL_FULL_CENTS = 1500  # § 28 (2) Nr. 1 GrStG
SMALL_HALVES_CENTS = 3000  # § 28 (2) Nr. 2 GrStG
QUARTERS = ((2, 15), (5, 15), (8, 15), (11, 15))  # § 28 (1) GrStG
ANNUAL_PAYMENT_DEADLINE = (9, 30)  # § 28 (3) S. 1 GrStG: (month, day) of the year before


@dataclass(frozen=True)
class PropertyTaxRules:
    source: str
    hebesatz: Mapping[str, int]  # per kind of KINDS, hundredths of a percent
    differentiated: bool  # separate B rates for residential and non-residential land
    small_amounts: bool = False  # the municipality applies § 28 (2) GrStG
    rounding: Rounding = "down"
    late_due_months: int = 1  # §§ 30 (1), 31 GrStG
    annual_payment_deadline: tuple[int, int] = ANNUAL_PAYMENT_DEADLINE
    legal_basis: str = ""
    remedy: str = ""  # Rechtsbehelfsbelehrung (depends on the Land: Widerspruch or Klage)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> PropertyTaxRules:
        """Statute data: ``{"hebesatz_percent": {"A": 300, "B": 550}}`` or, differentiated,
        ``{"A": …, "B_residential": …, "B_non_residential": …}`` with ``differentiation_basis``;
        optional ``"C"``, ``small_amounts`` (bool), ``rounding``, ``late_due_months``,
        ``annual_payment_deadline`` ("TT.MM."),
        ``legal_basis``, ``remedy`` (the notice's Rechtsbehelfsbelehrung)."""
        try:
            raw = dict(data["hebesatz_percent"])
            rates = {k: realtax.parse_percent(v, f"Hebesatz {k}") for k, v in raw.items()}
            rules = cls(
                source=source,
                hebesatz=_per_kind(rates, str(data.get("differentiation_basis") or "")),
                differentiated="B" not in rates,
                small_amounts=_flag(data.get("small_amounts", False)),
                rounding=realtax.parse_rounding(data.get("rounding", "down")),
                late_due_months=int(data.get("late_due_months", 1)),
                annual_payment_deadline=_day_month(data.get("annual_payment_deadline", "30.09.")),
                legal_basis=str(data.get("legal_basis", "")),
                remedy=str(data.get("remedy", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"Hebesatzsatzung Grundsteuer unvollständig: {exc}") from exc
        if not 0 <= rules.late_due_months <= 12:
            raise ValidationError("Die Nachzahlungsfrist muss 0 bis 12 Monate betragen.")
        return rules

    def rate(self, kind: str) -> int:
        if kind not in self.hebesatz:
            raise ValidationError(f"Unbekannte Grundstücksart „{kind}“.")
        return self.hebesatz[kind]

    def annual_payment_deadline_for(self, year: int) -> date:
        """The last day to apply for (or withdraw) the annual payment of ``year``."""
        month, day = self.annual_payment_deadline
        return date(year - 1, month, day)

    def with_rates(
        self, hebesatz: Mapping[str, int], differentiation_basis: str = ""
    ) -> PropertyTaxRules:
        """These rules with other Hebesätze (hundredths per kind, e.g. for the simulator):
        kinds left out keep their rate; residential and non-residential B land may differ
        only where these rules are differentiated or a Land law basis is named."""
        rates = {**self.hebesatz, **hebesatz}
        if set(rates) != set(KINDS):
            raise ValidationError("Hebesätze nur für die Arten A, B (Wohnen/Nichtwohnen) und C.")
        if any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in rates.values()):
            raise ValidationError("Ein Hebesatz muss ein Prozentsatz ab 0 sein.")
        differs = rates[RESIDENTIAL] != rates[NON_RESIDENTIAL]
        if differs and not (self.differentiated or differentiation_basis.strip()):
            raise ValidationError(_NO_BASIS)
        return PropertyTaxRules(
            self.source,
            rates,
            self.differentiated or differs,
            self.small_amounts,
            self.rounding,
            self.late_due_months,
            self.annual_payment_deadline,
            self.legal_basis,
            self.remedy,
        )


_NO_BASIS = (
    "Getrennte Hebesätze für Wohn- und Nichtwohngrundstücke sind nur zulässig, wo das "
    "Landesrecht sie erlaubt; bitte die landesrechtliche Grundlage angeben."
)


def _per_kind(rates: Mapping[str, int], basis: str) -> dict[str, int]:
    unknown = set(rates) - {"A", "B", RESIDENTIAL, NON_RESIDENTIAL, "C"}
    if unknown:
        raise ValidationError(f"Unbekannte Hebesatz-Art: {', '.join(sorted(unknown))}.")
    if "A" not in rates:
        raise ValidationError("Der Hebesatz für die Grundsteuer A fehlt.")
    split = RESIDENTIAL in rates or NON_RESIDENTIAL in rates
    if "B" in rates and split:
        raise ValidationError("Entweder ein Hebesatz B oder getrennte für Wohnen/Nichtwohnen.")
    if "B" in rates:
        b_home = b_other = rates["B"]
    elif RESIDENTIAL in rates and NON_RESIDENTIAL in rates:
        if not basis.strip():
            raise ValidationError(_NO_BASIS)
        b_home, b_other = rates[RESIDENTIAL], rates[NON_RESIDENTIAL]
    else:
        raise ValidationError("Der Hebesatz für die Grundsteuer B fehlt.")
    return {
        "A": rates["A"],
        RESIDENTIAL: b_home,
        NON_RESIDENTIAL: b_other,
        "C": rates.get("C", b_other),
    }


def _day_month(value: Any) -> tuple[int, int]:
    """ "30.09." → (9, 30): a day of every year (29 February is refused)."""
    text = str(value).strip().rstrip(".")
    try:
        day, month = (int(part) for part in text.split("."))
        date(2001, month, day)
    except ValueError as exc:
        raise ValidationError(
            f"Die Antragsfrist „{value}“ ist kein Tag des Jahres (z. B. 30.09.)."
        ) from exc
    return month, day


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"„small_amounts“ muss ja oder nein sein, nicht „{value}“.")
    return value


def rules_for_year(session: Session, municipality_id: int, year: int) -> PropertyTaxRules:
    """The Hebesatz statute of ``year``: the one in force on 1 January (§ 25 (3) GrStG); a
    statute taking effect later in a year governs from the next year on."""
    statute = statute_on(session, municipality_id, LEVY, date(year, 1, 1))
    rules = PropertyTaxRules.from_data(statute.data, statute.source)
    if year < FIRST_C_YEAR and "C" in statute.data.get("hebesatz_percent", {}):
        raise ValidationError(
            f"Einen Hebesatz C gibt es erst ab {FIRST_C_YEAR} (§ 25 Abs. 5 GrStG)."
        )
    return rules


def annual_tax(messbetrag_cents: int, kind: str, rules: PropertyTaxRules) -> int:
    """The year's tax of one object in cents (Messbetrag × Hebesatz / 100)."""
    return realtax.tax_cents(messbetrag_cents, rules.rate(kind), rules.rounding)


def instalments(
    annual_cents: int, year: int, rules: PropertyTaxRules, *, annual_payment: bool = False
) -> tuple[Payment, ...]:
    """The payments of a year's tax on the § 28 GrStG due dates; they add up to it exactly.
    ``annual_payment``: the taxpayer applied for the whole year on 1 July (§ 28 (3))."""
    if annual_cents < 0:
        raise ValidationError("Die Jahressteuer darf nicht negativ sein.")
    if annual_cents == 0:
        return ()
    if rules.small_amounts and annual_cents <= SMALL_FULL_CENTS:
        return (Payment(date(year, 8, 15), annual_cents, "Jahresbetrag (Kleinbetrag)"),)
    if annual_payment:
        return (Payment(date(year, 7, 1), annual_cents, "Jahresbetrag auf Antrag"),)
    if rules.small_amounts and annual_cents <= SMALL_HALVES_CENTS:
        first, second = realtax.split_evenly(annual_cents, 2)
        return (
            Payment(date(year, 2, 15), first, "1. Hälfte (Kleinbetrag)"),
            Payment(date(year, 8, 15), second, "2. Hälfte (Kleinbetrag)"),
        )
    amounts = realtax.split_evenly(annual_cents, len(QUARTERS))
    # a tax of a few cents leaves some quarters at 0: no payment of nothing is due then
    return tuple(
        Payment(date(year, month, day), amount, f"{i}. Quartal")
        for i, ((month, day), amount) in enumerate(zip(QUARTERS, amounts, strict=True), start=1)
        if amount
    )


def change_assessment(
    old_annual_cents: int,
    new_annual_cents: int,
    year: int,
    rules: PropertyTaxRules,
    notified_on: date,
    *,
    old_rules: PropertyTaxRules | None = None,
    annual_payment: bool = False,
) -> tuple[Payment, ...]:
    """What a new notice for ``year`` books beyond what was assessed (§§ 28 to 31 GrStG):
    the difference per due date; passed due dates are settled together (see the module
    docstring). Original payments + these = the payments of the new tax, in sum exactly."""
    old = instalments(old_annual_cents, year, old_rules or rules, annual_payment=annual_payment)
    new = instalments(new_annual_cents, year, rules, annual_payment=annual_payment)
    return realtax.change_payments(old, new, notified_on, rules.late_due_months)


def person_year(
    objects: Sequence[tuple[int, str]], rules: PropertyTaxRules
) -> tuple[tuple[int, ...], int]:
    """Per (Messbetrag, kind) of one person's objects their tax, and the sum (one notice per
    person and year lists every object; each object's tax is rounded on its own)."""
    taxes = tuple(annual_tax(messbetrag, kind, rules) for messbetrag, kind in objects)
    return taxes, sum(taxes)
