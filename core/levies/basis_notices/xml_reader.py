"""OpenKasse's own XML format of basis notices (docs/MESSBESCHEIDE.md, schemas/messbescheide.xsd):
the first ``BasisNoticeReader``. The file is read with a safe parser (no DTD, no entities, no
network), checked against the XSD, and every problem is told in German with its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lxml import etree

from core.levies.basis_notices.models import (
    LandUse,
    NoticeDocument,
    NoticeKind,
    PropertyClass,
    TaxKind,
)
from core.levies.basis_notices.reader import FileRejected, NoticeRecord

NAMESPACE = "urn:openkasse:messbescheide:1"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "messbescheide.xsd"
MAX_PROBLEMS = 200  # a file of nothing but errors is listed up to here

TAXES = {"grundsteuer": TaxKind.PROPERTY_TAX, "gewerbesteuer": TaxKind.TRADE_TAX}
DOCUMENTS = {
    "messbescheid": NoticeDocument.MEASUREMENT,
    "zerlegungsbescheid": NoticeDocument.APPORTIONMENT,
}
KINDS = {
    "neu": NoticeKind.NEW,
    "aenderung": NoticeKind.CHANGE,
    "aufhebung": NoticeKind.CANCELLATION,
    "vorauszahlung": NoticeKind.ADVANCE_PAYMENT,
}
CLASSES = {"A": PropertyClass.A, "B": PropertyClass.B}
USES = {"wohnen": LandUse.RESIDENTIAL, "nichtwohnen": LandUse.NON_RESIDENTIAL}

_schema: etree.XMLSchema | None = None


def _xsd() -> etree.XMLSchema:
    global _schema  # parsed once per process
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    return _schema


_ELEMENT_RE = re.compile(r"Element '(?:\{[^}]*\})?([\w-]+)'")
_EXPECTED_RE = re.compile(r"Expected is(?: one of)? \( ?([^)]*)\)")
_VALUE_RE = re.compile(r"The value '([^']*)'|'([^']*)' is not a valid value")
# what each element expects, told with its refusal
HINTS = {
    "gemeindeschluessel": "erwartet: der amtliche Gemeindeschlüssel, 8 Ziffern",
    "steuer": "erlaubt: „grundsteuer“, „gewerbesteuer“",
    "bescheidtyp": "erlaubt: „messbescheid“, „zerlegungsbescheid“",
    "art": "erlaubt: „neu“, „aenderung“, „aufhebung“, „vorauszahlung“",
    "aktenzeichen": "erwartet: bis 40 Buchstaben, Ziffern, „/“, „.“, „-“",
    "personennummer": "erwartet: eine Personenkontonummer (ganze Zahl)",
    "grundsteuerart": "erlaubt: „A“, „B“",
    "nutzung": "erlaubt: „wohnen“, „nichtwohnen“",
    "ab-jahr": "erwartet: ein Jahr von 1990 bis 2100",
    "bis-jahr": "erwartet: ein Jahr von 1990 bis 2100",
    "messbetrag": "erwartet: Euro mit Punkt und zwei Nachkommastellen, z. B. „1242.50“",
    "anteil-betrag": "erwartet: Euro mit Punkt und zwei Nachkommastellen, z. B. „41.42“",
    "zaehler": "erwartet: eine ganze Zahl ab 0",
    "nenner": "erwartet: eine ganze Zahl ab 1",
    "bescheiddatum": "erwartet: ein Datum in der Form JJJJ-MM-TT, z. B. „2026-11-20“",
    "erstellt": "erwartet: ein Datum in der Form JJJJ-MM-TT, z. B. „2026-11-20“",
    "plz": "erwartet: 5 Ziffern",
}


def _names(text: str) -> str:
    found = re.findall(r"(?:\{[^}]*\})?([\w-]+)", text)
    return ", ".join(f"„{n}“" for n in found)


def german_schema_error(message: str) -> str:
    """libxml2's English schema message, told in German (what is wrong with which element)."""
    element = _ELEMENT_RE.search(message)
    where = f"Element „{element.group(1)}“" if element else "Aufbau"
    expected = _EXPECTED_RE.search(message)
    value = _VALUE_RE.search(message)
    if "Missing child element" in message and expected:
        return f"{where}: es fehlt {_names(expected.group(1))}."
    if "This element is not expected" in message:
        hint = f" Erwartet wird {_names(expected.group(1))}." if expected else ""
        return f"{where} ist an dieser Stelle nicht erlaubt.{hint}"
    if "No matching global declaration" in message or "is not expected" in message:
        return (
            f"{where} ist kein Element einer Lieferung von Messbescheiden "
            f"(Namensraum „{NAMESPACE}“)."
        )
    if "attribute" in message.lower():
        return f"{where}: das Attribut „version“ fehlt oder ist nicht „1“."
    hint = f" ({HINTS[element.group(1)]})" if element and element.group(1) in HINTS else ""
    if value:
        return f"{where}: der Wert „{value.group(1) or value.group(2)}“ ist nicht zulässig{hint}."
    return f"{where}: der Inhalt ist nicht zulässig{hint}."


class XmlNoticeReader:
    """Reads ``urn:openkasse:messbescheide:1`` files."""

    name = "openkasse-xml-1"

    def accepts(self, data: bytes) -> bool:
        head = data[:2048]
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and (
            NAMESPACE.encode() in head or b"<messbescheide" in head
        )

    def read(self, data: bytes) -> list[NoticeRecord]:
        root = _parse(data)
        schema = _xsd()
        if not schema.validate(root):
            told = (f"Zeile {e.line}: {german_schema_error(e.message)}" for e in schema.error_log)
            # one value may break two rules (a facet and its type): tell it once
            raise FileRejected(list(dict.fromkeys(told))[:MAX_PROBLEMS])
        records: list[NoticeRecord] = []
        problems: list[str] = []
        for element in root.iterchildren(f"{{{NAMESPACE}}}bescheid"):
            record, problem = _record(element)
            if record is not None:
                records.append(record)
            elif problem:
                problems.append(problem)
        if problems:
            raise FileRejected(problems)
        return records


