"""The machine-readable notice: the XML embedded in every notice's PDF/A-3 (docs/NOTICE_XML.md,
schema ``schemas/notice.xsd``, namespace ``urn:openkasse:bescheid:1``).

It is written from the render context, the very values the template prints (one source: what
the PDF shows and what the XML says cannot differ), in the shape of ``notice.html``'s context:
``municipality`` (the creditor and its bank account), ``recipient``, ``notice`` (number, date,
Kassenzeichen, RF reference, legal basis, remedy), ``lines`` (the computation), ``schedules``
(instalments), the totals and the mandate. A levy's notice gets it through
:func:`core.notices.records.render_job` without code of its own: a computation line's keys beyond
the known ones (``description``, ``label``, ``period_start``, ``period_end``, ``months``,
``basis``, ``annual_cents``, ``amount_cents``) become ``merkmal`` elements (``…_cents`` in euros
with ``einheit="EUR"``), so e.g. a Messbetrag and a Hebesatz stay machine-readable. Other
documents map their context into this shape (core.dunning.letters).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from core.kernel.pdf import EmbeddedFile

NAMESPACE = "urn:openkasse:bescheid:1"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "notice.xsd"
FILENAME = "openkasse-bescheid.xml"
MIME_TYPE = "application/xml"
# PDF/A-3 AFRelationship: the XML holds the data the visible notice is made from
RELATIONSHIP = "Data"
DESCRIPTION = "Daten des Bescheids (OpenKasse-Bescheid-XML, urn:openkasse:bescheid:1)"
KINDS = ("bescheid", "mahnschreiben")
LINE_KEYS = frozenset(
    {"description", "label", "period_start", "period_end", "months", "basis"}
    | {"annual_cents", "amount_cents"}
)


def euro(cents: int) -> str:
    """Integer cents as the schema's decimal euros (``-12.05``)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{rest:02d}"


