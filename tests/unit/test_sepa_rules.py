"""Oracle tests for the SEPA rules: published identifiers and bank data, the mandate reference
format of the rulebook, transliteration, TARGET2 days (ECB calendar)."""

from __future__ import annotations

from datetime import date

import pytest

from core.kernel.errors import FieldErrors
from core.kernel.references import is_valid_creditor_id
from core.payments.sepa.bank_days import is_target_day, next_target_day
from core.payments.sepa.identifiers import check_iban, is_valid_mandate_reference, masked_iban
from core.payments.sepa.models import Mandate
from core.payments.sepa.pain008 import sepa_text
from core.payments.sepa.rules import SepaRules


@pytest.mark.parametrize(
    "reference",
    ["101-SEPA-0000001", "A", "X" * 35, "KD+123/2026:(a).b,c'd?e", "hund-steuer-1"],
)
def test_mandate_references_the_rulebook_allows(reference: str) -> None:
    assert is_valid_mandate_reference(reference)


@pytest.mark.parametrize(
    "reference",
    ["", "X" * 36, "mit Leerzeichen", "Müller-1", "A_B", "A&B", "/start", "ende/", "a//b", "A*B"],
)
def test_mandate_references_the_rulebook_refuses(reference: str) -> None:
    assert not is_valid_mandate_reference(reference)


def test_published_creditor_identifiers() -> None:
    # The Bundesbank's test identifier and one a town publishes on its web site (Glückstadt).
    assert is_valid_creditor_id("DE98ZZZ09999999999")
    assert is_valid_creditor_id("DE22ZZZ00000283007")
    assert is_valid_creditor_id("DE22ABC00000283007")  # the business code is not checked
    for wrong in ("DE23ZZZ00000283007", "DE22ZZZ00000283008", "DE22ZZZ0000028300"):
        assert not is_valid_creditor_id(wrong)


@pytest.mark.parametrize(
    ("printed", "bic"),
    [  # a town's published accounts with the BICs it prints beside them
        ("DE07 2225 0020 0021 0500 24", "NOLADE21WHO"),
        ("DE43 2219 1405 0061 2177 20", "GENODEF1PIN"),
        ("de31 2001 0020 0011 4442 05", "PBNKDEFFXXX"),
    ],
)
def test_published_ibans_are_accepted_and_the_bic_derived(printed: str, bic: str) -> None:
    account = check_iban(printed)
    assert account.iban == printed.replace(" ", "").upper()
    assert account.bic == bic


@pytest.mark.parametrize(
    ("iban", "field", "fragment"),
    [
        ("DE07 2225 0020 0021 0500 25", "iban", "Prüfziffer"),
        ("DE07 2225 0020 0021 0500 2", "iban", "Länge"),
        ("ZZ07 2225 0020 0021 0500 24", "iban", "Ländercode"),
        ("BR18 0036 0305 0000 1000 9795 493C 1", "iban", "SEPA-Raum"),
    ],
)
def test_ibans_refused_with_a_german_reason(iban: str, field: str, fragment: str) -> None:
    with pytest.raises(FieldErrors) as caught:
        check_iban(iban)
    assert fragment in caught.value.errors[field]


def test_bic_format_is_checked_when_given() -> None:
    with pytest.raises(FieldErrors) as caught:
        check_iban("DE07222500200021050024", "NOLA")
    assert "8 oder 11 Zeichen" in caught.value.errors["bic"]
    assert check_iban("DE07222500200021050024", "nolade21who").bic == "NOLADE21WHO"


def test_sepa_text_spells_umlauts_out() -> None:
    assert sepa_text("Jürgen Müller-Lüdenscheidt", 70) == "Juergen Mueller-Luedenscheidt"
    assert sepa_text("Straße & Söhne GmbH", 70) == "Strasse Soehne GmbH"
    assert sepa_text("Ærø Čapek", 70) == "AEro Capek"
    assert sepa_text("a" * 80, 70) == "a" * 70
    assert sepa_text("Kassenzeichen 101 00000042 87; Rate 1/4", 140) == (
        "Kassenzeichen 101 00000042 87 Rate 1/4"
    )


def test_masked_iban_shows_only_the_last_four_digits() -> None:
    assert masked_iban("DE07222500200021050024") == "DE07 **** **** 0024"


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 1, 1), False),  # New Year
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 1), False),  # Labour Day
        (date(2026, 12, 24), True),  # Christmas Eve is a TARGET2 day
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),  # (a Saturday anyway)
        (date(2027, 3, 26), False),  # Good Friday 2027
        (date(2027, 3, 29), False),  # Easter Monday 2027
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 30), True),
    ],
)
def test_target_calendar(day: date, open_: bool) -> None:
    assert is_target_day(day) is open_


def test_next_target_day_skips_christmas_and_the_weekend() -> None:
    assert next_target_day(date(2026, 12, 25)) == date(2026, 12, 28)


def test_mandate_lapses_after_36_months_without_collection() -> None:
    rules = SepaRules.from_data({"prenotification_days": 14}, "Test")
    mandate = Mandate(signed_on=date(2023, 8, 31), last_collected_on=None)
    assert mandate.lapses_on(rules) == date(2026, 8, 31)
    mandate.last_collected_on = date(2024, 2, 29)
    assert mandate.lapses_on(rules) == date(2027, 2, 28)


@pytest.mark.parametrize(
    "data",
    [{"prenotification_days": 0}, {"prenotification_days": 14, "return_fee_cents": 2.5}, {}],
)
def test_statute_data_is_checked(data: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        SepaRules.from_data(data, "Test")
