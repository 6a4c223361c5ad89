"""ISO 20022 bank files (camt, pain.002) read safely, and the German rejection of a file.

lxml with a parser that neither resolves entities nor loads anything from the network; a file
with a DTD (``<!DOCTYPE``) is refused outright, since bank files never carry one (no XXE, no
entity expansion). Elements are matched in the file's own namespace, whatever prefix it uses.
Every refusal says that nothing was booked and what to do."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from core.kernel.errors import ValidationError

NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
NOT_PROVIDED = "NOTPROVIDED"

# ISO 20022 amounts have at most 18 digits (ActiveOrHistoricCurrencyAndAmount, totalDigits);
# anything longer is refused with a German message, never handed on.
MAX_AMOUNT_CENTS = 10**18 - 1
_AMOUNT_RE = re.compile(r"^\+?(?:\d+(?:\.\d*)?|\.\d+)$")
_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")

# lxml ships no type information; its elements are opaque objects here.
Element = Any


# --- rejections: German, and each says what to do ---------------------------------------------

NOTHING_BOOKED = "Es wurde nichts gebucht."
DOWNLOAD_ADVICE = (
    "Bitte laden Sie den Kontoauszug im Online-Banking erneut im Format camt (XML) herunter "
    "und laden Sie diese Datei unverändert hier hoch, ohne sie vorher zu öffnen und zu speichern."
)
FORMAT_ADVICE = (
    "Bitte wählen Sie die Datei des Kontoauszugs im Format camt.053 (Tagesauszug) oder "
    "camt.054 (Buchungsdetails), wie das Online-Banking sie unter „Umsätze exportieren“ oder "
    "„Kontoauszug als camt“ liefert – nicht PDF, CSV, MT940 oder eine Lastschriftdatei."
)
CONTENT_ADVICE = (
    "Bitte prüfen Sie, ob es die unveränderte Datei der Bank ist, und laden Sie sie sonst "
    "erneut herunter; bleibt der Fehler, wenden Sie sich mit dieser Meldung an Ihre Bank."
)


def rejected(problem: str, advice: str) -> ValidationError:
    """The whole file is refused: the problem, that nothing was booked, and what to do."""
    if NOTHING_BOOKED in problem:
        return ValidationError(problem)
    return ValidationError(f"{problem} {NOTHING_BOOKED} {advice}")


# libxml2 error codes (xmlerror.h) of the usual ways a file is not XML or got cut off.
_EXTRA_CONTENT, _TAG_MISMATCH = 5, 76
_TRUNCATED = frozenset({73, 74, 77})  # '>' missing, end tag missing, data ends inside a tag
_ENCODING = frozenset({9, 81, 32})  # not UTF-8 / invalid character / unsupported encoding


def _syntax_problem(exc: etree.XMLSyntaxError, data: bytes) -> str:
    """lxml's English parser message, told in German (libxml2's error codes, xmlerror.h)."""
    line = exc.position[0] if exc.position else exc.lineno
    stripped = data.strip()
    lines = stripped.split(b"\n")
    at_end = exc.position is not None and exc.position == (len(lines), len(lines[-1]) + 1)
    if not stripped:
        reason = "die Datei ist leer"
    elif stripped.startswith(b"%PDF"):
        reason = "die Datei ist ein PDF-Dokument, kein Kontoauszug im camt-Format"
    elif not stripped.lstrip(b"\xef\xbb\xbf").startswith(b"<"):
        reason = "die Datei beginnt nicht mit „<“, sie ist keine XML-Datei (etwa CSV oder MT940)"
    elif exc.code in _TRUNCATED or (at_end and exc.code != _TAG_MISMATCH):
        reason = (
            "die Datei bricht mitten im Inhalt ab, sie wurde wohl unvollständig heruntergeladen "
            "oder gespeichert"
        )
    elif exc.code in _ENCODING:
        reason = (
            "die Datei enthält Zeichen, die nicht zu ihrer Zeichenkodierung passen (erwartet "
            "UTF-8), sie wurde wohl mit einem anderen Programm verändert"
        )
    elif exc.code == _EXTRA_CONTENT:
        reason = "nach dem Ende des Dokuments folgt weiterer Inhalt, die Datei wurde verändert"
    elif exc.code == _TAG_MISMATCH:
        reason = "ein Element wird nicht passend geschlossen, die Datei wurde verändert"
    else:
        reason = "der Aufbau der Datei ist fehlerhaft"
    return f"Die Datei ist kein lesbares XML (Zeile {line}): {reason}."


# --- XML ---------------------------------------------------------------------------------------


def parse_xml(data: bytes) -> Element:
    """The root element of an ISO 20022 file, read with the safe parser (no DTD, no entities,
    no network)."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_statements takes the file's bytes")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=True,  # no text nodes for the indentation: a third less to build
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise rejected(_syntax_problem(exc, bytes(data)), DOWNLOAD_ADVICE) from exc
    except ValueError as exc:  # e.g. an empty file on some lxml versions
        raise rejected(
            "Die Datei ist kein lesbares XML (Zeile 1): die Datei ist leer.", DOWNLOAD_ADVICE
        ) from exc
    if root is None:
        raise rejected(
            "Die Datei ist kein lesbares XML (Zeile 1): die Datei ist leer.", DOWNLOAD_ADVICE
        )
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        raise rejected(
            "Die Datei enthält eine DTD (<!DOCTYPE …>); Kontoauszüge im camt-Format haben keine. "
            "Die Datei wird aus Sicherheitsgründen nicht gelesen.",
            DOWNLOAD_ADVICE,
        )
    return root


