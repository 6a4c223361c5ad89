"""The pain.008.001.08 message of a direct-debit run (checked against the XSD sepaxml ships;
German banks take it as GBIC_4), with texts in the SEPA basic character set.

Two builders of the same message: :func:`pain008` through sepaxml, one payment dict at a time
(the one-by-one run, and the reference of tests/integration/test_sepa_bulk_run.py), and
:func:`pain008_message`, which writes the same elements with the same values as one string
and has libxml2 (lxml) parse and validate it against the same XSD while parsing: sepaxml's
element tree and its pure-Python validator (xmlschema) took longer than booking the items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape as _escape

import sepaxml
from sepaxml import SepaDD
from sepaxml.utils import int_to_decimal_str, make_id, make_msg_id
from text_unidecode import unidecode

from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, Mandate
from core.payments.xsd_stream import StreamingSchema
from core.tenancy.municipalities import Municipality

PAIN_008 = "pain.008.001.08"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_008}"
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_008}.xsd"

_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def sepa_text(text: str, max_length: int) -> str:
    """Text in the SEPA basic character set (EPC217-08): German umlauts spelt out the German
    way ("Müller" → "Mueller", which sepaxml's ``clean`` would make "Muller"), other letters
    transliterated (unidecode), anything else replaced by a space. ASCII text skips the
    transliteration (it would change nothing), as most names and texts of a run are ASCII."""
    text = text or ""
    latin = text if text.isascii() else unidecode(text.translate(_UMLAUTS))
    cleaned = " ".join(_NOT_SEPA.sub(" ", latin).split())
    return cleaned[:max_length].rstrip()


def remittance(kassenzeichen: str, kind: ClaimKind, description: str) -> str:
    """The unstructured remittance text (Verwendungszweck) of a claim's debit."""
    return sepa_text(f"Kassenzeichen {kassenzeichen} {KINDS[kind].label} {description}", 140)


def pain008(
    municipality: Municipality,
    run: DirectDebitRun,
    debits: list[tuple[DirectDebitItem, Claim, Mandate]],
) -> bytes:
    """The run as a pain.008.001.08 message, validated against the XSD before it is returned.

    Texts are transliterated here (:func:`sepa_text`), so sepaxml's own cleaning is off.
    """
    sepa = SepaDD(
        {
            "name": sepa_text(municipality.cash_office_name, 70),
            "IBAN": municipality.iban,
            "BIC": municipality.bic,
            "batch": True,
            "creditor_id": municipality.creditor_id,
            "currency": "EUR",
        },
        schema=PAIN_008,
        clean=False,
    )
    for debit, claim, mandate in debits:
        payment = {
            "name": sepa_text(mandate.account_holder, 70),
            "IBAN": mandate.iban,
            "amount": debit.amount_cents,
            "type": "RCUR",
            "collection_date": run.collection_date,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": remittance(claim.kassenzeichen, claim.kind, claim.description),
            "endtoend_id": debit.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        sepa.add_payment(payment)
    xml: bytes = sepa.export(validate=True)
    return xml


@dataclass(frozen=True, slots=True)
class Transaction:
    """One DrctDbtTxInf of the message: what sepaxml's payment dict holds, texts cleaned."""

    end_to_end_id: str
    amount_cents: int
    mandate_reference: str
    mandate_signed_on: date
    debtor_bic: str | None
    debtor_name: str  # sepa_text(…, 70)
    debtor_iban: str
    remittance: str  # sepa_text(…, 140)


@dataclass(frozen=True)
class Message:
    xml: bytes
    message_id: str  # GrpHdr/MsgId
    payment_info_id: str  # PmtInf/PmtInfId


_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CstmrDrctDbtInitn><GrpHdr>'
    "<MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>"
    "<CtrlSum>{total}</CtrlSum><InitgPty><Nm>{name}</Nm><Id><OrgId><Othr><Id>{creditor_id}</Id>"
    "</Othr></OrgId></Id></InitgPty></GrpHdr><PmtInf><PmtInfId>{pmt_inf_id}</PmtInfId>"
    "<PmtMtd>DD</PmtMtd><BtchBookg>true</BtchBookg><NbOfTxs>{count}</NbOfTxs>"
    "<CtrlSum>{total}</CtrlSum><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd>"
    "</LclInstrm><SeqTp>RCUR</SeqTp></PmtTpInf><ReqdColltnDt>{day}</ReqdColltnDt><Cdtr><Nm>"
    "{name}</Nm></Cdtr><CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct><CdtrAgt><FinInstnId>"
    "<BICFI>{bic}</BICFI></FinInstnId></CdtrAgt><ChrgBr>SLEV</ChrgBr><CdtrSchmeId><Id><PrvtId>"
    "<Othr><Id>{creditor_id}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id>"
    "</CdtrSchmeId>"
)
_FOOTER = "</PmtInf></CstmrDrctDbtInitn></Document>"
_TX = (
    "<DrctDbtTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId>"
    '<InstdAmt Ccy="EUR">{}</InstdAmt><DrctDbtTx><MndtRltdInf><MndtId>{}</MndtId>'
    "<DtOfSgntr>{}</DtOfSgntr></MndtRltdInf></DrctDbtTx><DbtrAgt><FinInstnId>{}</FinInstnId>"
    "</DbtrAgt><Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>"
    "<RmtInf><Ustrd>{}</Ustrd></RmtInf></DrctDbtTxInf>"
).format
_NO_BIC = "<Othr><Id>NOTPROVIDED</Id></Othr>"


def escape(text: str) -> str:
    """XML text: most values need nothing (SEPA texts, IBANs, references), so look first."""
    return _escape(text) if "&" in text or "<" in text or ">" in text else text


def pain008_message(
    municipality: Municipality, collection_date: date, transactions: Sequence[Transaction]
) -> Message:
    """:func:`build_message`, validated."""
    message = build_message(municipality, collection_date, transactions)
    validate(message.xml)
    return message


def build_message(
    municipality: Municipality, collection_date: date, transactions: Sequence[Transaction]
) -> Message:
    """The same message as :func:`pain008` (elements, order, values; the ids are random as
    sepaxml makes them), not yet validated (:func:`validate`)."""
    name = sepa_text(municipality.cash_office_name, 70)
    message_id, payment_info_id = make_msg_id(), make_id(name)
    header = _HEADER.format(
        ns=NAMESPACE,
        msg_id=escape(message_id),
        created=datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),  # local time, as sepaxml
        count=len(transactions),
        total=int_to_decimal_str(sum(t.amount_cents for t in transactions)),
        name=escape(name),
        creditor_id=escape(municipality.creditor_id),
        pmt_inf_id=escape(payment_info_id),
        day=collection_date.isoformat(),
        iban=escape(municipality.iban),
        bic=escape(municipality.bic),
    )
    body = [header]
    body.extend(
        _TX(
            escape(t.end_to_end_id),
            int_to_decimal_str(t.amount_cents),
            escape(t.mandate_reference),
            t.mandate_signed_on.isoformat(),
            f"<BICFI>{escape(t.debtor_bic)}</BICFI>" if t.debtor_bic else _NO_BIC,
            escape(t.debtor_name),
            escape(t.debtor_iban),
            escape(t.remittance),
        )
        for t in transactions
    )
    body.append(_FOOTER)
    return Message("".join(body).encode(), message_id, payment_info_id)


_STREAM = StreamingSchema(
    XSD,
    f"{{{NAMESPACE}}}DrctDbtTxInf",
    "Die Lastschriftdatei entspricht nicht dem Schema pain.008.001.08",
)


def validate(xml: bytes) -> None:
    """Refuse a message the XSD does not accept (as sepaxml's export(validate=True) does),
    checked while it is parsed, in flat memory (core.payments.xsd_stream)."""
    _STREAM.validate(xml)