def _parse(data: bytes) -> Any:
    if not data.strip():
        raise FileRejected(["Zeile 1: die Datei ist leer."])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise FileRejected(
            [
                f"Zeile {line}: die Datei ist kein lesbares XML "
                "(Aufbau fehlerhaft oder abgeschnitten)."
            ]
        ) from exc
    except ValueError as exc:
        raise FileRejected(["Zeile 1: die Datei ist leer."]) from exc
    if root is None:
        raise FileRejected(["Zeile 1: die Datei ist leer."])
    if root.getroottree().docinfo.doctype:
        raise FileRejected(
            ["Zeile 1: die Datei enthält eine DTD (<!DOCTYPE …>) und wird nicht gelesen."]
        )
    return root


def _text(element: Any, name: str) -> str | None:
    found = element.find(f"{{{NAMESPACE}}}{name}")
    return found.text.strip() if found is not None and found.text else None


def cents(text: str) -> int:
    """``1242.50`` (the XSD's pattern: digits, a point, two digits) as 124250 cents."""
    euros, _, rest = text.partition(".")
    return int(euros) * 100 + int(rest)


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _record(element: Any) -> tuple[NoticeRecord | None, str | None]:
    """The record of one <bescheid> (already valid by the XSD), or its German problem."""
    values = {name: _text(element, name) for name in _ELEMENTS}
    lage = element.find(f"{{{NAMESPACE}}}lage")
    place = {name: _text(lage, name) if lage is not None else None for name in _PLACE}
    anteil = element.find(f"{{{NAMESPACE}}}anteil")
    numerator = _int(_text(anteil, "zaehler")) if anteil is not None else None
    denominator = _int(_text(anteil, "nenner")) if anteil is not None else None
    messbetrag, share_amount = values["messbetrag"], values["anteil-betrag"]
    property_class, use = values["grundsteuerart"], values["nutzung"]
    line = int(element.sourceline)
    record = NoticeRecord(
        line=line,
        municipality_key=values["gemeindeschluessel"] or "",
        tax=TAXES[values["steuer"] or ""],
        kind=KINDS[values["art"] or ""],
        document=DOCUMENTS[values["bescheidtyp"] or ""],
        reference=values["aktenzeichen"] or "",
        year_from=_int(values["ab-jahr"]) or 0,
        year_to=_int(values["bis-jahr"]),
        messbetrag_cents=cents(messbetrag) if messbetrag else None,
        notice_date=values["bescheiddatum"] or "",
        share_numerator=numerator,
        share_denominator=denominator,
        share_cents=cents(share_amount) if share_amount else None,
        person_number=_int(values["personennummer"]),
        name=values["name"],
        street=place["strasse"],
        house_number=place["hausnummer"],
        postal_code=place["plz"],
        city=place["ort"],
        property_class=CLASSES[property_class] if property_class else None,
        land_use=USES[use] if use else None,
    )
    problem = _content_problem(record)
    return (None, f"Zeile {line}: {problem}") if problem else (record, None)


_ELEMENTS = (
    "gemeindeschluessel",
    "steuer",
    "bescheidtyp",
    "art",
    "aktenzeichen",
    "personennummer",
    "name",
    "grundsteuerart",
    "nutzung",
    "ab-jahr",
    "bis-jahr",
    "messbetrag",
    "anteil-betrag",
    "bescheiddatum",
)
_PLACE = ("strasse", "hausnummer", "plz", "ort")


def _content_problem(r: NoticeRecord) -> str | None:
    """What the XSD cannot say: rules between the elements of one record."""
    if r.kind is not NoticeKind.CANCELLATION and r.messbetrag_cents is None:
        return "der Messbetrag fehlt (nur eine Aufhebung kommt ohne ihn aus)."
    if r.year_to is not None and r.year_to < r.year_from:
        return "„bis-jahr“ liegt vor „ab-jahr“."
    if r.share_numerator is not None and r.share_numerator > (r.share_denominator or 1):
        return "der Zerlegungsanteil ist größer als das Ganze (Zähler größer als Nenner)."
    if r.share_cents is not None and r.share_cents > (r.messbetrag_cents or 0):
        return "der Zerlegungsanteil ist größer als der Messbetrag."
    has_share = r.share_numerator is not None or r.share_cents is not None
    if (
        r.document is NoticeDocument.APPORTIONMENT
        and not has_share
        and r.kind is not (NoticeKind.CANCELLATION)
    ):
        return "ein Zerlegungsbescheid braucht den Anteil dieser Gemeinde („anteil“)."
    if r.document is NoticeDocument.MEASUREMENT and has_share:
        return "ein Messbescheid hat keinen Zerlegungsanteil; bitte „zerlegungsbescheid“ angeben."
    if r.tax is TaxKind.TRADE_TAX and (r.property_class or r.land_use):
        return "„grundsteuerart“ und „nutzung“ gibt es nur bei der Grundsteuer."
    if r.tax is TaxKind.PROPERTY_TAX and r.property_class is None:
        return "bei der Grundsteuer fehlt die „grundsteuerart“ (A oder B)."
    if r.tax is TaxKind.PROPERTY_TAX and r.kind is NoticeKind.ADVANCE_PAYMENT:
        return "Vorauszahlungsbescheide gibt es nur bei der Gewerbesteuer."
    return None
