from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.money import (
    MAX_STORED_CENTS,
    MoneyParseError,
    cents,
    format_euro,
    from_decimal,
    parse_decimal_euro,
    parse_euro,
    pro_rata,
    to_decimal,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("135,25", 13525),
        ("1.234,56 €", 123456),
        ("12", 1200),
        ("12,5", 1250),
        ("0,01", 1),
        ("-3,00", -300),
        ("1.000.000,00 EUR", 100000000),
    ],
)
def test_parse_german_amounts(text: str, expected: int) -> None:
    assert parse_euro(text) == expected


@pytest.mark.parametrize("text", ["12.50", "1,234", "abc", "", "1.23,00", "12,345"])
def test_parse_rejects_ambiguous_or_wrong_text(text: str) -> None:
    with pytest.raises(MoneyParseError):
        parse_euro(text)


def test_format_euro() -> None:
    assert format_euro(123456) == "1.234,56 €"
    assert format_euro(5) == "0,05 €"
    assert format_euro(-1999) == "-19,99 €"
    assert format_euro(100, symbol=False) == "1,00"


@given(st.integers(min_value=-MAX_STORED_CENTS, max_value=MAX_STORED_CENTS))
def test_format_and_parse_round_trip(value: int) -> None:
    assert parse_euro(format_euro(value)) == value


def test_cents_rejects_float_and_bool() -> None:
    with pytest.raises(TypeError):
        cents(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cents(True)
    assert cents(5) == 5


def test_decimal_conversions_are_exact() -> None:
    assert from_decimal(Decimal("0.005")) == 1  # half-up
    assert from_decimal(Decimal("0.004")) == 0
    assert to_decimal(29018) == Decimal("290.18")
    assert parse_decimal_euro("135.25") == 13525
    with pytest.raises(MoneyParseError):
        parse_decimal_euro("1.005")


def test_pro_rata_examples_from_domain() -> None:
    # DOMAIN.md dog tax: 9/12 of 180 € = 135.00 €; 10/12 = 150.00 €
    assert pro_rata(18000, 9, 12) == 13500
    assert pro_rata(18000, 10, 12) == 15000
    # 1/12 of 82.80 € = 6.90 €; 1/12 of 100 € = 8.333… → 8.33 €; 5/12 of 100 € = 41.666… → 41.67 €
    assert pro_rata(8280, 1, 12) == 690
    assert pro_rata(10000, 1, 12) == 833
    assert pro_rata(10000, 5, 12) == 4167
    assert pro_rata(1, 1, 2) == 1  # half a cent rounds up


@given(st.integers(0, 10**9), st.integers(0, 12), st.integers(1, 12))
def test_pro_rata_matches_decimal_half_up(annual: int, num: int, den: int) -> None:
    expected = from_decimal(Decimal(annual) * num / den / 100)
    assert pro_rata(annual, num, den) == expected


@pytest.mark.parametrize(
    "text",
    [
        "9" * 5000,  # more digits than Python's int() reads (a plain ValueError before)
        "1" + ".000" * 2000 + ",00",
        "-" + "9" * 4301,
        "21.474.836,48",  # one cent more than an amount column holds
        "-21474836,48",
        "99999999999999999999,99",
        "1 " * 100,
    ],
)
def test_parse_refuses_amounts_beyond_the_ledger_in_german(text: str) -> None:
    with pytest.raises(MoneyParseError) as caught:
        parse_euro(text)
    assert type(caught.value) is MoneyParseError
    assert "Betrag" in str(caught.value)
    assert len(str(caught.value)) < 200  # the message does not echo thousands of digits


def test_parse_accepts_the_largest_stored_amount() -> None:
    assert parse_euro("21.474.836,47 €") == MAX_STORED_CENTS
    assert parse_euro("-21474836,47") == -MAX_STORED_CENTS


_AMOUNTISH = st.text(alphabet="0123456789.,- €EUR\t\n\u00a0\u0663", max_size=40)


@given(st.one_of(st.text(), _AMOUNTISH, st.from_regex(r"\A-?\d{5,6000}(,\d{1,2})?\Z")))
def test_parse_raises_only_money_parse_error(text: str) -> None:
    """Whatever is typed into an amount field: an amount the ledger can store, or a
    MoneyParseError (the form shows it) — never another exception (a 500)."""
    try:
        value = parse_euro(text)
    except MoneyParseError:
        return  # anything else (ValueError, OverflowError, …) fails the test
    assert isinstance(value, int)
    assert -MAX_STORED_CENTS <= value <= MAX_STORED_CENTS
