"""Water fees: consumption billing, estimates and reading plausibility (pure, no database).

DOMAIN.md "Water": a base fee per meter by size per year plus a price per m³, VAT where the
utility charges it (7 %). Example: 95 m³ → 205.20 + 66.00 = 271.20 € net, 290.18 € gross.
Estimates (§ 21 AVBWasserV): without a reading (or with a faulty meter) the consumption is
estimated from the previous periods and marked as estimated. The plausibility band has no legal
number: it is a statute setting (e.g. ±50 % around last year's consumption).

The reading deadline (Ablesefrist) is a statute setting too: ``reading_deadline_days`` after the
period's last day readings must be reported (printed on the reading card; the billing run refuses
to start before it unless a clerk confirms). Without it the deadline is the period's last day:
no period is billed before it has ended.

Readings are whole cubic metres, as printed on the reading card. VAT is computed once on the
net total and rounded half-up to the cent; advance payments for the next period are the gross
amount split evenly over the statute's advance dates (cumulative, so they add up exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.kernel.errors import ValidationError
from core.kernel.money import pro_rata

LEVY = "water_fee"


@dataclass(frozen=True)
class WaterRules:
    source: str
    base_fee_year_cents: Mapping[str, int]  # meter size (e.g. "Q3 4") → net base fee a year
    price_per_m3_cents: int  # net
    vat_basis_points: int  # 700 = 7 %
    plausibility_percent: int  # allowed deviation from last year's consumption
    advance_dates: tuple[tuple[int, int], ...]
    legal_basis: str = ""
    remedy: str = ""
    reading_deadline_days: int = 0  # days after the period's end to report readings

    def reading_deadline(self, period: int) -> date:
        """The last day to report the reading of ``period`` (Ablesefrist, from the statute)."""
        return date(period, 12, 31) + timedelta(days=self.reading_deadline_days)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> WaterRules:
        try:
            rules = cls(
                source=source,
                base_fee_year_cents={
                    str(k): int(v) for k, v in data["base_fee_year_cents"].items()
                },
                price_per_m3_cents=int(data["price_per_m3_cents"]),
                vat_basis_points=int(data.get("vat_basis_points", 0)),
                plausibility_percent=int(data.get("plausibility_percent", 50)),
                advance_dates=tuple((int(m), int(d)) for m, d in data["advance_dates"]),
                legal_basis=str(data.get("legal_basis", "")),
                remedy=str(data.get("remedy", "")),
                reading_deadline_days=int(data.get("reading_deadline_days", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"Wassergebührensatzung unvollständig oder fehlerhaft: {exc}"
            ) from exc
        if not 0 <= rules.reading_deadline_days <= 366:
            raise ValidationError("Die Ablesefrist muss zwischen 0 und 366 Tagen liegen.")
        if not rules.advance_dates or 12 % len(rules.advance_dates):
            raise ValidationError("Die Abschlagstermine müssen das Jahr in gleiche Teile teilen.")
        return rules


@dataclass(frozen=True)
class Bill:
    consumption_m3: int
    estimated: bool
    consumption_cents: int  # net
    base_cents: int  # net
    vat_cents: int

    @property
    def net_cents(self) -> int:
        return self.consumption_cents + self.base_cents

    @property
    def gross_cents(self) -> int:
        return self.net_cents + self.vat_cents


def bill(
    consumption_m3: int,
    meter_size: str,
    rules: WaterRules,
    *,
    months: int = 12,
    estimated: bool = False,
) -> Bill:
    """The bill of one meter for a period of ``months`` (base fee pro rata by months)."""
    if consumption_m3 < 0:
        raise ValidationError("Der Verbrauch kann nicht negativ sein.")
    try:
        annual_base = rules.base_fee_year_cents[meter_size]
    except KeyError:
        raise ValidationError(
            f"Für die Zählergröße {meter_size} sieht die Satzung keine Grundgebühr vor."
        ) from None
    consumption = consumption_m3 * rules.price_per_m3_cents
    base = pro_rata(annual_base, months, 12)
    vat = pro_rata(consumption + base, rules.vat_basis_points, 10_000)
    return Bill(consumption_m3, estimated, consumption, base, vat)


def estimate(previous_consumptions: Sequence[int]) -> int:
    """Estimated consumption: the average of the previous periods, rounded half-up."""
    if not previous_consumptions:
        raise ValidationError("Ohne frühere Verbräuche kann nicht geschätzt werden.")
    return pro_rata(sum(previous_consumptions), 1, len(previous_consumptions))


@dataclass(frozen=True)
class Plausibility:
    below_last_reading: bool
    outside_band: bool
    consumption_m3: int | None

    @property
    def plausible(self) -> bool:
        return not (self.below_last_reading or self.outside_band)

    def messages(self, band_percent: int) -> list[str]:
        result = []
        if self.below_last_reading:
            result.append("Der Zählerstand ist kleiner als der letzte abgelesene Stand.")
        if self.outside_band:
            result.append(f"Der Verbrauch weicht um mehr als {band_percent} % vom Vorjahr ab.")
        return result


def check_reading(
    last_reading: int, new_reading: int, last_consumption_m3: int | None, band_percent: int
) -> Plausibility:
    """Plausibility of a new reading against the last reading and last year's consumption."""
    if new_reading < last_reading:
        return Plausibility(True, False, None)
    consumption = new_reading - last_reading
    outside = False
    if last_consumption_m3 is not None and last_consumption_m3 > 0:
        deviation = abs(consumption - last_consumption_m3) * 100
        outside = deviation > band_percent * last_consumption_m3
    return Plausibility(False, outside, consumption)


def advance_payments(gross_cents: int, rules: WaterRules, year: int) -> list[tuple[date, int]]:
    """Advance payments (Abschläge) for ``year`` from the last bill's gross amount."""
    n = len(rules.advance_dates)
    result, paid = [], 0
    for i, (month, day) in enumerate(rules.advance_dates, start=1):
        upto = pro_rata(gross_cents, i, n)
        result.append((date(year, month, day), upto - paid))
        paid = upto
    return result
