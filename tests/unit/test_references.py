import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.references import (
    format_kassenzeichen,
    format_rf,
    is_valid_creditor_id,
    is_valid_kassenzeichen,
    is_valid_letter_reference,
    is_valid_rf,
    make_kassenzeichen,
    make_letter_reference,
    make_rf,
)


def test_rf_examples_from_iso_11649_and_domain() -> None:
    assert make_rf("2348231") == "RF712348231"
    assert is_valid_rf("RF18539007547034")
    assert not is_valid_rf("RF17539007547034")
    assert is_valid_rf("RF18 5390 0754 7034")
    assert format_rf("RF18539007547034") == "RF18 5390 0754 7034"


@pytest.mark.parametrize("bad", ["", "RF", "RF1", "XX18539007547034", "RF18-5390", "RF" + "1" * 24])
def test_rf_rejects_malformed(bad: str) -> None:
    assert not is_valid_rf(bad)


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21))
def test_rf_round_trip(reference: str) -> None:
    rf = make_rf(reference)
    assert is_valid_rf(rf)
    assert len(rf) <= 25


def test_kassenzeichen_has_mod97_check_digits() -> None:
    kz = make_kassenzeichen("100", 123)
    assert kz.startswith("10000000123")
    assert len(kz) == 13
    assert is_valid_kassenzeichen(kz)
    assert format_kassenzeichen(kz) == f"100 00000123 {kz[-2:]}"
    assert is_valid_kassenzeichen(format_kassenzeichen(kz))


@given(st.integers(1, 10**8 - 1), st.integers(0, 12), st.integers(0, 9))
def test_kassenzeichen_detects_every_single_digit_error(serial: int, pos: int, digit: int) -> None:
    kz = make_kassenzeichen("207", serial)
    typo = kz[:pos] + str(digit) + kz[pos + 1 :]
    assert is_valid_kassenzeichen(typo) == (typo == kz)


@given(st.integers(1, 10**8 - 1), st.integers(0, 11))
def test_kassenzeichen_detects_swapped_neighbours(serial: int, pos: int) -> None:
    kz = make_kassenzeichen("331", serial)
    swapped = kz[:pos] + kz[pos + 1] + kz[pos] + kz[pos + 2 :]
    if swapped != kz:
        assert not is_valid_kassenzeichen(swapped)


def test_kassenzeichen_is_an_rf_reference() -> None:
    assert is_valid_rf(make_rf(make_kassenzeichen("100", 1)))


def test_creditor_identifier_check_digits() -> None:
    assert is_valid_creditor_id("DE98ZZZ09999999999")
    assert not is_valid_creditor_id("DE97ZZZ09999999999")
    # the business code (positions 5-7) is not part of the check
    assert is_valid_creditor_id("DE98ABC09999999999")
    assert not is_valid_creditor_id("DE98ZZZ0999999999")  # German ids have 18 characters
    assert not is_valid_creditor_id("")


@given(
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.integers(min_value=1, max_value=10**14 - 1),
)
def test_letter_reference_round_trip_fits_an_rf_and_is_never_a_kassenzeichen(
    prefix: str, letter_id: int
) -> None:
    ref = make_letter_reference(prefix, letter_id)
    assert ref == f"M{prefix}{letter_id}{ref[-2:]}" and is_valid_letter_reference(ref)
    assert not is_valid_kassenzeichen(ref) and is_valid_rf(make_rf(ref))
    for i in range(1, len(ref)):  # every single-digit error is caught
        wrong = ref[:i] + str((int(ref[i]) + 1) % 10) + ref[i + 1 :]
        assert not is_valid_letter_reference(wrong)


@pytest.mark.parametrize("bad", ["", "M", "M10142", "M1010", "X1014210", "M101042", "1014210"])
def test_letter_reference_rejects_malformed(bad: str) -> None:
    assert not is_valid_letter_reference(bad)


def test_letter_reference_range() -> None:
    with pytest.raises(ValueError, match="prefix"):
        make_letter_reference("10", 1)
    with pytest.raises(ValueError, match="out of range"):
        make_letter_reference("101", 0)