def parse_cents(text: str | None, where: str) -> int:
    """A machine amount like ``12.50`` as cents (checked like every amount of a bank file)."""
    if text is None:
        raise ValidationError(f"{where}: der Betrag fehlt.")
    if not _AMOUNT_RE.match(text):
        raise ValidationError(
            f"{where}: „{text}“ ist kein gültiger Betrag (erwartet z. B. „12.50“ mit Punkt)."
        )
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes this
        raise ValidationError(f"{where}: „{text}“ ist kein gültiger Betrag.") from exc
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{where}: der Betrag „{text}“ hat mehr als zwei Nachkommastellen.")
    if scaled > MAX_AMOUNT_CENTS:
        raise ValidationError(
            f"{where}: der Betrag „{text[:30]}“ hat mehr Stellen, als ein Kontoauszug "
            "erlaubt (höchstens 18 Ziffern)."
        )
    return int(scaled)


def parse_date(text: str, where: str) -> date:
    match = _DATE_RE.match(text)
    try:
        if match:
            return date.fromisoformat(match.group(1))
        raise ValueError(text)
    except ValueError as exc:
        raise ValidationError(f"{where}: „{text}“ ist kein gültiges Datum.") from exc


def parse_datetime(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{where}: „{text}“ ist kein gültiger Zeitpunkt.") from exc


def euro_text(cents: int) -> str:
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"


class ElementIndex:
    """Element paths within one document, qualified with the document's namespace."""

    def __init__(self, prefix: str, stop: frozenset[str] = frozenset()) -> None:
        self.prefix = prefix
        self.stop = stop
        # every path below an element → its elements, per element; cleared for every entry
        self._paths: dict[Element, dict[str, list[Element]]] = {}
        self._cents: dict[str, int] = {}  # amounts read (the same texts recur)

    # paths ------------------------------------------------------------------------------------
    # One pass over an element's subtree indexes every element below it by its path of local
    # names (in document order; not below the ``stop`` elements, which have their own pass);
    # a path is then one dictionary lookup. This is several times faster than lxml's
    # ElementPath, or a walk per path, for the many optional elements read per entry.

    def paths(self, element: Element) -> dict[str, list[Element]]:
        index = self._paths.get(element)
        if index is None:
            index = self._paths[element] = {}
            prefix, cut, stop = self.prefix, len(self.prefix), self.stop
            queue = [(element, "")]
            for node, base in queue:  # breadth first: the same path comes in document order
                for child in node:
                    tag = child.tag
                    if not isinstance(tag, str) or not tag.startswith(prefix):
                        continue
                    name = tag[cut:]
                    path = base + name
                    found = index.get(path)
                    if found is None:
                        index[path] = [child]
                    else:
                        found.append(child)
                    if name not in stop and len(child):
                        queue.append((child, path + "/"))
        return index

    def forget(self) -> None:
        """Drop the path indexes (between entries, to bound memory)."""
        self._paths.clear()

    def findall(self, element: Element, path: str) -> list[Element]:
        """All elements at ``path`` (local names separated by ``/``) below ``element``."""
        return self.paths(element).get(path, [])

    def find(self, element: Element, path: str) -> Element:
        found = self.findall(element, path)
        return found[0] if found else None

    def text(self, element: Element, path: str) -> str | None:
        found = self.find(element, path)
        if found is None or found.text is None:
            return None
        value = str(found.text).strip()
        return value or None

    def ref(self, element: Element, path: str) -> str | None:
        value = self.text(element, path)
        return None if value is None or value.upper() == NOT_PROVIDED else value

    def required(self, element: Element, path: str, where: str) -> str:
        value = self.text(element, path)
        if value is None:
            raise ValidationError(f"{where}: das Pflichtelement <{path}> fehlt oder ist leer.")
        return value

    def amount(self, element: Element | None, where: str) -> int:
        """Cents of an ``Amt``-like element with ``Ccy="EUR"``."""
        if element is None:
            raise ValidationError(f"{where}: das Pflichtelement <Amt> fehlt.")
        currency = element.get("Ccy")
        if currency is None:
            raise ValidationError(f"{where}: die Währung (Attribut Ccy) fehlt am Betrag.")
        if currency != "EUR":
            raise ValidationError(
                f"{where}: Betrag in {currency}; nur Euro-Beträge (EUR) werden verarbeitet."
            )
        text = element.text.strip() if element.text is not None else None
        cents = self._cents.get(text) if text else None
        if cents is None:
            cents = parse_cents(text or None, where)
            self._cents[str(text)] = cents
        return cents

    def date_choice(self, element: Element, name: str, where: str) -> date | None:
        day = self.text(element, f"{name}/Dt")
        if day is not None:
            return parse_date(day, f"{where}, {name}")
        moment = self.text(element, f"{name}/DtTm")
        if moment is not None:
            return parse_datetime(moment, f"{where}, {name}").date()
        return None
