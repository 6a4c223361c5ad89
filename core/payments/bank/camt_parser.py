"""Parsing camt.053 / camt.054 files into :mod:`core.payments.bank.camt` statements.

Each statement holds entries (``Ntry``, one line on the paper statement); an entry may carry
details (``NtryDtls/TxDtls``), one per single payment, e.g. the collections of one SEPA batch.
The parser returns plain frozen dataclasses in integer cents; it books nothing and touches no
database. The whole file is rejected with a German :class:`~.ValidationError` on the
first problem, so that the caller never books half a statement.

lxml is used directly (not pycamt, which reads camt.053 only), through the safe parser of
core.payments.bank.bank_xml."""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from core.kernel.errors import ValidationError
from core.payments.bank.bank_xml import (
    CONTENT_ADVICE,
    FORMAT_ADVICE,
    NS_PREFIX,
    Element,
    ElementIndex,
    euro_text,
    parse_datetime,
    parse_xml,
    rejected,
)
from core.payments.bank.camt import (
    SUPPORTED_KINDS,
    CamtEntry,
    CamtStatement,
    CamtTransaction,
    is_return_code,
)

_BODY = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}


def parse_statements(data: bytes) -> list[CamtStatement]:
    """All statements (or notifications) of a camt.053/camt.054 file, in file order."""
    return statements_of(parse_xml(data))


def statements_of(root: Element) -> list[CamtStatement]:
    """:func:`parse_statements` for a document already read with ``bank_xml.parse_xml``."""
    try:
        kind = _kind(root)
        return CamtReader(root, kind).statements()
    except ValidationError as exc:
        raise rejected(exc.message, CONTENT_ADVICE) from exc


def _kind(root: Element) -> str:
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


class CamtReader(ElementIndex):
    """Reads one camt document."""

    def __init__(self, root: Element, kind: str) -> None:
        super().__init__(f"{{{NS_PREFIX}{kind}}}", frozenset({"Ntry", "TxDtls"}))
        self.root = root
        self.kind = kind

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
        self, item: Element, number: int, message_id: str, header_created: str | None
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
        created_at = parse_datetime(created_text, f"{where}, CreDtTm") if created_text else None
        entries = self.entries(item, where, iban)
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

    def entries(self, item: Element, where: str, iban: str) -> tuple[CamtEntry, ...]:
        """Every entry; a faulty file is refused with all faulty entries named (ten in full)."""
        entries, problems = [], []
        for index, element in enumerate(self.findall(item, "Ntry"), start=1):
            try:
                entries.append(self.entry(element, index, where, iban))
            except ValidationError as exc:
                problems.append(exc.message)
        if len(problems) == 1:
            raise ValidationError(problems[0])
        if problems:
            more = f" (und {len(problems) - 10} weitere)" if len(problems) > 10 else ""
            raise ValidationError(
                f"{len(problems)} Buchungen sind fehlerhaft: " + " ".join(problems[:10]) + more
            )
        return tuple(entries)

    def entry(self, element: Element, index: int, statement_where: str, own_iban: str) -> CamtEntry:
        self.forget()
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

        batch = self.find(element, "NtryDtls/Btch")
        batch_count = self.batch_count(batch, where) if batch is not None else None

        bank_code = self.bank_code(element)
        tx_elements = self.findall(element, "NtryDtls/TxDtls")
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
            transactions = (self.without_details(element, amount),)
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

    def batch_count(self, batch: Element, where: str) -> int | None:
        count_text = self.text(batch, "NbOfTxs")
        if count_text is None:
            return None
        if not (count_text.isascii() and count_text.isdigit()) or len(count_text) > 15:
            raise ValidationError(
                f"{where}: <Btch/NbOfTxs> „{count_text[:30]}“ ist keine gültige Anzahl."
            )
        return int(count_text)

    def without_details(self, element: Element, amount: int) -> CamtTransaction:
        """An entry without details is its own single transaction."""
        return CamtTransaction(
            amount_cents=amount,
            end_to_end_id=None,
            mandate_id=None,
            acct_svcr_ref=None,
            remittance=self.text(element, "AddtlNtryInf") or "",
            creditor_reference=None,
            counterparty_name=None,
            counterparty_iban=None,
            return_reason=None,
        )

    def bank_code(self, element: Element) -> str:
        domain = self.text(element, "BkTxCd/Domn/Cd")
        family = self.text(element, "BkTxCd/Domn/Fmly/Cd")
        sub_family = self.text(element, "BkTxCd/Domn/Fmly/SubFmlyCd")
        if domain and family and sub_family:
            return f"{domain}/{family}/{sub_family}"
        return self.text(element, "BkTxCd/Prtry/Cd") or ""

    def transactions(
        self,
        elements: list[Element],
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
            amount = self.detail_amount(element, entry_amount, single, tx_where)
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
        result = _charges_added_where_they_fit(result, entry_amount)
        total = sum(tx.amount_cents for tx in result)
        if total != entry_amount:
            raise ValidationError(
                f"{where}: die Einzelumsätze ergeben {euro_text(total)} €, "
                f"die Buchung lautet aber über {euro_text(entry_amount)} €."
            )
        return tuple(result)

    def detail_amount(
        self, element: Element, entry_amount: int, single: bool, tx_where: str
    ) -> int:
        amount_element = self.find(element, "Amt")
        if amount_element is None:
            amount_element = self.find(element, "AmtDtls/TxAmt/Amt")
        if amount_element is None and not single:
            # in a batch the instructed amount is all there is; a single payment's booked
            # amount is the entry's (a return's instructed amount is the original one)
            amount_element = self.find(element, "AmtDtls/InstdAmt/Amt")
        if amount_element is not None:
            return self.amount(amount_element, tx_where)
        if single:
            return entry_amount
        raise ValidationError(
            f"{tx_where}: der Betrag des Einzelumsatzes fehlt (<Amt> oder <AmtDtls/TxAmt/Amt>)."
        )

    def transaction(
        self,
        element: Element,
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

    def original_amount(self, element: Element, where: str) -> int | None:
        """A return's original collection: the instructed amount, or the original interbank
        settlement amount where the bank copies it from the return message (pacs.004)."""
        for path in ("AmtDtls/InstdAmt/Amt", "OrgnlIntrBkSttlmAmt", "RtrInf/OrgnlIntrBkSttlmAmt"):
            found = self.find(element, path)
            if found is not None:
                return self.amount(found, f"{where}, Originalbetrag")
        return None

    def charges(self, element: Element, where: str) -> int | None:
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
        self, element: Element, credit: bool, is_return: bool, own_iban: str
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


def _charges_added_where_they_fit(
    result: list[CamtTransaction], entry_amount: int
) -> list[CamtTransaction]:
    """Some banks give a return's detail as the original amount with the charges beside it,
    the entry being both: the detail then is the original, the debit the sum (only where that
    makes the details add up to the entry)."""
    if sum(tx.amount_cents for tx in result) == entry_amount or not any(
        tx.charges_cents for tx in result
    ):
        return result
    with_charges = [
        replace(
            tx,
            amount_cents=tx.amount_cents + (tx.charges_cents or 0),
            original_amount_cents=(
                tx.amount_cents if tx.original_amount_cents is None else tx.original_amount_cents
            ),
        )
        if tx.charges_cents
        else tx
        for tx in result
    ]
    return with_charges if sum(tx.amount_cents for tx in with_charges) == entry_amount else result
