"""OpenKasse's XML format of basis notices without a database: the writer and the reader are
exact inverses, amounts are exact cents, and the rules between elements are told in German."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.levies.basis_notices.models import LandUse, NoticeDocument, NoticeKind, PropertyClass
from core.levies.basis_notices.reader import FileRejected, read_file
from core.levies.basis_notices.xml_reader import XmlNoticeReader, cents
from tests.basis_notice_files import business, delivery, plot


class Town:
    official_key = "05999001"
    city = "Musterstadt"


M: Any = Town()
READER = XmlNoticeReader()


def test_round_trip_keeps_every_field() -> None:
    records = [
        plot(M, person_number=17, name="Gerda Grundmann", land_use=LandUse.NON_RESIDENTIAL),
        plot(M, "3150/2/2", property_class=PropertyClass.A, land_use=None, house_number=None),
        business(M, document=NoticeDocument.APPORTIONMENT, share_numerator=2, share_denominator=7),
        business(M, "1/2/3", document=NoticeDocument.APPORTIONMENT, share_cents=1),
        business(M, "1/2/4", kind=NoticeKind.CANCELLATION, messbetrag_cents=None, year_to=2030),
    ]
    read = READER.read(delivery(*records))
    assert [replace(r, line=0) for r in read] == records
    assert [r.key for r in read] == [r.key for r in records]
    assert len({r.digest for r in read}) == len(records)
    assert read_file(delivery(*records), (READER,))[0] == "openkasse-xml-1"


@pytest.mark.parametrize(
    ("text", "expected"), [("0.01", 1), ("1242.50", 124250), ("9999999999.99", 999999999999)]
)
def test_amounts_are_exact_cents(text: str, expected: int) -> None:
    assert cents(text) == expected


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (plot(M, messbetrag_cents=None), "der Messbetrag fehlt"),
        (plot(M, year_to=2024), "„bis-jahr“ liegt vor „ab-jahr“"),
        (plot(M, document=NoticeDocument.APPORTIONMENT), "braucht den Anteil"),
        (plot(M, share_numerator=1, share_denominator=2), "hat keinen Zerlegungsanteil"),
        (
            business(
                M, document=NoticeDocument.APPORTIONMENT, share_numerator=3, share_denominator=2
            ),
            "größer als das Ganze",
        ),
        (
            business(M, document=NoticeDocument.APPORTIONMENT, share_cents=124251),
            "größer als der Messbetrag",
        ),
        (business(M, land_use=LandUse.RESIDENTIAL), "nur bei der Grundsteuer"),
        (plot(M, property_class=None), "fehlt die „grundsteuerart“"),
        (plot(M, kind=NoticeKind.ADVANCE_PAYMENT), "nur bei der Gewerbesteuer"),
    ],
)
def test_rules_between_elements(record: Any, message: str) -> None:
    with pytest.raises(FileRejected) as refused:
        READER.read(delivery(plot(M, "ok/1"), record))
    assert refused.value.problems == [refused.value.problems[0]]
    assert refused.value.problems[0].startswith("Zeile ") and message in refused.value.problems[0]


def test_unknown_format_and_dtd_are_refused() -> None:
    with pytest.raises(FileRejected, match="keine Lieferung von Messbescheiden"):
        read_file(b"Aktenzeichen;Messbetrag\n1;60,00\n", (READER,))
    with pytest.raises(FileRejected, match="DTD"):
        READER.read(b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "y">]><messbescheide/>')


def test_schema_errors_name_line_element_and_what_is_expected() -> None:
    parts = delivery(plot(M), plot(M, "2"), plot(M, "3"), plot(M, "4")).decode().split("<bescheid>")
    parts[1] = parts[1].replace("2024-11-20", "20.11.2024")
    parts[2] = parts[2].replace("<aktenzeichen>2</aktenzeichen>", "")
    parts[3] = parts[3].replace(">grundsteuer<", ">hundesteuer<")
    parts[4] = parts[4].replace("<nutzung>", "<flaeche>12</flaeche><nutzung>")
    with pytest.raises(FileRejected) as refused:
        READER.read("<bescheid>".join(parts).encode())
    assert refused.value.problems == [
        "Zeile 20: Element „bescheiddatum“: der Wert „20.11.2024“ ist nicht zulässig (erwartet: "
        "ein Datum in der Form JJJJ-MM-TT, z. B. „2026-11-20“).",
        "Zeile 28: Element „lage“ ist an dieser Stelle nicht erlaubt. "
        "Erwartet wird „aktenzeichen“.",
        "Zeile 42: Element „steuer“: der Wert „hundesteuer“ ist nicht zulässig (erlaubt: "
        "„grundsteuer“, „gewerbesteuer“).",
        "Zeile 71: Element „flaeche“ ist an dieser Stelle nicht erlaubt. Erwartet wird „nutzung“, "
        "„ab-jahr“.",
    ]
