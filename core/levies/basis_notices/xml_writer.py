"""Writing records in OpenKasse's XML format (the demo's deliveries, tests, and a municipality
that converts another format into ours): the exact inverse of ``xml_reader``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lxml import etree

from core.levies.basis_notices.reader import NoticeRecord
from core.levies.basis_notices.xml_reader import (
    CLASSES,
    DOCUMENTS,
    KINDS,
    NAMESPACE,
    TAXES,
    USES,
)


def _word(table: Mapping[str, object], value: object) -> str:
    return next(k for k, v in table.items() if v == value)


def euro_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_xml(records: Iterable[NoticeRecord], *, sender: str | None = None) -> bytes:
    root = etree.Element(f"{{{NAMESPACE}}}messbescheide", nsmap={None: NAMESPACE}, version="1")

    def add(parent: etree._Element, name: str, text: object | None) -> None:
        if text is not None:
            etree.SubElement(parent, f"{{{NAMESPACE}}}{name}").text = str(text)

    add(root, "absender", sender)
    for r in records:
        item = etree.SubElement(root, f"{{{NAMESPACE}}}bescheid")
        add(item, "gemeindeschluessel", r.municipality_key)
        add(item, "steuer", _word(TAXES, r.tax))
        add(item, "bescheidtyp", _word(DOCUMENTS, r.document))
        add(item, "art", _word(KINDS, r.kind))
        add(item, "aktenzeichen", r.reference)
        add(item, "personennummer", r.person_number)
        add(item, "name", r.name)
        if r.street and r.postal_code and r.city:
            lage = etree.SubElement(item, f"{{{NAMESPACE}}}lage")
            add(lage, "strasse", r.street)
            add(lage, "hausnummer", r.house_number)
            add(lage, "plz", r.postal_code)
            add(lage, "ort", r.city)
        add(item, "grundsteuerart", _word(CLASSES, r.property_class) if r.property_class else None)
        add(item, "nutzung", _word(USES, r.land_use) if r.land_use else None)
        add(item, "ab-jahr", r.year_from)
        add(item, "bis-jahr", r.year_to)
        add(
            item,
            "messbetrag",
            euro_text(r.messbetrag_cents) if r.messbetrag_cents is not None else None,
        )
        if r.share_numerator is not None:
            anteil = etree.SubElement(item, f"{{{NAMESPACE}}}anteil")
            add(anteil, "zaehler", r.share_numerator)
            add(anteil, "nenner", r.share_denominator)
        elif r.share_cents is not None:
            add(item, "anteil-betrag", euro_text(r.share_cents))
        add(item, "bescheiddatum", r.notice_date)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
