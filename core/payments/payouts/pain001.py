"""The pain.001.001.09 credit-transfer message of a payout run (validated against the XSD
sepaxml ships), texts in the SEPA basic character set.

Two builders of the same message, as for the direct debits' pain.008 (core.payments.sepa.
pain008): :func:`pain001_sepaxml` through sepaxml's SepaTransfer, one payment dict at a time
(the reference of tests/integration/test_payouts_bulk.py), and :func:`pain001`, which writes
the same elements with the same values as one string and has libxml2 (lxml) parse and validate
it against the same XSD: sepaxml's element tree, its serializer and its pure-Python validator
(xmlschema) took longer than booking the payouts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import sepaxml
from lxml import etree
from sepaxml import SepaTransfer
from sepaxml.utils import int_to_decimal_str, make_id, make_msg_id

from core.payments.payouts.models import PayoutRun
from core.payments.sepa.pain008 import escape, sepa_text
from core.payments.xsd_stream import StreamingSchema
from core.tenancy.municipalities import Municipality

PAIN_001 = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_001}"
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_001}.xsd"


class Transfer(NamedTuple):
    """One booked payout as the file lists it."""

    account_holder: str
    iban: str
    bic: str | None
    amount_cents: int
    end_to_end_id: str
    person_number: str  # the Personenkonto named in the remittance text


def remittance(municipality: Municipality, run: PayoutRun, person_number: str) -> str:
    return sepa_text(
        f"Auszahlung Guthaben Personenkonto {person_number} {municipality.cash_office_name} "
        f"Lauf {run.id}",
        140,
    )


_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CstmrCdtTrfInitn><GrpHdr>'
    "<MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>"
    "<CtrlSum>{total}</CtrlSum><InitgPty><Nm>{name}</Nm></InitgPty></GrpHdr><PmtInf>"
    "<PmtInfId>{pmt_inf_id}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>true</BtchBookg>"
    "<NbOfTxs>{count}</NbOfTxs><CtrlSum>{total}</CtrlSum><PmtTpInf><SvcLvl><Cd>SEPA</Cd>"
    "</SvcLvl></PmtTpInf><ReqdExctnDt><Dt>{day}</Dt></ReqdExctnDt><Dbtr><Nm>{name}</Nm></Dbtr>"
    "<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId>{bic}</FinInstnId>"
    "</DbtrAgt><ChrgBr>SLEV</ChrgBr>"
)
_FOOTER = "</PmtInf></CstmrCdtTrfInitn></Document>"
_TX = (
    "<CdtTrfTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId>"
    '<Amt><InstdAmt Ccy="EUR">{}</InstdAmt></Amt>{}<Cdtr><Nm>{}</Nm></Cdtr>'
    "<CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct><RmtInf><Ustrd>{}</Ustrd></RmtInf>"
    "</CdtTrfTxInf>"
).format


def _bic(bic: str | None) -> str:
    return f"<BICFI>{escape(bic)}</BICFI>" if bic else ""


def pain001(
    municipality: Municipality, run: PayoutRun, transfers: Sequence[Transfer]
) -> tuple[bytes, str]:
    """The run's booked payouts as one message, the same as :func:`pain001_sepaxml` makes
    (elements, order, values; the ids are random as sepaxml makes them), validated against the
    XSD once; returns the XML and its GrpHdr/MsgId."""
    name = sepa_text(municipality.cash_office_name, 70)
    message_id = make_msg_id()
    total = int_to_decimal_str(sum(t.amount_cents for t in transfers))
    body = [
        _HEADER.format(
            ns=NAMESPACE,
            msg_id=escape(message_id),
            created=datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),  # local time, as sepaxml
            count=len(transfers),
            total=total,
            name=escape(name),
            pmt_inf_id=escape(make_id(name)),
            day=run.execution_date.isoformat(),
            iban=escape(municipality.iban),
            bic=f"<BICFI>{escape(municipality.bic)}</BICFI>",
        )
    ]
    body.extend(
        _TX(
            escape(t.end_to_end_id),
            int_to_decimal_str(t.amount_cents),
            f"<CdtrAgt><FinInstnId>{_bic(t.bic)}</FinInstnId></CdtrAgt>" if t.bic else "",
            escape(sepa_text(t.account_holder, 70)),
            escape(t.iban),
            escape(remittance(municipality, run, t.person_number)),
        )
        for t in transfers
    )
    body.append(_FOOTER)
    xml = "".join(body).encode()
    _check(xml)
    return xml, message_id


def pain001_sepaxml(
    municipality: Municipality, run: PayoutRun, transfers: Sequence[Transfer]
) -> tuple[bytes, str]:
    """The same message through sepaxml's SepaTransfer (validated by sepaxml)."""
    sepa = SepaTransfer(
        {
            "name": sepa_text(municipality.cash_office_name, 70),
            "IBAN": municipality.iban,
            "BIC": municipality.bic,
            "batch": True,
            "currency": "EUR",
        },
        schema=PAIN_001,
        clean=False,
    )
    for t in transfers:
        payment = {
            "name": sepa_text(t.account_holder, 70),
            "IBAN": t.iban,
            "amount": t.amount_cents,
            "execution_date": run.execution_date,
            "description": remittance(municipality, run, t.person_number),
            "endtoend_id": t.end_to_end_id,
        }
        if t.bic:
            payment["BIC"] = t.bic
        sepa.add_payment(payment)
    xml: bytes = sepa.export(validate=True)
    root = etree.fromstring(xml)
    message_id = root.findtext(
        f"{{{NAMESPACE}}}CstmrCdtTrfInitn/{{{NAMESPACE}}}GrpHdr/{{{NAMESPACE}}}MsgId"
    )
    return xml, message_id or ""


_STREAM = StreamingSchema(
    XSD,
    f"{{{NAMESPACE}}}CdtTrfTxInf",
    "Die Auszahlungsdatei entspricht nicht dem Schema pain.001.001.09",
)


def _check(xml: bytes) -> None:
    """Refuse a message the XSD does not accept, checked while it is parsed, in flat memory
    (core.payments.xsd_stream, as core.payments.sepa.pain008)."""
    _STREAM.validate(xml)


def validate(xml: bytes) -> None:
    """Check ``xml`` against the pain.001.001.09 XSD (lxml); raises on the first error."""
    _STREAM.schema().assertValid(etree.fromstring(xml))
