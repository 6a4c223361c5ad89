"""A camt file with several faulty entries is refused whole, and the refusal names every faulty
entry (the first ten in full, the rest counted), not only the first."""

from datetime import date

import pytest

from core.kernel.errors import ValidationError
from core.payments.bank.camt_parser import parse_statements
from tests.camt_files import build_camt053, entry, statement, tx

DAY = date(2026, 3, 16)


def _file(entries: int, faulty: set[int]) -> bytes:
    xml = build_camt053(
        statement(
            "DE89370400440532013000",
            "A1",
            *(entry(n, tx(1000 + n, remittance="x"), day=DAY) for n in range(1, entries + 1)),
        )
    )
    for n in faulty:  # another currency than euro
        amount = f"{(1000 + n) // 100}.{(1000 + n) % 100:02d}"
        xml = xml.replace(
            f'<Amt Ccy="EUR">{amount}</Amt>'.encode(), f'<Amt Ccy="USD">{amount}</Amt>'.encode()
        )
    return xml


def test_every_faulty_entry_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_statements(_file(5, {2, 4}))
    message = caught.value.message
    assert message.startswith("2 Buchungen sind fehlerhaft: Auszug 1 (A1), Buchung 2:")
    assert "Buchung 4:" in message and "Es wurde nichts gebucht." in message


def test_one_faulty_entry_reads_as_before() -> None:
    with pytest.raises(ValidationError, match=r"^Auszug 1 \(A1\), Buchung 3: Betrag in USD"):
        parse_statements(_file(4, {3}))


def test_beyond_ten_faulty_entries_are_counted() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_statements(_file(14, set(range(1, 13))))
    message = caught.value.message
    assert "Buchung 10:" in message and "Buchung 11:" not in message
    assert "12 Buchungen sind fehlerhaft" in message and "(und 2 weitere)" in message
