"""Oracle tests of the dog-tax computation against the statute examples in DOMAIN.md."""

from datetime import date
from typing import Any

import pytest

from core.kernel.errors import ValidationError
from core.levies.dog_tax.rules import (
    DogFacts,
    DogTaxRules,
    add_months,
    compute_year,
    due_date,
)

QUARTERLY = [[2, 15], [5, 15], [8, 15], [11, 15]]


def rules(
    rates: list[int], dangerous: list[int] | None = None, start: str = "month_after", **extra: Any
) -> DogTaxRules:
    data = {
        "rates_cents": rates,
        "dangerous_rates_cents": dangerous or rates,
        "liability_start": start,
        "due_dates": QUARTERLY,
        "listed_breeds": ["Pitbull-Terrier"],
        **extra,
    }
    return DogTaxRules.from_data(data, source="Testsatzung")


def dog(
    dog_id: int,
    acquired: date,
    ended: date | None = None,
    *,
    dangerous: bool = False,
    exemption: str | None = None,
    born: date | None = None,
) -> DogFacts:
    return DogFacts(dog_id, f"Hund {dog_id}", born, acquired, ended, dangerous, exemption)


def total(dogs: list[DogFacts], r: DogTaxRules, year: int = 2026) -> int:
    return compute_year(dogs, lambda _m: r, year).total_cents


def test_domain_example_month_after_and_same_month() -> None:
    # acquired 17 March, 180 €/year: "month after" → April–December 9/12 = 135.00 €
    assert total([dog(1, date(2026, 3, 17))], rules([18000])) == 13500
    # "same month" → March–December 10/12 = 150.00 €
    assert total([dog(1, date(2026, 3, 17))], rules([18000], start="same_month")) == 15000


def test_second_and_further_dogs_bitburg() -> None:
    bitburg = rules([9000, 14400, 21600], [79200, 86400, 93600])
    dogs = [
        dog(1, date(2020, 1, 1)),
        dog(2, date(2021, 1, 1)),
        dog(3, date(2022, 1, 1)),
        dog(4, date(2023, 1, 1)),
    ]
    assert total(dogs[:1], bitburg) == 9000
    assert total(dogs[:2], bitburg) == 9000 + 14400
    assert total(dogs, bitburg) == 9000 + 14400 + 21600 + 21600


def test_listed_breed_pays_the_dangerous_rate() -> None:
    muenchen = rules([10000], [80000])
    assert muenchen.is_listed(" pitbull-terrier ")
    assert total([dog(1, date(2020, 5, 1), dangerous=True)], muenchen) == 80000
    bitburg = rules([9000, 14400, 21600], [79200, 86400, 93600])
    both = [dog(1, date(2020, 1, 1)), dog(2, date(2021, 1, 1), dangerous=True)]
    assert total(both, bitburg) == 9000 + 86400  # the listed dog is the second dog


def test_exemption_for_an_assistance_dog() -> None:
    r = rules(
        [9000, 14400], exemptions={"assistance": {"label": "Assistenzhund", "kind": "exempt"}}
    )
    result = compute_year([dog(1, date(2020, 1, 1), exemption="assistance")], lambda _m: r, 2026)
    assert result.total_cents == 0
    assert "steuerfrei (Assistenzhund)" in result.lines[0].description
    # exempt dogs do not count: the other dog stays the first dog
    both = [dog(1, date(2020, 1, 1), exemption="assistance"), dog(2, date(2021, 1, 1))]
    assert total(both, r) == 9000


def test_shelter_dog_exempt_for_twelve_months_then_taxed() -> None:
    r = rules(
        [10000], exemptions={"shelter": {"label": "Tierheimhund", "kind": "exempt", "months": 12}}
    )
    d = dog(1, date(2026, 6, 20), exemption="shelter")  # liable from July 2026
    assert total([d], r, 2026) == 0
    assert total([d], r, 2027) == 10000 * 6 // 12  # exempt July 2026 – June 2027, taxed July–Dec


