"""The streaming XSD check of the bulk run's pain.008 (pain008.validate): it drops each
transaction once parsed, and still refuses a value the XSD forbids anywhere in the file."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from core.kernel.errors import ValidationError
from core.payments.sepa.pain008 import XSD, Transaction, build_message, validate

OFFICE: Any = SimpleNamespace(
    cash_office_name="Stadtkasse Musterstadt",
    creditor_id="DE98ZZZ09999999999",
    iban="DE02120300000000202051",
    bic="BYLADEM1001",
)


def _tx(n: int, iban: str = "DE02120300000000202051") -> Transaction:
    return Transaction(
        f"KZ{n:08d}-{n}", 4_500, f"M-{n}", date(2025, 1, 2), None, "Erika Muster", iban, "KZ"
    )


def _xml(bad_at: int | None = None) -> bytes:
    txs = [_tx(n) for n in range(2_000)]
    if bad_at is not None:
        txs[bad_at] = _tx(bad_at, iban="de02120300000000202051")  # lower case: not an IBAN
    return build_message(OFFICE, date(2026, 3, 16), txs).xml


def test_a_valid_file_passes_as_with_the_whole_tree() -> None:
    xml = _xml()
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(etree.fromstring(xml))
    validate(xml)


@pytest.mark.parametrize("bad_at", [0, 1_000, 1_999])
def test_a_bad_value_is_refused_wherever_it_is(bad_at: int) -> None:
    with pytest.raises(ValidationError, match=r"pain\.008\.001\.08"):
        validate(_xml(bad_at))


def test_a_broken_header_or_tail_is_refused() -> None:
    xml = _xml()
    no_id = xml.replace(b"<MsgId>", b"<MsgIdX>").replace(b"</MsgId>", b"</MsgIdX>")
    extra = xml.replace(b"</PmtInf></CstmrDrctDbtInitn>", b"</PmtInf><X/></CstmrDrctDbtInitn>")
    for broken in (no_id, extra, xml[:-20]):
        with pytest.raises(ValidationError):
            validate(broken)
