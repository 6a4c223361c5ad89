"""The pain.001.001.09 credit-transfer message of a payout run (sepaxml's SepaTransfer,
validated against the XSD sepaxml ships), texts in the SEPA basic character set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sepaxml
from lxml import etree
from sepaxml import SepaTransfer

from core.payments.payouts.models import PayoutItem, PayoutRun
from core.payments.sepa.pain008 import sepa_text
from core.tenancy.municipalities import Municipality

PAIN_001 = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_001}"
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_001}.xsd"


def remittance(municipality: Municipality, run: PayoutRun, person_number: str) -> str:
    return sepa_text(
        f"Auszahlung Guthaben Personenkonto {person_number} {municipality.cash_office_name} "
        f"Lauf {run.id}",
        140,
    )


def pain001(
    municipality: Municipality,
    run: PayoutRun,
    items: Sequence[tuple[PayoutItem, str]],
) -> tuple[bytes, str]:
    """The run's paid items (each with the person's number, Personenkonto) as one message;
    returns the XML (validated against the XSD by sepaxml) and its GrpHdr/MsgId."""
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
    for item, person_number in items:
        payment = {
            "name": sepa_text(item.account_holder or "", 70),
            "IBAN": item.iban,
            "amount": item.paid_cents,
            "execution_date": run.execution_date,
            "description": remittance(municipality, run, person_number),
            "endtoend_id": item.end_to_end_id,
        }
        if item.bic:
            payment["BIC"] = item.bic
        sepa.add_payment(payment)
    xml: bytes = sepa.export(validate=True)
    root = etree.fromstring(xml)
    message_id = (
        root.findtext(f"{{{NAMESPACE}}}CstmrCdtTrfInitn/{{{NAMESPACE}}}GrpHdr/{{{NAMESPACE}}}MsgId")
        or ""
    )
    return xml, message_id


def validate(xml: bytes) -> None:
    """Check ``xml`` against the pain.001.001.09 XSD (lxml); raises on the first error."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    schema.assertValid(etree.fromstring(xml))