def test_reduced_rate_for_a_limited_time_hamburg_shelter_dog() -> None:
    r = rules(
        [9000],
        exemptions={
            "shelter": {
                "label": "Tierheimhund",
                "kind": "reduced",
                "rate_cents": 4800,
                "months": 12,
            }
        },
    )
    d = dog(1, date(2025, 12, 31), exemption="shelter")  # liable from January 2026
    assert total([d], r, 2026) == 4800


def test_change_in_the_middle_of_the_year_uelzen() -> None:
    uelzen = rules([8280, 11040, 13800])
    first = dog(1, date(2019, 1, 1), ended=date(2026, 6, 10))  # dies 10 June: liable Jan–Jun
    second = dog(2, date(2020, 1, 1))
    result = compute_year([first, second], lambda _m: uelzen, 2026)
    # first dog: 6/12 × 82.80 = 41.40; second: Jan–Jun as second dog 6/12 × 110.40 = 55.20,
    # Jul–Dec as first dog 6/12 × 82.80 = 41.40
    assert [(ln.object_id, ln.months, ln.amount_cents) for ln in result.lines] == [
        (1, 6, 4140),
        (2, 6, 5520),
        (2, 6, 4140),
    ]
    assert result.total_cents == 13800


def test_puppy_is_taxed_from_three_months_of_age() -> None:
    r = rules([12000], start="same_month")
    puppy = dog(1, date(2026, 1, 5), born=date(2026, 1, 5))  # own puppy, 3 months on 5 April
    assert total([puppy], r) == 12000 * 9 // 12


def test_quarterly_instalments_add_up_exactly() -> None:
    result = compute_year([dog(1, date(2026, 3, 17))], lambda _m: rules([18000]), 2026)
    assert [i.amount_cents for i in result.instalments] == [0, 4500, 4500, 4500]
    odd = compute_year([dog(1, date(2025, 1, 1))], lambda _m: rules([8280 + 1]), 2026)
    assert sum(i.amount_cents for i in odd.instalments) == odd.total_cents == 8281


def test_hamburg_pays_half_on_15_february_and_15_august() -> None:
    hamburg = DogTaxRules.from_data(
        {
            "rates_cents": [9000],
            "dangerous_rates_cents": [60000],
            "liability_start": "month_after",
            "due_dates": [[2, 15], [8, 15]],
        },
        "Hamburg",
    )
    result = compute_year([dog(1, date(2020, 1, 1))], lambda _m: hamburg, 2026)
    assert [(i.scheduled_on, i.amount_cents) for i in result.instalments] == [
        (date(2026, 2, 15), 4500),
        (date(2026, 8, 15), 4500),
    ]


def test_statute_change_during_the_year() -> None:
    old, new = rules([9000]), rules([12000])
    result = compute_year(
        [dog(1, date(2020, 1, 1))], lambda m: old if m < 2026 * 12 + 6 else new, 2026
    )  # new from July
    assert result.total_cents == 4500 + 6000


def test_passed_due_dates_move_to_one_month_after_the_notice() -> None:
    r = rules([18000])
    inst = compute_year([dog(1, date(2026, 1, 1))], lambda _m: r, 2026).instalments
    issued = date(2026, 6, 3)
    assert [due_date(i, issued, r) for i in inst] == [
        date(2026, 7, 3),
        date(2026, 7, 3),
        date(2026, 8, 15),
        date(2026, 11, 15),
    ]


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 5), 3) == date(2027, 2, 5)


def test_incomplete_statute_is_rejected_in_german() -> None:
    with pytest.raises(ValidationError, match="Hundesteuersatzung"):
        DogTaxRules.from_data({"rates_cents": [9000]}, "x")
    with pytest.raises(ValidationError, match="Fälligkeiten"):
        DogTaxRules.from_data(
            {
                "rates_cents": [1],
                "dangerous_rates_cents": [1],
                "liability_start": "month_after",
                "due_dates": [[1, 1]] * 5,
            },
            "x",
        )
