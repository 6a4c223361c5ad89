"""The annual run computes the dog tax once per shape of an owner's dogs (YearMemo): for any
dogs, any statute change in the year and any order of owners, it gives exactly what
compute_year gives."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.levies.dog_tax.rules import DogFacts, DogTaxRules, YearMemo, compute_year

YEAR = 2026
EXEMPTIONS = {
    "assistance": {"label": "Assistenzhund", "kind": "exempt"},
    "shelter": {"label": "Tierheimhund", "kind": "exempt", "months": 12},
    "benefits": {"label": "Sozialleistungen", "kind": "reduced", "rate_cents": 4800, "months": 9},
}


def _rules(rates: list[int], start: str, counts: bool) -> DogTaxRules:
    data = {
        "rates_cents": rates,
        "dangerous_rates_cents": [r * 5 for r in rates],
        "liability_start": start,
        "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
        "exempt_dogs_count": counts,
        "exemptions": EXEMPTIONS,
    }
    return DogTaxRules.from_data(data, source="Testsatzung")


OLD = _rules([9000, 14400, 21600], "month_after", False)
NEW = _rules([12000, 15000], "same_month", True)
# few distinct values, so that owners often share a shape but for one fact
days = st.one_of(
    st.sampled_from([date(YEAR - 2, 5, 3), date(YEAR - 1, 12, 31), date(YEAR, 3, 17)]),
    st.dates(date(YEAR - 3, 1, 1), date(YEAR + 1, 2, 28)),
)
dog = st.tuples(
    days,
    st.sampled_from([None, None, 20, 100, 400, 800]),  # ended this many days after acquisition
    st.sampled_from([None, 30, 200]),  # born this many days before
    st.booleans(),
    st.sampled_from([None, None, "assistance", "shelter", "benefits", "unknown"]),
    st.sampled_from(["Bello", "Luna", "Hund mit langem Namen"]),
)
owners = st.lists(st.lists(dog, min_size=0, max_size=4), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(owners=owners, change=st.one_of(st.none(), st.integers(1, 11)))
def test_memo_gives_what_compute_year_gives(
    owners: list[list[tuple[object, ...]]], change: int | None
) -> None:
    months = [OLD if change is None or m < change else NEW for m in range(12)]
    memo, next_id = YearMemo(), 1
    # the same dogs again with one fact changed, then again, with other ids and names
    flipped = [[(*d[:3], not d[3], *d[4:]) for d in owned] for owned in owners]
    exempted = [[(*d[:4], "shelter", d[5]) for d in owned] for owned in owners]
    for owned in owners + flipped + exempted + owners[::-1]:
        dogs = []
        for acquired, ended, born, dangerous, exemption, name in owned:
            assert isinstance(acquired, date)
            dogs.append(
                DogFacts(
                    next_id,
                    f"{name} {next_id}",
                    acquired - timedelta(days=born) if isinstance(born, int) else None,
                    acquired,
                    acquired + timedelta(days=ended) if isinstance(ended, int) else None,
                    bool(dangerous),
                    exemption if isinstance(exemption, str) else None,
                )
            )
            next_id += 1
        expected = compute_year(dogs, lambda m: months[m - YEAR * 12], YEAR)
        assert memo.compute(dogs, months, YEAR) == expected
