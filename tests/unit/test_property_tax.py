"""Property tax (Grundsteuer): DOMAIN.md's example ("Property tax and trade tax": Messbetrag
60.00 at 480 % → 288.00 € → 72.00 € on each quarter date), the § 28 GrStG small-amount and
annual-payment rules, differentiated B rates, the statute's German refusals, and properties:
instalments add up to the tax and fall on the legal dates; original + change = new."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.errors import ValidationError
from core.kernel.months import add_months
from core.levies.property_tax.rules import (
    KINDS,
    NON_RESIDENTIAL,
    RESIDENTIAL,
    PropertyTaxRules,
    annual_tax,
    change_assessment,
    instalments,
    person_year,
)
from core.levies.realtax import Payment, format_percent, parse_percent, tax_cents, total

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion
LEGAL_DATES = {(2, 15), (5, 15), (8, 15), (11, 15), (7, 1)}  # § 28 (1) to (3) GrStG


def rules(small: bool = False, **rates: object) -> PropertyTaxRules:
    data: dict[str, object] = {"hebesatz_percent": rates or {"A": 300, "B": 480}}
    if small:
        data["small_amounts"] = True
    if RESIDENTIAL in (rates or {}):
        data["differentiation_basis"] = "NRW-Gesetz über differenzierte Hebesätze (2024)"
    return PropertyTaxRules.from_data(data, "Hebesatzsatzung Test")


def test_domain_example_288_euro_in_four_quarters() -> None:
    tax = annual_tax(6000, RESIDENTIAL, rules())
    assert tax == 28800
    assert instalments(tax, 2026, rules()) == (
        Payment(date(2026, 2, 15), 7200, "1. Quartal"),
        Payment(date(2026, 5, 15), 7200, "2. Quartal"),
        Payment(date(2026, 8, 15), 7200, "3. Quartal"),
        Payment(date(2026, 11, 15), 7200, "4. Quartal"),
    )


def test_fraction_of_a_cent_rounded_down_by_default_half_up_by_statute() -> None:
    # 12.34 € × 455 % = 56.147 € → 56.14 € (down) / 56.15 € (half up)
    assert annual_tax(1234, "A", rules(A=455, B=455)) == 5614
    half_up = PropertyTaxRules.from_data(
        {"hebesatz_percent": {"A": 455, "B": 455}, "rounding": "half_up"}, "x"
    )
    assert annual_tax(1234, "A", half_up) == 5615
    assert tax_cents(1234, parse_percent("412,5", "H")) == 5090  # 50.9025 €


def test_odd_cents_go_to_the_first_quarter() -> None:
    amounts = [p.amount_cents for p in instalments(10003, 2026, rules())]
    assert amounts == [2503, 2500, 2500, 2500]


@pytest.mark.parametrize(
    ("tax", "expected"),
    [
        (1500, [((8, 15), 1500)]),  # ≤ 15 € in full on 15.8.
        (1501, [((2, 15), 751), ((8, 15), 750)]),  # ≤ 30 € in halves
        (3000, [((2, 15), 1500), ((8, 15), 1500)]),
        (3001, [((2, 15), 751), ((5, 15), 750), ((8, 15), 750), ((11, 15), 750)]),
    ],
)
def test_small_amounts_where_the_municipality_decided_it(
    tax: int, expected: list[tuple[tuple[int, int], int]]
) -> None:
    got = [
        ((p.due_date.month, p.due_date.day), p.amount_cents)
        for p in instalments(tax, 2026, rules(True))
    ]
    assert got == expected


def test_without_the_small_amount_decision_always_quarters() -> None:
    assert len(instalments(1200, 2026, rules())) == 4


def test_annual_payment_on_application_on_1_july_but_not_for_amounts_up_to_15_euro() -> None:
    assert instalments(28800, 2026, rules(), annual_payment=True) == (
        Payment(date(2026, 7, 1), 28800, "Jahresbetrag auf Antrag"),
    )
    assert instalments(2500, 2026, rules(True), annual_payment=True)[0].due_date == date(2026, 7, 1)
    # § 28 (3) only deviates from (1) and (2) Nr. 2: ≤ 15 € stays due on 15.8.
    assert instalments(1000, 2026, rules(True), annual_payment=True)[0].due_date == date(
        2026, 8, 15
    )


def test_no_tax_no_instalments() -> None:
    assert instalments(0, 2026, rules()) == ()


def test_differentiated_rates_for_residential_and_non_residential_land() -> None:
    nrw = rules(A=290, B_residential=595, B_non_residential=1080)
    assert annual_tax(10000, RESIDENTIAL, nrw) == 59500
    assert annual_tax(10000, NON_RESIDENTIAL, nrw) == 108000
    assert annual_tax(10000, "C", nrw) == 108000  # no own C rate: the non-residential B rate
    with_c = rules(A=290, B=500, C=2000)
    assert annual_tax(10000, "C", with_c) == 200000
    assert annual_tax(10000, NON_RESIDENTIAL, with_c) == annual_tax(10000, RESIDENTIAL, with_c)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hebesatz_percent": {"B": 480}}, "Grundsteuer A fehlt"),
        ({"hebesatz_percent": {"A": 300}}, "Grundsteuer B fehlt"),
        (
            {"hebesatz_percent": {"A": 300, "B_residential": 500, "B_non_residential": 900}},
            "Landesrecht",
        ),
        ({"hebesatz_percent": {"A": 300, "B": 500, "B_residential": 500}}, "Entweder"),
        ({"hebesatz_percent": {"A": 300, "B": 480.5}}, "kein Prozentsatz"),
        ({"hebesatz_percent": {"A": 300, "B": -1}}, "nicht negativ"),
        ({"hebesatz_percent": {"A": 300, "B": "viel"}}, "kein Prozentsatz"),
        ({"hebesatz_percent": {"A": 300, "B": 480, "X": 1}}, "Unbekannte Hebesatz-Art"),
        ({"hebesatz_percent": {"A": 300, "B": 480}, "small_amounts": "ja"}, "ja oder nein"),
        ({"hebesatz_percent": {"A": 300, "B": 480}, "rounding": "up"}, "Rundung"),
        ({}, "unvollständig"),
    ],
)
def test_faulty_statute_data_refused_in_german(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PropertyTaxRules.from_data(data, "x")


def test_simulated_separate_rates_need_a_land_law_basis() -> None:
    with pytest.raises(ValidationError, match="Landesrecht"):
        rules().with_rates({RESIDENTIAL: 50000, NON_RESIDENTIAL: 90000})
    split = rules().with_rates({RESIDENTIAL: 50000, NON_RESIDENTIAL: 90000}, "NRW 2024")
    assert split.differentiated and split.rate(NON_RESIDENTIAL) == 90000
    assert rules().with_rates({RESIDENTIAL: 50000, NON_RESIDENTIAL: 50000}).rate("A") == 30000
    with pytest.raises(ValidationError, match="Grundstücksart"):
        rules().rate("Z")


def test_percent_notation() -> None:
    assert parse_percent("412,5", "H") == 41250 and parse_percent("0.15", "Z") == 15
    assert format_percent(48000) == "480 %" and format_percent(41250) == "412,5 %"
    assert format_percent(15) == "0,15 %"


def test_person_year_rounds_each_object_on_its_own() -> None:
    taxes, whole = person_year([(1234, "A"), (1234, "A")], rules(A=455, B=455))
    assert taxes == (5614, 5614) and whole == 11228


def test_change_after_two_due_dates_passed() -> None:
    # 288.00 € → 300.01 €, notified 1.6.: the two passed quarters' difference (3.01 + 3.00)
    # one month after the notice (§ 30 (1), (3) GrStG), the later quarters 3.00 € more each
    got = change_assessment(28800, 30001, 2026, rules(), date(2026, 6, 1))
    assert [(p.due_date, p.amount_cents) for p in got] == [
        (date(2026, 7, 1), 601),
        (date(2026, 8, 15), 300),
        (date(2026, 11, 15), 300),
    ]


def test_reduction_credits_passed_due_dates_at_once() -> None:
    got = change_assessment(28800, 14400, 2026, rules(), date(2026, 9, 1))
    assert [(p.due_date, p.amount_cents) for p in got] == [
        (date(2026, 9, 1), -10800),  # three passed quarters 36 € less each: credited (§ 30 (2))
        (date(2026, 11, 15), -3600),
    ]


def test_notice_on_a_due_date_counts_it_as_passed() -> None:
    got = change_assessment(0, 28800, 2026, rules(), date(2026, 5, 15))
    assert (got[0].due_date, got[0].amount_cents) == (date(2026, 6, 15), 14400)


tax_amounts = st.integers(min_value=0, max_value=50_000_000)


@untimed
@given(tax_amounts, st.booleans(), st.booleans(), st.integers(2020, 2040))
def test_instalments_add_up_and_fall_on_legal_dates(
    tax: int, small: bool, annual: bool, year: int
) -> None:
    payments = instalments(tax, year, rules(small), annual_payment=annual)
    assert total(payments) == tax
    assert all(p.amount_cents > 0 for p in payments)
    assert {(p.due_date.month, p.due_date.day) for p in payments} <= LEGAL_DATES
    assert all(p.due_date.year == year for p in payments)
    assert len({p.due_date for p in payments}) == len(payments)


@untimed
@given(
    tax_amounts,
    tax_amounts,
    st.booleans(),
    st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 3, 1)),
)
def test_original_plus_change_is_the_new_tax(
    old: int, new: int, small: bool, notified: date
) -> None:
    r = rules(small)
    change = change_assessment(old, new, 2026, r, notified)
    assert total(instalments(old, 2026, r)) + total(change) == new

    # later due dates carry exactly the new amounts; the passed ones are settled in one sum
    # (a month after the notice, or at once when it is a credit)
    def later(payments: tuple[Payment, ...]) -> dict[date, int]:
        return {p.due_date: p.amount_cents for p in payments if p.due_date > notified}

    new_later, old_later = later(instalments(new, 2026, r)), later(instalments(old, 2026, r))
    settled = [p for p in change if p.label.endswith("bereits fällige Beträge")]
    assert len(settled) <= 1
    for p in change:
        if p not in settled:
            assert p.due_date > notified
            assert p.amount_cents == new_later.get(p.due_date, 0) - old_later.get(p.due_date, 0)
    for p in settled:
        assert p.due_date == (add_months(notified, 1) if p.amount_cents > 0 else notified)
    assert all(p.amount_cents for p in change)


@untimed
@given(st.integers(0, 10**9), st.sampled_from(KINDS), st.integers(0, 200_000))
def test_tax_is_the_exact_product_rounded_down(
    messbetrag: int, kind: str, percent_hundredths: int
) -> None:
    r = rules().with_rates({k: percent_hundredths for k in KINDS})
    tax = annual_tax(messbetrag, kind, r)
    assert tax * 10_000 <= messbetrag * percent_hundredths < (tax + 1) * 10_000


@pytest.mark.parametrize("rate", [-1, 480.0, True, "480"])
def test_simulated_rates_must_be_whole_hundredths_of_a_percent(rate: object) -> None:
    with pytest.raises(ValidationError, match="Prozentsatz ab 0"):
        rules().with_rates({"A": rate})  # type: ignore[dict-item]


def test_negative_amounts_refused() -> None:
    with pytest.raises(ValidationError, match="Messbetrag"):
        annual_tax(-1, "A", rules())
    with pytest.raises(ValidationError, match="negativ"):
        instalments(-1, 2026, rules())


def test_a_tax_of_a_few_cents_has_no_empty_quarters() -> None:
    payments = instalments(3, 2026, rules(False))  # the odd cents go to the first quarter
    assert [(p.due_date, p.amount_cents) for p in payments] == [(date(2026, 2, 15), 3)]
