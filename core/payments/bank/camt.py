"""Bank statements in ISO 20022 camt format: camt.053 (statement) and camt.054 (notification).

German banks deliver account information as XML under the DFÜ-Abkommen, Anlage 3
("Spezifikation der Datenformate", Deutsche Kreditwirtschaft), which profiles the ISO 20022
messages:

* ``camt.053.001.08`` and the older ``camt.053.001.02`` – the end-of-day statement
  (``Document/BkToCstmrStmt/Stmt``, with balances);
* ``camt.054.001.08`` and ``camt.054.001.02`` – the debit/credit notification, e.g. the
  details of a direct-debit collection or of its returns
  (``Document/BkToCstmrDbtCdtNtfctn/Ntfctn``, no balances).

Each statement holds entries (``Ntry``, one line on the paper statement); an entry may carry
details (``NtryDtls/TxDtls``), one per single payment, e.g. the collections of one SEPA batch.
The parser returns plain frozen dataclasses in integer cents; it books nothing and touches no
database. The whole file is rejected with a German :class:`~.ValidationError` on the
first problem, so that the caller never books half a statement.

lxml is used directly (not pycamt, which reads camt.053 only) with a parser that neither
resolves entities nor loads anything from the network; a file with a DTD (``<!DOCTYPE``) is
refused outright, since camt files never carry one (no XXE, no entity expansion). Elements are
matched in the file's own namespace, whatever prefix it uses.

Returns (:attr:`CamtEntry.is_return`): an entry counts as a return when one of its
transactions has a return reason (``RtrInf/Rsn``), when its ISO bank transaction code is in the
``PMNT`` domain with one of the "reversal" sub-families ``UPDD`` (unpaid direct debit /
reversal due to payment return), ``PRDD`` (reversal due to payment reversal), ``RRTN``
(credit transfer returned) or ``RPCR`` (reversal due to a recall), or when its proprietary
German code carries the Geschäftsvorfallcode (GVC) ``108`` (SEPA direct debit returned to the
debtor), ``109`` (SEPA direct debit returned to the creditor) or ``159`` (SEPA credit transfer
returned). German banks write the proprietary code as ``<Buchungsschlüssel>+<GVC>[+…]``, e.g.
``NDDT+109+901``, or just the three-digit GVC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from core.kernel.errors import ValidationError

NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SUPPORTED_KINDS = frozenset(
    {"camt.053.001.02", "camt.053.001.08", "camt.054.001.02", "camt.054.001.08"}
)
_BODY = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}

RETURN_SUBFAMILIES = frozenset({"UPDD", "PRDD", "RRTN", "RPCR"})
RETURN_GVCS = frozenset({"108", "109", "159"})
NOT_PROVIDED = "NOTPROVIDED"

# ISO 20022 amounts have at most 18 digits (ActiveOrHistoricCurrencyAndAmount, totalDigits);
# anything longer is refused with a German message, never handed on.
MAX_AMOUNT_CENTS = 10**18 - 1
_AMOUNT_RE = re.compile(r"^\+?(?:\d+(?:\.\d*)?|\.\d+)$")
_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")

# lxml ships no type information; its elements are opaque objects here.
_Element = Any


@dataclass(frozen=True)
class CamtTransaction:
    """One single payment: a ``TxDtls``, or the entry itself when the bank gives no details."""

    amount_cents: int
    end_to_end_id: str | None
    mandate_id: str | None
    acct_svcr_ref: str | None
    remittance: str
    creditor_reference: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    return_reason: str | None
    # Returns only (see core.payments.bank.returns): the amount of the original collection as the
    # bank states it (AmtDtls/InstdAmt, OrgnlIntrBkSttlmAmt) and the bank's charges included
    # in this debit (Chrgs); None where the bank states nothing.
    original_amount_cents: int | None = None
    charges_cents: int | None = None


@dataclass(frozen=True)
class CamtEntry:
    """One booking line (``Ntry``) of a statement."""

    index: int
    amount_cents: int
    credit: bool
    reversal: bool
    booking_date: date | None
    value_date: date | None
    acct_svcr_ref: str | None
    bank_transaction_code: str
    batch_payment_info_id: str | None
    batch_message_id: str | None
    batch_count: int | None
    transactions: tuple[CamtTransaction, ...]
    status: str = "BOOK"  # Sts: BOOK (booked), PDNG (pending), INFO – book only "BOOK"

    @property
    def is_return(self) -> bool:
        """A returned payment (see the module docstring for the codes that count)."""
        if any(tx.return_reason for tx in self.transactions):
            return True
        return is_return_code(self.bank_transaction_code)


@dataclass(frozen=True)
class CamtStatement:
    """One ``Stmt`` (camt.053) or ``Ntfctn`` (camt.054) for one account."""

    message_id: str
    statement_id: str
    sequence_number: str | None
    iban: str
    currency: str
    created_at: datetime | None
    kind: str
    entries: tuple[CamtEntry, ...]


def is_return_code(code: str) -> bool:
    """Whether a bank transaction code (ISO ``D/F/S`` or German proprietary) marks a return."""
    parts = code.split("/")
    if len(parts) == 3:
        return parts[0] == "PMNT" and parts[2] in RETURN_SUBFAMILIES
    fields = code.split("+")
    gvc = fields[1] if len(fields) > 1 else fields[0]
    return gvc.strip() in RETURN_GVCS


def parse_statements(data: bytes) -> list[CamtStatement]:
    """All statements (or notifications) of a camt.053/camt.054 file, in file order."""
    root = _parse_xml(data)
    try:
        kind = _kind(root)
        return _Reader(root, kind).statements()
    except ValidationError as exc:
        raise rejected(exc.message, CONTENT_ADVICE) from exc


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


def _parse_xml(data: bytes) -> _Element:
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_statements takes the file's bytes")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
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


def _kind(root: _Element) -> str:
    tag = str(root.tag)
    namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    kind = namespace.removeprefix(NS_PREFIX) if namespace.startswith(NS_PREFIX) else ""
    if kind not in SUPPORTED_KINDS or tag != f"{{{namespace}}}Document":
        shown = namespace[:100] or "ohne Namensraum"
        raise rejected(
            "Die Datei ist kein Kontoauszug im Format camt.053 oder camt.054 "
            f"(gefunden: <{etree.QName(tag).localname[:40]}>, {shown}). Unterstützt werden "
            "camt.053.001.02, camt.053.001.08, camt.054.001.02 und camt.054.001.08.",
            FORMAT_ADVICE,
        )
    return kind


def _parse_cents(text: str | None, where: str) -> int:
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


def parse_cents(text: str | None, where: str) -> int:
    """A machine amount like ``12.50`` as cents (checked like every amount of a bank file)."""
    return _parse_cents(text, where)


def _parse_date(text: str, where: str) -> date:
    match = _DATE_RE.match(text)
    try:
        if match:
            return date.fromisoformat(match.group(1))
        raise ValueError(text)
    except ValueError as exc:
        raise ValidationError(f"{where}: „{text}“ ist kein gültiges Datum.") from exc


def _parse_datetime(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{where}: „{text}“ ist kein gültiger Zeitpunkt.") from exc


class _Reader:
    """Reads one document; element paths are qualified with the document's namespace."""

    def __init__(self, root: _Element, kind: str) -> None:
        self.root = root
        self.kind = kind
        self.prefix = f"{{{NS_PREFIX}{kind}}}"
        self._steps: dict[str, tuple[str, ...]] = {}
        # children by local name, per element; cleared for every entry to bound memory
        self._children: dict[_Element, dict[str, list[_Element]]] = {}

    # paths ------------------------------------------------------------------------------------
    # One pass over an element's children indexes them by local name; paths are then walked
    # through these indexes. This is several times faster than lxml's ElementPath for the
    # many optional elements read per entry (100,000 entries in a few seconds).

    def children(self, element: _Element) -> dict[str, list[_Element]]:
        index = self._children.get(element)
        if index is None:
            index = {}
            prefix = self.prefix
            cut = len(prefix)
            for child in element:
                tag = child.tag
                if isinstance(tag, str) and tag.startswith(prefix):
                    index.setdefault(tag[cut:], []).append(child)
            self._children[element] = index
        return index

    def findall(self, element: _Element, path: str) -> list[_Element]:
        """All elements at ``path`` (local names separated by ``/``) below ``element``."""
        steps = self._steps.get(path)
        if steps is None:
            steps = self._steps[path] = tuple(path.split("/"))
        nodes = [element]
        for step in steps:
            nodes = [found for node in nodes for found in self.children(node).get(step, ())]
            if not nodes:
                break
        return nodes

    def find(self, element: _Element, path: str) -> _Element:
        found = self.findall(element, path)
        return found[0] if found else None

    def text(self, element: _Element, path: str) -> str | None:
        found = self.find(element, path)
        if found is None or found.text is None:
            return None
        value = str(found.text).strip()
        return value or None

    def ref(self, element: _Element, path: str) -> str | None:
        value = self.text(element, path)
        return None if value is None or value.upper() == NOT_PROVIDED else value

    def required(self, element: _Element, path: str, where: str) -> str:
        value = self.text(element, path)
        if value is None:
            raise ValidationError(f"{where}: das Pflichtelement <{path}> fehlt oder ist leer.")
        return value

    # document ---------------------------------------------------------------------------------

    def statements(self) -> list[CamtStatement]:
        body_name, item_name = _BODY[self.kind[:8]]
        body = self.find(self.root, body_name)
        if body is None:
            raise ValidationError(
                f"Die Datei ({self.kind}) enthält kein Element <{body_name}> unter <Document>."
            )
        message_id = self.required(body, "GrpHdr/MsgId", "Nachrichtenkopf (GrpHdr)")
        header_created = self.text(body, "GrpHdr/CreDtTm")
        items = self.findall(body, item_name)
        if not items:
            raise ValidationError(f"Die Datei ({self.kind}) enthält keinen Auszug <{item_name}>.")
        return [
            self.statement(item, number, message_id, header_created)
            for number, item in enumerate(items, start=1)
        ]

    def statement(
        self, item: _Element, number: int, message_id: str, header_created: str | None
    ) -> CamtStatement:
        where = f"Auszug {number}"
        statement_id = self.required(item, "Id", where)
        where = f"Auszug {number} ({statement_id})"
        iban = self.text(item, "Acct/Id/IBAN")
        if iban is None:
            raise ValidationError(f"{where}: die IBAN des Kontos (<Acct/Id/IBAN>) fehlt.")
        iban = iban.replace(" ", "").upper()
        account_currency = self.text(item, "Acct/Ccy")
        if account_currency is not None and account_currency != "EUR":
            raise ValidationError(
                f"{where}: das Konto wird in {account_currency} geführt; "
                "nur Euro-Konten (EUR) werden verarbeitet."
            )
        created_text = self.text(item, "CreDtTm") or header_created
        created_at = _parse_datetime(created_text, f"{where}, CreDtTm") if created_text else None
        entries = tuple(
            self.entry(element, index, where, iban)
            for index, element in enumerate(self.findall(item, "Ntry"), start=1)
        )
        return CamtStatement(
            message_id=message_id,
            statement_id=statement_id,
            sequence_number=self.text(item, "ElctrncSeqNb"),
            iban=iban,
            currency=account_currency or "EUR",
            created_at=created_at,
            kind=self.kind,
            entries=entries,
        )

    def amount(self, element: _Element | None, where: str) -> int:
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
        return _parse_cents(text or None, where)

    def entry(
        self, element: _Element, index: int, statement_where: str, own_iban: str
    ) -> CamtEntry:
        self._children.clear()
        where = f"{statement_where}, Buchung {index}"
        amount = self.amount(self.find(element, "Amt"), where)
        if amount <= 0:
            raise ValidationError(f"{where}: der Betrag muss größer als 0 sein.")
        indicator = self.text(element, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            shown = indicator or "fehlt"
            raise ValidationError(
                f"{where}: <CdtDbtInd> muss CRDT oder DBIT sein (gefunden: {shown})."
            )
        credit = indicator == "CRDT"
        reversal = (self.text(element, "RvslInd") or "false").lower() in ("true", "1")
        status = self.text(element, "Sts/Cd") or self.text(element, "Sts/Prtry")
        status = status or self.text(element, "Sts") or "BOOK"

        details = self.findall(element, "NtryDtls")
        batch = next((b for d in details if (b := self.find(d, "Btch")) is not None), None)
        batch_count: int | None = None
        if batch is not None and (count_text := self.text(batch, "NbOfTxs")) is not None:
            if not (count_text.isascii() and count_text.isdigit()) or len(count_text) > 15:
                raise ValidationError(
                    f"{where}: <Btch/NbOfTxs> „{count_text[:30]}“ ist keine gültige Anzahl."
                )
            batch_count = int(count_text)

        bank_code = self.bank_code(element)
        tx_elements = [tx for d in details for tx in self.findall(d, "TxDtls")]
        if tx_elements:
            transactions = self.transactions(
                tx_elements,
                amount,
                credit,
                where,
                own_iban,
                is_return_code(bank_code),
                entry_charges=self.charges(element, where),
            )
        else:
            transactions = (
                CamtTransaction(
                    amount_cents=amount,
                    end_to_end_id=None,
                    mandate_id=None,
                    acct_svcr_ref=None,
                    remittance=self.text(element, "AddtlNtryInf") or "",
                    creditor_reference=None,
                    counterparty_name=None,
                    counterparty_iban=None,
                    return_reason=None,
                ),
            )
        return CamtEntry(
            index=index,
            amount_cents=amount,
            credit=credit,
            reversal=reversal,
            booking_date=self.date_choice(element, "BookgDt", where),
            value_date=self.date_choice(element, "ValDt", where),
            acct_svcr_ref=self.ref(element, "AcctSvcrRef"),
            bank_transaction_code=bank_code,
            batch_payment_info_id=self.ref(batch, "PmtInfId") if batch is not None else None,
            batch_message_id=self.ref(batch, "MsgId") if batch is not None else None,
            batch_count=batch_count,
            transactions=transactions,
            status=status,
        )

    def date_choice(self, element: _Element, name: str, where: str) -> date | None:
        day = self.text(element, f"{name}/Dt")
        if day is not None:
            return _parse_date(day, f"{where}, {name}")
        moment = self.text(element, f"{name}/DtTm")
        if moment is not None:
            return _parse_datetime(moment, f"{where}, {name}").date()
        return None

    def bank_code(self, element: _Element) -> str:
        domain = self.text(element, "BkTxCd/Domn/Cd")
        family = self.text(element, "BkTxCd/Domn/Fmly/Cd")
        sub_family = self.text(element, "BkTxCd/Domn/Fmly/SubFmlyCd")
        if domain and family and sub_family:
            return f"{domain}/{family}/{sub_family}"
        return self.text(element, "BkTxCd/Prtry/Cd") or ""

    def transactions(
        self,
        elements: list[_Element],
        entry_amount: int,
        credit: bool,
        where: str,
        own_iban: str,
        return_code: bool,
        entry_charges: int | None = None,
    ) -> tuple[CamtTransaction, ...]:
        """The details of one entry; their amounts must add up to the entry's amount.

        A detail without an amount takes the entry's amount when it is the only one; in a
        batch every detail needs its own amount (``Amt`` in .08, ``AmtDtls/TxAmt|InstdAmt``).
        """
        single = len(elements) == 1
        result: list[CamtTransaction] = []
        for number, element in enumerate(elements, start=1):
            tx_where = f"{where}, Einzelumsatz {number}"
            amount_element = self.find(element, "Amt")
            if amount_element is None:
                amount_element = self.find(element, "AmtDtls/TxAmt/Amt")
            if amount_element is None and not single:
                # in a batch the instructed amount is all there is; a single payment's booked
                # amount is the entry's (a return's instructed amount is the original one)
                amount_element = self.find(element, "AmtDtls/InstdAmt/Amt")
            if amount_element is not None:
                amount = self.amount(amount_element, tx_where)
            elif single:
                amount = entry_amount
            else:
                raise ValidationError(
                    f"{tx_where}: der Betrag des Einzelumsatzes fehlt "
                    "(<Amt> oder <AmtDtls/TxAmt/Amt>)."
                )
            if amount <= 0:
                raise ValidationError(f"{tx_where}: der Betrag muss größer als 0 sein.")
            indicator = self.text(element, "CdtDbtInd")
            if indicator is not None and indicator != ("CRDT" if credit else "DBIT"):
                raise ValidationError(
                    f"{tx_where}: die Soll/Haben-Kennung ({indicator}) weicht von der Buchung ab."
                )
            result.append(
                self.transaction(element, amount, credit, own_iban, return_code, tx_where)
            )
        is_return = return_code or result[0].return_reason is not None
        if single and is_return and result[0].charges_cents is None and entry_charges is not None:
            # charges given for the whole entry of a single return belong to it
            result[0] = replace(result[0], charges_cents=entry_charges)
        total = sum(tx.amount_cents for tx in result)
        if total != entry_amount and any(tx.charges_cents for tx in result):
            # Some banks give a return's detail as the original amount with the charges beside
            # it, the entry being both: the detail then is the original, the debit the sum.
            with_charges = [
                replace(
                    tx,
                    amount_cents=tx.amount_cents + (tx.charges_cents or 0),
                    original_amount_cents=(
                        tx.amount_cents
                        if tx.original_amount_cents is None
                        else tx.original_amount_cents
                    ),
                )
                if tx.charges_cents
                else tx
                for tx in result
            ]
            if sum(tx.amount_cents for tx in with_charges) == entry_amount:
                result, total = with_charges, entry_amount
        if total != entry_amount:
            raise ValidationError(
                f"{where}: die Einzelumsätze ergeben {_euro(total)} €, "
                f"die Buchung lautet aber über {_euro(entry_amount)} €."
            )
        return tuple(result)

    def transaction(
        self,
        element: _Element,
        amount: int,
        credit: bool,
        own_iban: str,
        return_code: bool,
        where: str,
    ) -> CamtTransaction:
        return_reason = self.text(element, "RtrInf/Rsn/Cd") or self.text(
            element, "RtrInf/Rsn/Prtry"
        )
        is_return = return_code or return_reason is not None
        unstructured = [
            value
            for node in self.findall(element, "RmtInf/Ustrd")
            if node.text is not None and (value := str(node.text).strip())
        ]
        references = [
            value
            for node in self.findall(element, "RmtInf/Strd/CdtrRefInf/Ref")
            if node.text is not None and (value := str(node.text).strip())
        ]
        name, iban = self.counterparty(element, credit, return_reason is not None, own_iban)
        return CamtTransaction(
            amount_cents=amount,
            end_to_end_id=self.ref(element, "Refs/EndToEndId"),
            mandate_id=self.ref(element, "Refs/MndtId"),
            acct_svcr_ref=self.ref(element, "Refs/AcctSvcrRef"),
            remittance=" ".join(unstructured + references),
            creditor_reference=references[0] if references else None,
            counterparty_name=name,
            counterparty_iban=iban,
            return_reason=return_reason,
            original_amount_cents=self.original_amount(element, where) if is_return else None,
            charges_cents=self.charges(element, where) if is_return else None,
        )

    def original_amount(self, element: _Element, where: str) -> int | None:
        """A return's original collection: the instructed amount, or the original interbank
        settlement amount where the bank copies it from the return message (pacs.004)."""
        for path in ("AmtDtls/InstdAmt/Amt", "OrgnlIntrBkSttlmAmt", "RtrInf/OrgnlIntrBkSttlmAmt"):
            found = self.find(element, path)
            if found is not None:
                return self.amount(found, f"{where}, Originalbetrag")
        return None

    def charges(self, element: _Element, where: str) -> int | None:
        """The bank's charges included in this debit: the records of ``Chrgs`` (camt .08:
        ``Chrgs/Rcrd/Amt``, except those marked ``ChrgInclInd=false``, which the bank books
        separately), else the total (``Chrgs/TtlChrgsAndTaxAmt``), else the amounts of the
        repeated ``Chrgs`` (camt .02) or ``ChrgsInf`` elements. None: no charges stated."""
        where = f"{where}, Entgelte"
        records = self.findall(element, "Chrgs/Rcrd")
        if records:
            return sum(
                self.amount(self.find(r, "Amt"), where)
                for r in records
                if (self.text(r, "ChrgInclInd") or "true").lower() not in ("false", "0")
            )
        total = self.find(element, "Chrgs/TtlChrgsAndTaxAmt")
        if total is not None:
            return self.amount(total, where)
        amounts = self.findall(element, "Chrgs/Amt") + self.findall(element, "ChrgsInf/Amt")
        if amounts:
            return sum(self.amount(a, where) for a in amounts)
        return None

    def counterparty(
        self, element: _Element, credit: bool, is_return: bool, own_iban: str
    ) -> tuple[str | None, str | None]:
        """The other side: the debtor of a credit, the creditor of a debit.

        A return keeps the parties of the original payment (the returned direct debit still
        names the citizen as debtor), so the roles swap; and a side whose account is our own
        is never the counterparty.
        """
        sides = ["Dbtr", "Cdtr"] if credit != is_return else ["Cdtr", "Dbtr"]
        for role in sides:
            name = self.text(element, f"RltdPties/{role}/Pty/Nm") or self.text(
                element, f"RltdPties/{role}/Nm"
            )
            iban = self.text(element, f"RltdPties/{role}Acct/Id/IBAN")
            if iban is not None:
                iban = iban.replace(" ", "").upper()
                if iban == own_iban:
                    continue
            return name, iban
        return None, None


def _euro(cents: int) -> str:
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"


def parse_xml(data: bytes) -> Any:
    """The root element of an ISO 20022 file, read with the same safe parser (no DTD, no
    entities, no network); for the other bank files (pain.002)."""
    return _parse_xml(data)
