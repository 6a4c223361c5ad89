"""The streaming XSD check of the payout run's pain.001 (pain001.pain001, through the shared
core.payments.xsd_stream that pain.008 uses too): it drops each transfer once parsed, and still
refuses a value the XSD forbids anywhere in the file, with the pain.001 message."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from core.kernel.errors import ValidationError
from core.payments.payouts.pain001 import XSD, Transfer, pain001

OFFICE: Any = SimpleNamespace(
    cash_office_name="Stadtkasse Musterstadt", iban="DE02120300000000202051", bic="BYLADEM1001"
)
RUN: Any = SimpleNamespace(id=7, execution_date=date(2026, 3, 16))


def _transfers(bad_at: int | None = None) -> list[Transfer]:
    return [
        Transfer(
            "Erika Muster",
            "de02120300000000202051" if n == bad_at else "DE02120300000000202051",  # lower: no
            None,
            1_250,
            f"AUS-7-{n}",
            f"P{n:06d}",
        )
        for n in range(2_000)
    ]


def test_a_valid_file_passes_as_with_the_whole_tree() -> None:
    xml, message_id = pain001(OFFICE, RUN, _transfers())
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(etree.fromstring(xml))
    assert message_id.encode() in xml


@pytest.mark.parametrize("bad_at", [0, 1_000, 1_999])
def test_a_bad_value_is_refused_wherever_it_is(bad_at: int) -> None:
    with pytest.raises(ValidationError, match=r"Auszahlungsdatei .* pain\.001\.001\.09"):
        pain001(OFFICE, RUN, _transfers(bad_at))
