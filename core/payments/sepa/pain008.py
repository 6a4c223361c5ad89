"""The pain.008.001.08 message of a direct-debit run (sepaxml, checked against the XSD it
ships; German banks take it as GBIC_4), with texts in the SEPA basic character set."""

from __future__ import annotations

import re

from sepaxml import SepaDD
from text_unidecode import unidecode

from core.ledger.kinds import KINDS
from core.ledger.models import Claim
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, Mandate
from core.tenancy.municipalities import Municipality

PAIN_008 = "pain.008.001.08"

_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def sepa_text(text: str, max_length: int) -> str:
    """Text in the SEPA basic character set (EPC217-08): German umlauts spelt out the German
    way ("Müller" → "Mueller", which sepaxml's ``clean`` would make "Muller"), other letters
    transliterated (unidecode), anything else replaced by a space."""
    latin = unidecode((text or "").translate(_UMLAUTS))
    cleaned = " ".join(_NOT_SEPA.sub(" ", latin).split())
    return cleaned[:max_length].rstrip()


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
            "description": sepa_text(
                f"Kassenzeichen {claim.kassenzeichen} {KINDS[claim.kind].label} "
                f"{claim.description}",
                140,
            ),
            "endtoend_id": debit.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        sepa.add_payment(payment)
    xml: bytes = sepa.export(validate=True)
    return xml
