"""Mahngebühren: the NRW model (§ 9 (2) with § 17 (3) VO VwVG NRW) and the federal one (§ 19 (2)
VwVG), with oracle values worked out from the texts, and properties: within min and max, full
euro, never falling as the amount grows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dunning.fees import FeeModel, federal_fee, nrw_fee
from core.kernel.errors import ValidationError

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion


@pytest.mark.parametrize(
    ("dunned", "fee", "capped"),
    [
        (1, 600, 600),
        (3000, 600, 600),
        (5000, 600, 600),  # up to and including 50 €: 6 €
        (5099, 600, 600),  # 50.99 € → 50 € (amounts rounded down to full euro)
        (14999, 600, 600),  # 149 € → 6 € + 0.99 € → 6 € (the fee rounded down too)
        (15000, 700, 700),  # 150 € → 6 € + 1 €
        (123456, 1700, 1700),  # 1,234.56 € → 1,234 € → 6 € + 11.84 € → 17 €
        (465000, 5200, 5200),  # 4,650 € → exactly 52 €
        (475000, 5300, 5200),  # above it only where no surcharges are charged
        (1000000, 10500, 5200),  # 10,000 € → 6 € + 99.50 € → 105 €
    ],
)
def test_nrw_fee(dunned: int, fee: int, capped: int) -> None:
    assert nrw_fee(dunned, surcharges_charged=False) == fee
    assert nrw_fee(dunned, surcharges_charged=True) == capped


@pytest.mark.parametrize(
    ("dunned", "fee"),
    [
        (1, 500),  # at least 5 €
        (10000, 500),  # 100 € → 0.50 € → 1 € → 5 €
        (100000, 500),  # 1,000 € → exactly 5 €
        (100001, 600),  # 5.00005 € rounded up to 6 €
        (200000, 1000),
        (250050, 1300),  # 2,500.50 € → 12.5025 € → 13 €
        (3000000, 15000),  # 30,000 € → 150 €
        (4000000, 15000),  # at most 150 €
    ],
)
def test_federal_fee(dunned: int, fee: int) -> None:
    assert federal_fee(dunned) == fee


def test_models_from_statute_data() -> None:
    assert FeeModel.from_data(None).fee(100000, surcharges_charged=True) == 0
    assert FeeModel.from_data({"model": "none"}).fee(100000, surcharges_charged=True) == 0
    fixed = FeeModel.from_data({"model": "fixed", "amount_cents": 250})
    assert fixed.fee(100000, surcharges_charged=True, already_charged=True) == 250
    assert fixed.fee(0, surcharges_charged=True) == 0  # nothing dunned, no fee
    nrw = FeeModel.from_data({"model": "nrw"})
    assert nrw.fee(10000, surcharges_charged=True) == 600
    assert nrw.fee(10000, surcharges_charged=True, already_charged=True) == 0  # once per claim
    federal = FeeModel.from_data({"model": "federal"})
    assert federal.fee(10000, surcharges_charged=True, already_charged=True) == 500


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "bavarian"}, "Unbekanntes Gebührenmodell"),
        ({}, "Unbekanntes Gebührenmodell"),
        ({"model": "fixed"}, "fehlt der Betrag"),
        ({"model": "fixed", "amount_cents": -1}, "ab 0"),
        ({"model": "fixed", "amount_cents": "5"}, "ab 0"),
        ({"model": "fixed", "amount_cents": True}, "ab 0"),
        ({"model": "nrw", "amount_cents": 500}, "keinen festen Betrag"),
    ],
)
def test_wrong_fee_data_is_refused_in_german(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeeModel.from_data(data)


amounts = st.integers(min_value=1, max_value=10_000_000_00)


@untimed
@given(amounts, st.booleans())
def test_nrw_fee_within_its_bounds(dunned: int, surcharges: bool) -> None:
    fee = nrw_fee(dunned, surcharges_charged=surcharges)
    assert fee % 100 == 0 and fee >= 600
    if surcharges:
        assert fee <= 5200
    assert fee <= 600 + max(dunned - 5000, 0) // 100


@untimed
@given(amounts)
def test_federal_fee_within_its_bounds(dunned: int) -> None:
    fee = federal_fee(dunned)
    assert fee % 100 == 0 and 500 <= fee <= 15000
    assert fee >= min(dunned // 200, 15000)  # never less than half a percent, up to the cap


@untimed
@given(amounts, amounts, st.booleans())
def test_fees_never_fall_as_the_amount_grows(a: int, b: int, surcharges: bool) -> None:
    low, high = sorted((a, b))
    assert nrw_fee(low, surcharges_charged=surcharges) <= nrw_fee(
        high, surcharges_charged=surcharges
    )
    assert federal_fee(low) <= federal_fee(high)
