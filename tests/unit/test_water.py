"""Oracle tests of water billing, estimates, plausibility and advance payments (DOMAIN.md)."""

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.errors import ValidationError
from core.levies.water.rules import (
    WaterRules,
    advance_payments,
    bill,
    check_reading,
    estimate,
)

DATA = {
    "base_fee_year_cents": {"Q3 4": 6600, "Q3 10": 15840},
    "price_per_m3_cents": 216,
    "vat_basis_points": 700,
    "plausibility_percent": 50,
    "advance_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
}


def rules(**changes: Any) -> WaterRules:
    return WaterRules.from_data({**DATA, **changes}, "Wassergebührensatzung (Beispiel)")


def test_domain_example_95_cubic_metres() -> None:
    result = bill(95, "Q3 4", rules())
    assert (result.consumption_cents, result.base_cents) == (20520, 6600)
    assert result.net_cents == 27120
    assert result.gross_cents == 29018  # 7 % VAT: 18.984 → 18.98


def test_base_fee_pro_rata_for_a_meter_changed_mid_year() -> None:
    assert bill(0, "Q3 4", rules(), months=5).base_cents == 2750  # 5/12 of 66 €


def test_without_vat() -> None:
    assert bill(95, "Q3 4", rules(vat_basis_points=0)).gross_cents == 27120


def test_estimate_is_the_average_of_previous_periods() -> None:
    assert estimate([90, 95, 101]) == 95
    assert estimate([90, 91]) == 91  # 90.5 rounds half-up
    with pytest.raises(ValidationError):
        estimate([])


def test_plausibility() -> None:
    assert not check_reading(1000, 990, 95, 50).plausible  # below the last reading
    assert check_reading(1000, 990, 95, 50).below_last_reading
    assert check_reading(1000, 1095, 95, 50).plausible
    assert check_reading(1000, 1142, 95, 50).plausible  # +49.5 %
    assert not check_reading(1000, 1143, 95, 50).plausible  # +50.5 %
    assert not check_reading(1000, 1047, 95, 50).plausible  # -50.5 %
    assert check_reading(1000, 1300, None, 50).plausible  # no history: nothing to compare
    assert check_reading(1000, 1143, 95, 50).messages(50) == [
        "Der Verbrauch weicht um mehr als 50 % vom Vorjahr ab."
    ]


@given(st.integers(0, 10**9))
def test_advance_payments_add_up(gross: int) -> None:
    parts = advance_payments(gross, rules(), 2027)
    assert sum(amount for _, amount in parts) == gross
    assert [d for d, _ in parts] == [
        date(2027, 2, 15),
        date(2027, 5, 15),
        date(2027, 8, 15),
        date(2027, 11, 15),
    ]
    assert max(a for _, a in parts) - min(a for _, a in parts) <= 1


def test_unknown_meter_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="Zählergröße"):
        bill(10, "Q3 99", rules())
