"""Dunning fees (Mahngebühren) as selectable fee models: pure and exact, integer cents.

The amount a fee is computed from (``dunned_cents``) is the main claims' open amount only:
surcharges, interest and costs claimed alongside a main claim do not count (§ 17 (1) 1 VO VwVG
NRW); whether several claims of one letter are summed is the caller's choice (§ 17 (1) 2 allows
it). Sources (shared DOMAIN.md "Late payment and dunning"):

* ``nrw`` — § 9 (2) VO VwVG NRW: 6 € for amounts up to and including 50 €, plus 1 % of the
  amount above 50 €; at most 52 € where Säumniszuschläge (§ 240 AO, § 12 KAG NRW, § 18 GebG NRW)
  are charged as well; once per claim even when dunned again. Rounding, § 17 (3) VO VwVG NRW: the
  amount is rounded down to full euro, and so is the fee. Example: 1,234.56 € → 1,234 € →
  6 € + 11.84 € = 17.84 € → 17 €.
* ``federal`` — § 19 (2) VwVG (Bund): 0.5 % of the amount dunned, at least 5 €, at most 150 €,
  rounded up to full euro; for every Mahnung.
* ``fixed`` — a flat fee per letter, as a municipality's statute sets it (``amount_cents``).
* ``none`` — no fee (a Zahlungserinnerung).
The fee arises when the letter is posted (§ 9 (3) VO VwVG NRW); booking it is the run's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.kernel.errors import ValidationError

FeeModelName = Literal["none", "fixed", "nrw", "federal"]
FEE_MODELS: tuple[FeeModelName, ...] = ("none", "fixed", "nrw", "federal")

NRW_BASE_FEE_CENTS = 600
NRW_BASE_AMOUNT_CENTS = 5000
NRW_CAP_WITH_SURCHARGES_CENTS = 5200
FEDERAL_MIN_CENTS = 500
FEDERAL_MAX_CENTS = 15000
EURO = 100


def nrw_fee(dunned_cents: int, *, surcharges_charged: bool) -> int:
    """§ 9 (2) with § 17 (3) VO VwVG NRW, in cents."""
    euros = max(dunned_cents, 0) // EURO  # the amount rounded down to full euro
    fee = NRW_BASE_FEE_CENTS + max(euros * EURO - NRW_BASE_AMOUNT_CENTS, 0) // 100  # 1 %
    fee = fee // EURO * EURO  # the fee rounded down to full euro
    return min(fee, NRW_CAP_WITH_SURCHARGES_CENTS) if surcharges_charged else fee


def federal_fee(dunned_cents: int) -> int:
    """§ 19 (2) VwVG: half a percent, rounded up to full euro, within 5 € and 150 €."""
    euros_up = -(-max(dunned_cents, 0) // (200 * EURO))  # ceil(cents / 200 / 100 cents)
    return min(max(euros_up * EURO, FEDERAL_MIN_CENTS), FEDERAL_MAX_CENTS)


@dataclass(frozen=True)
class FeeModel:
    model: FeeModelName
    amount_cents: int = 0  # only for "fixed"

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> FeeModel:
        if data is None:
            return cls("none")
        model = data.get("model")
        if model not in FEE_MODELS:
            raise ValidationError(
                f"Unbekanntes Gebührenmodell „{model}“; möglich: {', '.join(FEE_MODELS)}."
            )
        amount = data.get("amount_cents", 0)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValidationError("Die feste Mahngebühr muss ein Betrag in Cent ab 0 sein.")
        if model == "fixed" and "amount_cents" not in data:
            raise ValidationError("Für eine feste Mahngebühr fehlt der Betrag (amount_cents).")
        if model != "fixed" and amount:
            raise ValidationError(f"Das Gebührenmodell „{model}“ nimmt keinen festen Betrag.")
        return cls(model, amount)

    @property
    def once_per_claim(self) -> bool:
        """NRW charges the fee once per claim, however often it is dunned (§ 9 (2) 3)."""
        return self.model == "nrw"

    def fee(
        self, dunned_cents: int, *, surcharges_charged: bool, already_charged: bool = False
    ) -> int:
        """The fee of one letter for ``dunned_cents``; ``already_charged``: a fee of this
        model was charged for the claim before (matters where it is due once per claim)."""
        if self.model == "none" or dunned_cents <= 0:
            return 0
        if self.once_per_claim and already_charged:
            return 0
        if self.model == "nrw":
            return nrw_fee(dunned_cents, surcharges_charged=surcharges_charged)
        if self.model == "federal":
            return federal_fee(dunned_cents)
        return self.amount_cents