def _text(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class _Writer:
    def __init__(self, root: etree._Element) -> None:
        self.root = root

    def add(self, parent: etree._Element, name: str, value: object | None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
        if value is not None:
            element.text = _text(value)
        return element

    def opt(self, parent: etree._Element, name: str, value: object | None) -> None:
        if value is not None and value != "":
            self.add(parent, name, value)


def notice_xml(context: Mapping[str, Any], *, kind: str, levy: str, year: int) -> bytes:
    """The notice's XML (UTF-8) from its render context; ``kind``: one of :data:`KINDS`,
    ``levy``: the levy's code (``dog_tax``, ``property_tax``, …, ``dunning``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    root = etree.Element(f"{{{NAMESPACE}}}bescheid", nsmap={None: NAMESPACE}, version="1")
    w = _Writer(root)
    notice = context["notice"]
    w.add(root, "art", kind)
    w.add(root, "abgabe", levy)
    w.add(root, "jahr", year)
    w.add(root, "nummer", notice["number"])
    w.add(root, "datum", notice["issued_on"])
    w.add(root, "titel", notice["title"])
    _creditor(w, context["municipality"])
    _recipient(w, context["recipient"], notice.get("person_number"))
    _payment(w, context, notice)
    _computation(w, context)
    for table in _schedules(context):
        if table["rows"]:
            _schedule(w, table)
    w.add(root, "rechtsgrundlage", notice["legal_basis"])
    w.opt(root, "rechtsbehelfsbelehrung", notice.get("remedy"))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def embedded_xml(
    context: Mapping[str, Any], *, kind: str, levy: str, year: int, issued_on: date
) -> EmbeddedFile:
    """The XML as the PDF's associated file, dated the notice's date (so a reprint and a
    worker make the same bytes)."""
    return EmbeddedFile(
        name=FILENAME,
        content=notice_xml(context, kind=kind, levy=levy, year=year),
        mime_type=MIME_TYPE,
        relationship=RELATIONSHIP,
        description=DESCRIPTION,
        modified=datetime.combine(issued_on, time()),
    )


def _creditor(w: _Writer, municipality: Mapping[str, Any]) -> None:
    creditor = w.add(w.root, "glaeubiger", None)
    w.add(creditor, "name", municipality["name"])
    w.add(creditor, "kasse", municipality["cash_office_name"])
    w.add(creditor, "strasse", municipality["street"])
    w.add(creditor, "plz", municipality["postal_code"])
    w.add(creditor, "ort", municipality["city"])
    account = w.add(creditor, "bankverbindung", None)
    w.add(account, "iban", str(municipality["iban"]).replace(" ", ""))
    w.opt(account, "bic", municipality.get("bic"))
    w.opt(account, "bank", municipality.get("bank_name"))
    w.opt(creditor, "glaeubiger-id", municipality.get("creditor_id"))


def _recipient(w: _Writer, recipient: Mapping[str, Any], person_number: object | None) -> None:
    element = w.add(w.root, "empfaenger", None)
    w.add(element, "name", recipient["name"])
    w.opt(element, "personennummer", person_number)
    for line in recipient.get("lines", []):
        w.add(element, "anschriftzeile", line)


def _payment(w: _Writer, context: Mapping[str, Any], notice: Mapping[str, Any]) -> None:
    payment = w.add(w.root, "zahlung", None)
    w.add(payment, "kassenzeichen", notice["kassenzeichen"])
    w.add(payment, "rf-referenz", notice["rf"])
    w.add(payment, "zu-zahlen", euro(context.get("payable_cents", 0)))
    debit = context.get("direct_debit")
    if debit:
        mandate = w.add(payment, "lastschrift", None)
        w.add(mandate, "mandatsreferenz", debit["reference"])
        w.add(mandate, "konto", debit["masked_iban"])
        w.add(mandate, "glaeubiger-id", debit["creditor_id"])


def _computation(w: _Writer, context: Mapping[str, Any]) -> None:
    computation = w.add(w.root, "berechnung", None)
    w.opt(computation, "satz-bezeichnung", context.get("rate_label"))
    for line in context["lines"]:
        _line(w, computation, line)
    total, previous = int(context["total_cents"]), int(context.get("previous_cents", 0))
    w.add(computation, "festgesetzt", euro(total))
    w.add(computation, "bisher-festgesetzt", euro(previous))
    w.add(computation, "differenz", euro(total - previous))
    w.add(computation, "guthaben", euro(context.get("overpaid_cents", 0)))


def _line(w: _Writer, parent: etree._Element, line: Mapping[str, Any]) -> None:
    position = w.add(parent, "position", None)
    w.add(position, "gegenstand", line["description"])
    w.opt(position, "bezeichnung", line.get("label"))
    if line.get("period_start") is not None:
        period = w.add(position, "zeitraum", None)
        w.add(period, "von", line["period_start"])
        w.add(period, "bis", line.get("period_end") or line["period_start"])
    w.opt(position, "monate", line.get("months"))
    w.opt(position, "bemessung", line.get("basis"))
    if line.get("annual_cents") is not None:
        w.add(position, "satz", euro(line["annual_cents"]))
    w.add(position, "betrag", euro(line["amount_cents"]))
    for key in sorted(set(line) - LINE_KEYS):
        value = line[key]
        if value is None or isinstance(value, dict | list):
            continue
        cents = key.endswith("_cents") and isinstance(value, int)
        feature = w.add(position, "merkmal", euro(value) if cents else value)
        feature.set("name", key)
        if cents:
            feature.set("einheit", "EUR")


def _schedules(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The payment tables as the template reads them (``instalments`` alone: "Fälligkeiten")."""
    if "schedules" in context:
        return list(context["schedules"])
    rows = context.get("instalments")
    return [{"title": "Fälligkeiten", "rows": rows}] if rows else []


def _schedule(w: _Writer, table: Mapping[str, Any]) -> None:
    plan = w.add(w.root, "zahlplan", None)
    w.add(plan, "titel", table["title"])
    for row in table["rows"]:
        rate = w.add(plan, "rate", None)
        w.add(rate, "faellig-am", row["due_date"])
        w.opt(rate, "bezeichnung", row.get("label"))
        w.add(rate, "betrag", euro(row["amount_cents"]))
        if row.get("paid_cents") is not None:
            w.add(rate, "bezahlt", euro(row["paid_cents"]))
        w.opt(rate, "einzug-am", row.get("collection_date"))


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """The published XSD (core/notices/schemas/notice.xsd)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate(content: bytes) -> etree._Element:
    """The parsed XML if it is valid against the schema; else ValueError with lxml's reason."""
    document = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
    xsd = schema()
    if not xsd.validate(document):
        raise ValueError(str(xsd.error_log.last_error))
    return document
