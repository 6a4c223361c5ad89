"""The camt entries flattened in C: one XSLT pass turns every ``Ntry`` into one element whose
attributes are the texts the parser reads, so Python reads about 20 attributes per entry
instead of walking its ≈ 32 elements (core.payments.bank.camt_parser).

Only plain entries are read here: no or one ``TxDtls``, no batch, no charges, no return (by
bank code or ``RtrInf``). For every other entry, and for any entry whose values would be
refused, :func:`plain_entry` returns None and the parser reads the entry element itself, so
every check and every German message stays the parser's own. A text is what lxml's ``.text``
gives (the element's first child node if it is text), so both readings agree exactly
(tests/unit/test_camt_flat.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from lxml import etree

from core.kernel.errors import ValidationError
from core.payments.bank.bank_xml import NOT_PROVIDED, Element, parse_date, parse_datetime
from core.payments.bank.camt import CamtEntry, CamtTransaction, bare_transaction, is_return_code

_TX = "(d:NtryDtls/d:TxDtls)[1]/"
_PARTIES = ("Dbtr", "Cdtr")
# attribute name → path below the Ntry (its first element in document order, as ElementIndex)
_TEXTS = {
    "amt": "d:Amt",
    "ind": "d:CdtDbtInd",
    "rvsl": "d:RvslInd",
    "stcd": "d:Sts/d:Cd",
    "stpr": "d:Sts/d:Prtry",
    "sts": "d:Sts",
    "bdd": "d:BookgDt/d:Dt",
    "bdt": "d:BookgDt/d:DtTm",
    "vdd": "d:ValDt/d:Dt",
    "vdt": "d:ValDt/d:DtTm",
    "ref": "d:AcctSvcrRef",
    "dom": "d:BkTxCd/d:Domn/d:Cd",
    "fam": "d:BkTxCd/d:Domn/d:Fmly/d:Cd",
    "sub": "d:BkTxCd/d:Domn/d:Fmly/d:SubFmlyCd",
    "prt": "d:BkTxCd/d:Prtry/d:Cd",
    "info": "d:AddtlNtryInf",
    "tamt": _TX + "d:Amt",
    "xamt": _TX + "d:AmtDtls/d:TxAmt/d:Amt",
    "tind": _TX + "d:CdtDbtInd",
    "e2e": _TX + "d:Refs/d:EndToEndId",
    "mndt": _TX + "d:Refs/d:MndtId",
    "tref": _TX + "d:Refs/d:AcctSvcrRef",
    **{
        f"{role}{key}": _TX + path.format(role=role)
        for role in _PARTIES
        for key, path in (
            ("pn", "d:RltdPties/d:{role}/d:Pty/d:Nm"),
            ("n", "d:RltdPties/d:{role}/d:Nm"),
            ("i", "d:RltdPties/d:{role}Acct/d:Id/d:IBAN"),
        )
    },
}
_ATTRIBUTES = {
    "amtc": "(d:Amt)[1]/@Ccy",
    "tamtc": f"({_TX}d:Amt)[1]/@Ccy",
    "xamtc": f"({_TX}d:AmtDtls/d:TxAmt/d:Amt)[1]/@Ccy",
}
# an entry read by the parser itself (see the module docstring)
_UNUSUAL = (
    "d:NtryDtls/d:Btch or d:Chrgs or d:ChrgsInf or count(d:NtryDtls/d:TxDtls) > 1"
    f" or {_TX}d:RtrInf or {_TX}d:Chrgs or {_TX}d:ChrgsInf"
)
_PRESENT = {"tap": f"{_TX}d:Amt", "xap": f"{_TX}d:AmtDtls/d:TxAmt/d:Amt"}


def _stylesheet(namespace: str, body: str, item: str) -> bytes:
    texts = "".join(
        f'<xsl:for-each select="({path})[1]/node()[1][self::text()]">'
        f'<xsl:attribute name="{name}"><xsl:value-of select="."/></xsl:attribute></xsl:for-each>'
        for name, path in _TEXTS.items()
    )
    attributes = "".join(
        f'<xsl:for-each select="{path}"><xsl:attribute name="{name}">'
        '<xsl:value-of select="."/></xsl:attribute></xsl:for-each>'
        for name, path in _ATTRIBUTES.items()
    )
    lists = "".join(
        f'<xsl:for-each select="{_TX}d:RmtInf/{path}"><{tag}>'
        '<xsl:for-each select="node()[1][self::text()]"><xsl:attribute name="v">'
        f'<xsl:value-of select="."/></xsl:attribute></xsl:for-each></{tag}></xsl:for-each>'
        for tag, path in (("u", "d:Ustrd"), ("r", "d:Strd/d:CdtrRefInf/d:Ref"))
    )
    return (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        f'xmlns:d="{namespace}"><xsl:template match="/"><f>'
        f'<xsl:for-each select="d:Document/d:{body}[1]/d:{item}"><s>'
        '<xsl:for-each select="d:Ntry"><n>'
        f'<xsl:if test="{_UNUSUAL}"><xsl:attribute name="x">1</xsl:attribute></xsl:if>'
        + "".join(
            f'<xsl:if test="{path}"><xsl:attribute name="{name}">1</xsl:attribute></xsl:if>'
            for name, path in _PRESENT.items()
        )
        + '<xsl:attribute name="k"><xsl:value-of select="count(d:NtryDtls/d:TxDtls)"/>'
        f"</xsl:attribute>{texts}{attributes}{lists}</n></xsl:for-each></s></xsl:for-each>"
        "</f></xsl:template></xsl:stylesheet>"
    ).encode()


@cache
def _transform(namespace: str, body: str, item: str) -> etree.XSLT:
    return etree.XSLT(
        etree.fromstring(_stylesheet(namespace, body, item)),
        access_control=etree.XSLTAccessControl.DENY_ALL,
    )


def flat_statements(root: Element, namespace: str, body: str, item: str) -> list[Element]:
    """Per statement (``body/item`` below ``Document``), the list of its flattened entries."""
    result = _transform(namespace, body, item)(root.getroottree())
    return [list(statement) for statement in result.getroot()]


def _text(flat: dict[str, str], name: str) -> str | None:
    value = flat.get(name)
    if value is None:
        return None
    return value.strip() or None


def _ref(flat: dict[str, str], name: str) -> str | None:
    value = _text(flat, name)
    return None if value is None or value.upper() == NOT_PROVIDED else value


def plain_entry(
    element: Element,
    index: int,
    where: str,
    own_iban: str,
    cents: Callable[[str | None, str], int],
) -> CamtEntry | None:
    """The entry of one flattened ``Ntry``, or None where the parser must read it itself.

    ``cents(text, where)`` reads an amount's text (the parser's cached ``parse_cents``)."""
    if element.get("x") is not None:
        return None
    flat = dict(element.attrib)
    try:
        return _entry(element, flat, index, where, own_iban, cents)
    except ValidationError:
        return None  # the parser reads it again and says what is wrong


def _entry(
    element: Element,
    flat: dict[str, str],
    index: int,
    where: str,
    own_iban: str,
    cents: Callable[[str | None, str], int],
) -> CamtEntry | None:
    if flat.get("amtc") != "EUR" or "amt" not in flat:
        return None
    amount = cents(flat["amt"].strip(), where)
    indicator = _text(flat, "ind")
    if amount <= 0 or indicator not in ("CRDT", "DBIT"):
        return None
    credit = indicator == "CRDT"
    domain, family, sub_family = _text(flat, "dom"), _text(flat, "fam"), _text(flat, "sub")
    if domain and family and sub_family:
        bank_code = f"{domain}/{family}/{sub_family}"
    else:
        bank_code = _text(flat, "prt") or ""
    if is_return_code(bank_code):
        return None
    if flat["k"] == "0":
        transaction = bare_transaction(amount, _text(flat, "info") or "")
    else:
        transaction = _transaction(element, flat, amount, credit, own_iban, where, cents)
        if transaction is None:
            return None
    status = _text(flat, "stcd") or _text(flat, "stpr") or _text(flat, "sts") or "BOOK"
    return CamtEntry(
        index=index,
        amount_cents=amount,
        credit=credit,
        reversal=(_text(flat, "rvsl") or "false").lower() in ("true", "1"),
        booking_date=_date(flat, "bdd", "bdt", f"{where}, BookgDt"),
        value_date=_date(flat, "vdd", "vdt", f"{where}, ValDt"),
        acct_svcr_ref=_ref(flat, "ref"),
        bank_transaction_code=bank_code,
        batch_payment_info_id=None,
        batch_message_id=None,
        batch_count=None,
        transactions=(transaction,),
        status=status,
    )


def _transaction(
    element: Element,
    flat: dict[str, str],
    entry_amount: int,
    credit: bool,
    own_iban: str,
    where: str,
    cents: Callable[[str | None, str], int],
) -> CamtTransaction | None:
    amount = entry_amount
    # the detail's own amount (Amt, else AmtDtls/TxAmt/Amt): the entry's, or refused
    key = "t" if "tap" in flat else "x" if "xap" in flat else None
    if key is not None:
        if flat.get(key + "amtc") != "EUR" or key + "amt" not in flat:
            return None
        amount = cents(flat[key + "amt"].strip(), where)
        if amount != entry_amount:
            return None
    indicator = _text(flat, "tind")
    if indicator is not None and indicator != ("CRDT" if credit else "DBIT"):
        return None
    unstructured, references = [], []
    for node in element:
        value = node.get("v")
        if value is not None and (value := value.strip()):
            (unstructured if node.tag == "u" else references).append(value)
    name, iban = None, None
    for role in _PARTIES if credit else _PARTIES[::-1]:
        name = _text(flat, role + "pn") or _text(flat, role + "n")
        iban = _text(flat, role + "i")
        if iban is not None:
            iban = iban.replace(" ", "").upper()
            if iban == own_iban:
                name, iban = None, None
                continue
        break
    return CamtTransaction(
        amount_cents=amount,
        end_to_end_id=_ref(flat, "e2e"),
        mandate_id=_ref(flat, "mndt"),
        acct_svcr_ref=_ref(flat, "tref"),
        remittance=" ".join(unstructured + references),
        creditor_reference=references[0] if references else None,
        counterparty_name=name,
        counterparty_iban=iban,
        return_reason=None,
    )


def _date(flat: dict[str, str], day_name: str, moment_name: str, where: str) -> object:
    day = _text(flat, day_name)
    if day is not None:
        return parse_date(day, where)
    moment = _text(flat, moment_name)
    if moment is not None:
        return parse_datetime(moment, where).date()
    return None
