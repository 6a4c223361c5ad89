"""Payment status reports (pain.002, "Customer Payment Status Report") for our pain.008 files.

Before a direct debit settles, the bank may reject single collections or a whole file (an
R-transaction of the kind "reject", e.g. AC04 account closed, AM04 insufficient funds, MD01 no
mandate; DFÜ-Abkommen Anlage 3, pain.002). German banks send ``pain.002.001.03`` (GBIC_3) or
``pain.002.001.10`` (GBIC_4). What is read here: the original message id (our run's MsgId), the
group status (``RJCT`` for the whole file), and per transaction the original EndToEndId, its
status and reason code, the original amount (``OrgnlTxRef/Amt/InstdAmt`` or
``OrgnlTxRef/IntrBkSttlmAmt``; checked against our debit, core.payments.bank.returns) and the bank's
charges (``ChrgsInf/Amt``). Only rejections matter to the ledger; accepted statuses are ignored.
Every refusal says that nothing was booked and what to do (core.payments.bank.bank_xml.rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.kernel.errors import ValidationError
from core.payments.bank.bank_xml import (
    CONTENT_ADVICE,
    FORMAT_ADVICE,
    NS_PREFIX,
    parse_cents,
    parse_xml,
)
from core.payments.bank.bank_xml import rejected as _rejected

KINDS = frozenset({"pain.002.001.03", "pain.002.001.10"})


@dataclass(frozen=True)
class Rejection:
    end_to_end_id: str | None  # None: the whole group/batch was rejected
    reason: str  # ISO reason code, "MS03" (not specified) when the bank gives none
    original_amount_cents: int | None = None  # as the bank states it (None: not stated)
    charges_cents: int | None = None  # the bank's charges for the rejection (None: not stated)


@dataclass(frozen=True)
class StatusReport:
    message_id: str  # of the report
    original_message_id: str  # our pain.008's GrpHdr/MsgId
    kind: str
    rejections: tuple[Rejection, ...]


def is_status_report(root: Any) -> bool:
    tag = str(root.tag)
    return tag.startswith("{" + NS_PREFIX + "pain.002.")


def parse_status_report(data: bytes) -> StatusReport:
    root = parse_xml(data)
    namespace = str(root.tag)[1:].partition("}")[0]
    kind = namespace.removeprefix(NS_PREFIX)
    if kind not in KINDS:
        raise _rejected(
            f"Die Datei ist kein Statusbericht pain.002.001.03 oder .10 (gefunden: {kind[:40]}).",
            FORMAT_ADVICE,
        )
    try:
        return _read(root, namespace, kind)
    except ValidationError as exc:
        raise _rejected(exc.message, CONTENT_ADVICE) from exc


def _read(root: Any, namespace: str, kind: str) -> StatusReport:
    ns = {"p": namespace}

    def text(element: Any, path: str) -> str | None:
        found = element.find(path, ns)
        value = found.text.strip() if found is not None and found.text else None
        return value or None

    report = root.find("p:CstmrPmtStsRpt", ns)
    if report is None:
        raise ValidationError("Statusbericht ohne <CstmrPmtStsRpt>.")
    message_id = text(report, "p:GrpHdr/p:MsgId")
    original = text(report, "p:OrgnlGrpInfAndSts/p:OrgnlMsgId")
    if not message_id or not original:
        raise ValidationError("Statusbericht ohne Nachrichtenreferenz (MsgId/OrgnlMsgId).")

    def reason(element: Any) -> str:
        return (
            text(element, "p:StsRsnInf/p:Rsn/p:Cd")
            or text(element, "p:StsRsnInf/p:Rsn/p:Prtry")
            or "MS03"
        )

    rejections: list[Rejection] = []
    group = report.find("p:OrgnlGrpInfAndSts", ns)
    if text(group, "p:GrpSts") == "RJCT":
        rejections.append(Rejection(None, reason(group)))
    for info in report.findall("p:OrgnlPmtInfAndSts", ns):
        if text(info, "p:PmtInfSts") == "RJCT":
            rejections.append(Rejection(None, reason(info)))
        for tx in info.findall("p:TxInfAndSts", ns):
            if text(tx, "p:TxSts") != "RJCT":
                continue
            e2e = text(tx, "p:OrgnlEndToEndId")
            if not e2e:
                raise ValidationError("Abgewiesene Lastschrift ohne OrgnlEndToEndId.")
            where = f"Abgewiesene Lastschrift {e2e[:35]}"
            rejections.append(
                Rejection(
                    e2e,
                    reason(tx),
                    original_amount_cents=amount(tx, _ORIGINAL_AMOUNT, where),
                    charges_cents=total(tx, "p:ChrgsInf/p:Amt", f"{where}, Entgelte"),
                )
            )
    return StatusReport(message_id, original, kind, tuple(rejections))


_ORIGINAL_AMOUNT = (
    "p:OrgnlTxRef/p:Amt/p:InstdAmt",
    "p:OrgnlTxRef/p:IntrBkSttlmAmt",
    "p:OrgnlIntrBkSttlmAmt",
)


def _euro_cents(element: Any, where: str) -> int:
    currency = element.get("Ccy")
    if currency != "EUR":
        raise ValidationError(f"{where}: Betrag in {currency or 'ohne Währung'}; erwartet EUR.")
    return parse_cents(element.text.strip() if element.text else None, where)


def amount(element: Any, paths: tuple[str, ...], where: str) -> int | None:
    """The first of ``paths`` that is there, as cents (None: none is there)."""
    namespace = str(element.tag)[1:].partition("}")[0]
    for path in paths:
        found = element.find(path, {"p": namespace})
        if found is not None:
            return _euro_cents(found, where)
    return None


def total(element: Any, path: str, where: str) -> int | None:
    """The sum of every ``path`` element (None: there is none)."""
    namespace = str(element.tag)[1:].partition("}")[0]
    found = element.findall(path, {"p": namespace})
    return sum(_euro_cents(f, where) for f in found) if found else None
