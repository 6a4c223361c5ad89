"""Säumniszuschläge (§ 240 AO): DOMAIN.md's examples, oracle cases worked out by hand from the
statute (month ends, February, the grace over weekends and holidays, cash and cheques, partial
payments), and properties: none on ancillary claims, monotone in time, zero inside the grace,
always 1 % of a multiple of 50 €."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dunning.surcharges import (
    Channel,
    Payment,
    bears_surcharge,
    grace_end,
    surcharge_on_payment,
    surcharges,
    total_cents,
)
from core.ledger.kinds import ClaimKind
from core.tenancy.holidays import LANDS

NW = "NW"

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion


def test_domain_example_two_started_months() -> None:
    # 1,000 € due 10.05., credited 12.06.: months 11.05.–10.06. and 11.06.–10.07. → 2 × 10 €
    assert surcharge_on_payment(100_000, date(2027, 5, 10), date(2027, 6, 12), NW) == 2000


def test_domain_example_below_fifty_euro_nothing() -> None:
    assert surcharge_on_payment(4999, date(2027, 5, 10), date(2027, 8, 5), NW) == 0


@pytest.mark.parametrize(
    ("amount", "months", "expected"),
    [
        (5000, 1, 50),  # 50 € → 0.50 € a month
        (104_999, 1, 1000),  # 1,049.99 € rounded down to 1,000 €
        (105_000, 1, 1050),
        (105_000, 3, 3150),
        (123_456_78, 2, 2_469_00),  # 123,456.78 € → 123,450 € → 1,234.50 € a month
    ],
)
def test_base_rounded_down_to_fifty_euro(amount: int, months: int, expected: int) -> None:
    due = date(2027, 5, 10)
    paid = date(2027, 5 + months - 1, 10) + timedelta(days=1 if months > 1 else 20)
    assert surcharge_on_payment(amount, due, paid, NW) == expected


@pytest.mark.parametrize(
    ("due", "paid", "months"),
    [
        (date(2025, 1, 31), date(2025, 2, 28), 1),  # month 1 ends on the last day of February
        (date(2025, 1, 31), date(2025, 3, 1), 2),
        (date(2025, 1, 31), date(2025, 3, 31), 2),  # month 2 ends 31.03. (counted from 31.01.)
        (date(2025, 1, 31), date(2025, 4, 1), 3),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # leap year
        (date(2024, 1, 31), date(2024, 3, 1), 2),
        (date(2025, 2, 28), date(2025, 3, 28), 1),
        (date(2025, 2, 28), date(2025, 3, 29), 2),
        (date(2027, 5, 10), date(2027, 6, 10), 1),
        (date(2027, 5, 10), date(2027, 6, 11), 2),
    ],
)
def test_started_months_around_month_ends(due: date, paid: date, months: int) -> None:
    assert surcharge_on_payment(100_000, due, paid, NW) == months * 1000


@pytest.mark.parametrize(
    ("land", "due", "last_free", "grace"),
    [
        ("NW", date(2027, 5, 10), date(2027, 5, 13), date(2027, 5, 13)),  # Mon → Thu
        ("NW", date(2026, 1, 8), date(2026, 1, 12), date(2026, 1, 12)),  # 3rd day a Sunday
        ("NW", date(2026, 12, 22), date(2026, 12, 28), date(2026, 12, 28)),  # over Christmas
        ("NW", date(2026, 6, 1), date(2026, 6, 5), date(2026, 6, 5)),  # Fronleichnam in NRW
        ("BE", date(2026, 6, 1), date(2026, 6, 4), date(2026, 6, 4)),  # none in Berlin
        # due on Good Friday: due moves to Tuesday 07.04., grace to Friday 10.04.
        ("NW", date(2026, 4, 3), date(2026, 4, 10), date(2026, 4, 10)),
        # due on a Saturday: due Monday 09.03., grace Thursday 12.03.
        ("NW", date(2026, 3, 7), date(2026, 3, 12), date(2026, 3, 12)),
    ],
)
def test_grace_moves_past_weekends_and_holidays(
    land: str, due: date, last_free: date, grace: date
) -> None:
    assert grace_end(due, land) == grace
    assert surcharge_on_payment(100_000, due, last_free, land) == 0
    assert surcharge_on_payment(100_000, due, last_free + timedelta(days=1), land) == 1000


def test_no_grace_for_cash_and_cheques() -> None:
    due = date(2026, 3, 2)  # Monday
    assert surcharge_on_payment(100_000, due, date(2026, 3, 3), NW, Channel.TRANSFER) == 0
    assert surcharge_on_payment(100_000, due, date(2026, 3, 3), NW, Channel.CASH) == 1000
    assert surcharge_on_payment(100_000, due, date(2026, 3, 2), NW, Channel.CASH) == 0
    # a cheque counts three days after it is received (§ 224 (2) Nr. 1 AO)
    assert surcharge_on_payment(100_000, due, date(2026, 3, 2), NW, Channel.CHEQUE) == 1000
    assert surcharge_on_payment(100_000, due, date(2026, 2, 27), NW, Channel.CHEQUE) == 0


def test_a_direct_debit_counts_on_the_due_date() -> None:
    late = date(2026, 4, 20)
    assert surcharge_on_payment(100_000, date(2026, 3, 2), late, NW, Channel.DIRECT_DEBIT) == 0


def test_partial_payments_reduce_the_following_months_only() -> None:
    due = date(2027, 5, 10)
    payments = [Payment(date(2027, 5, 20), 60_000), Payment(date(2027, 7, 15), 40_000)]
    result = surcharges(100_000, due, payments, date(2027, 7, 15), NW)
    # month 1 on 1,000 € (the 600 € came late), months 2 and 3 on the 400 € left
    assert [(m.number, m.overdue_cents, m.surcharge_cents) for m in result.months] == [
        (1, 100_000, 1000),
        (2, 40_000, 400),
        (3, 40_000, 400),
    ]
    assert result.months[1].starts == date(2027, 6, 11)
    assert result.months[1].ends == date(2027, 7, 10)
    assert result.total_cents == 1800


def test_a_partial_payment_within_the_grace_is_on_time() -> None:
    payments = [Payment(date(2027, 5, 12), 60_000), Payment(date(2027, 6, 15), 40_000)]
    result = surcharges(100_000, date(2027, 5, 10), payments, date(2027, 6, 30), NW)
    assert [m.surcharge_cents for m in result.months] == [400, 400]


def test_an_open_claim_by_run_date() -> None:
    def at(day: date) -> int:
        return surcharges(100_000, date(2027, 5, 10), [], day, NW).total_cents

    assert at(date(2027, 5, 10)) == 0
    assert at(date(2027, 5, 13)) == 0  # the grace still runs
    assert at(date(2027, 5, 14)) == 1000
    assert at(date(2027, 6, 10)) == 1000
    assert at(date(2027, 6, 11)) == 2000
    assert at(date(2028, 5, 11)) == 13 * 1000


def test_cash_paid_within_the_grace_is_late_even_while_the_rest_is_not_yet() -> None:
    payments = [Payment(date(2027, 5, 11), 20_000, Channel.CASH)]
    result = surcharges(100_000, date(2027, 5, 10), payments, date(2027, 5, 12), NW)
    assert result.total_cents == 200


@pytest.mark.parametrize("kind", list(ClaimKind))
def test_which_kinds_bear_surcharges(kind: ClaimKind) -> None:
    main = {
        ClaimKind.DOG_TAX,
        ClaimKind.WASTE_FEE,
        ClaimKind.WATER_FEE,
        ClaimKind.PROPERTY_TAX,
        ClaimKind.TRADE_TAX,
        ClaimKind.ADMIN_FEE,
    }
    assert bears_surcharge(kind) is (kind in main)


# ---- properties -------------------------------------------------------------------------

lands = st.sampled_from(sorted(LANDS))
due_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
amounts = st.integers(min_value=0, max_value=10_000_000_00)
channels = st.sampled_from(list(Channel))
ancillary = st.sampled_from([k for k in ClaimKind if not bears_surcharge(k)])
payments = st.lists(
    st.builds(
        Payment,
        day=st.dates(min_value=date(2019, 12, 1), max_value=date(2033, 12, 31)),
        amount_cents=st.integers(min_value=1, max_value=5_000_000_00),
        channel=channels,
    ),
    max_size=5,
)


@untimed
@given(amounts, due_dates, payments, st.integers(0, 1500), lands, ancillary)
def test_never_on_ancillary_claims(
    amount: int, due: date, paid: list[Payment], days: int, land: str, kind: ClaimKind
) -> None:
    assert surcharges(amount, due, paid, due + timedelta(days=days), land, kind).total_cents == 0


@untimed
@given(amounts, due_dates, st.integers(0, 1000), st.integers(0, 400), lands, channels)
def test_a_later_payment_never_costs_less(
    amount: int, due: date, late: int, later: int, land: str, channel: Channel
) -> None:
    first = due + timedelta(days=late)
    second = first + timedelta(days=later)
    assert surcharge_on_payment(amount, due, first, land, channel) <= surcharge_on_payment(
        amount, due, second, land, channel
    )


@untimed
@given(amounts, due_dates, payments, st.data(), st.integers(1, 400), lands)
def test_paying_any_part_later_never_costs_less(
    amount: int, due: date, paid: list[Payment], data: st.DataObject, later: int, land: str
) -> None:
    total = sum(p.amount_cents for p in paid)
    if not paid or total > amount:  # payments allocated to the claim never exceed it
        return
    i = data.draw(st.integers(0, len(paid) - 1))
    delayed = [*paid[:i], replace(paid[i], day=paid[i].day + timedelta(days=later)), *paid[i + 1 :]]
    as_of = date(2035, 1, 1)  # after every payment: the surcharge once all have come in
    assert (
        surcharges(amount, due, paid, as_of, land).total_cents
        <= surcharges(amount, due, delayed, as_of, land).total_cents
    )


@untimed
@given(amounts, due_dates, payments, st.integers(0, 1500), st.integers(0, 400), lands)
def test_monotone_in_the_run_date(
    amount: int, due: date, paid: list[Payment], days: int, more: int, land: str
) -> None:
    earlier = due + timedelta(days=days)
    later = earlier + timedelta(days=more)
    assert (
        surcharges(amount, due, paid, earlier, land).total_cents
        <= surcharges(amount, due, paid, later, land).total_cents
    )


@untimed
@given(amounts, due_dates, st.integers(-30, 10), lands)
def test_zero_inside_the_grace(amount: int, due: date, offset: int, land: str) -> None:
    grace = grace_end(due, land)
    paid = min(due + timedelta(days=offset), grace)
    for channel in (Channel.TRANSFER, Channel.DIRECT_DEBIT):
        assert surcharge_on_payment(amount, due, paid, land, channel) == 0
    assert surcharges(amount, due, [], grace, land).total_cents == 0


@untimed
@given(amounts, due_dates, payments, st.integers(0, 1500), lands)
def test_each_month_is_one_percent_of_a_multiple_of_fifty_euro(
    amount: int, due: date, paid: list[Payment], days: int, land: str
) -> None:
    result = surcharges(amount, due, paid, due + timedelta(days=days), land)
    for month in result.months:
        assert month.base_cents % 5000 == 0
        assert 0 <= month.overdue_cents - month.base_cents < 5000
        assert month.surcharge_cents * 100 == month.base_cents
        assert month.base_cents <= amount
    assert result.total_cents % 50 == 0
    numbers = [m.number for m in result.months]
    assert numbers == sorted(set(numbers))


@untimed
@given(
    amounts,
    due_dates,
    st.one_of(st.just([]), payments),
    st.integers(-40, 1500),
    lands,
    st.one_of(st.none(), st.sampled_from(list(ClaimKind))),
)
def test_the_runs_total_is_the_month_by_month_total(
    amount: int, due: date, paid: list[Payment], days: int, land: str, kind: ClaimKind | None
) -> None:
    # total_cents counts a claim without payments directly: the same figure as month by month
    as_of = due + timedelta(days=days)
    expected = surcharges(amount, due, paid, as_of, land, kind).total_cents
    assert total_cents(amount, due, paid, as_of, land, kind) == expected


def test_the_runs_total_within_the_grace_and_after() -> None:
    # due Mon 11.05.2026; the third day, Thu 14.05., is Ascension Day: the grace runs to Fri
    # 15.05., nothing by then, month 1's 1 % from the 16th, month 2's from 12.06.
    due = date(2026, 5, 11)
    assert total_cents(100_000, due, [], date(2026, 5, 15), NW) == 0
    assert total_cents(100_000, due, [], date(2026, 5, 16), NW) == 1000
    assert total_cents(100_000, due, [], date(2026, 6, 11), NW) == 1000
    assert total_cents(100_000, due, [], date(2026, 6, 12), NW) == 2000
