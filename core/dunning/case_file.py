"""The case file of an enforcement case: a PDF in the documents' letter layout
(templates/documents/enforcement_case.html) and a machine-readable XML file valid against
core/dunning/schemas/enforcement_case.xsd (namespace ``urn:openkasse:enforcement-case:1``).
Both are made from the case's ``file_data``, the file as handed over."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from core.dunning.enforcement_models import EnforcementCase
from core.kernel.errors import ValidationError
from core.tenancy.municipalities import Municipality

NAMESPACE = "urn:openkasse:enforcement-case:1"
XSD = Path(__file__).parent / "schemas" / "enforcement_case.xsd"
TEMPLATE = "enforcement_case.html"
_SCHEMAS = threading.local()  # lxml schemas are not shared between threads


def schema() -> etree.XMLSchema:
    found = getattr(_SCHEMAS, "schema", None)
    if found is None:
        found = _SCHEMAS.schema = etree.XMLSchema(etree.parse(str(XSD)))
    return found


def euro(cents: int) -> str:
    """Cents as an XML decimal in euro, e.g. 123456 → ``1234.56``."""
    return f"{cents // 100}.{cents % 100:02d}"


def _sub(parent: Any, name: str, value: object = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}", attrs)
    if value is not None:
        element.text = str(value)
    return element


def _debtor(root: Any, debtor: dict[str, Any]) -> None:
    node = _sub(root, "Debtor")
    _sub(node, "AccountNumber", debtor["number"])
    _sub(node, "Name", debtor["name"] or "–")
    _sub(node, "Kind", debtor["kind"])
    address = _sub(node, "Address")
    for name, key in (("Street", "street"), ("PostalCode", "postal_code"), ("City", "city")):
        _sub(address, name, debtor[key])
    _sub(address, "Country", debtor["country"])


def case_xml(case: EnforcementCase) -> bytes:
    """The case file as XML, checked against the XSD before it leaves."""
    data = case.file_data
    root = etree.Element(f"{{{NAMESPACE}}}EnforcementCase", version="1", nsmap={None: NAMESPACE})
    _sub(root, "CaseNumber", case.id)
    _sub(root, "HandedOverOn", data["handed_over_on"])
    creditor = _sub(root, "Creditor")
    _sub(creditor, "Name", data["municipality"]["name"])
    _sub(creditor, "Office", data["municipality"]["office"])
    _debtor(root, data["debtor"])
    claims = _sub(root, "Claims")
    for claim in data["claims"]:
        node = _sub(claims, "Claim", id=str(claim["claim_id"]), role=claim["role"])
        _sub(node, "Kassenzeichen", claim["kassenzeichen"])
        _sub(node, "Kind", claim["kind"])
        _sub(node, "KindLabel", claim["kind_label"])
        _sub(node, "Description", claim["description"])
        _sub(node, "DueDate", claim["due_date"])
        _sub(node, "Amount", euro(claim["amount_cents"]))
        _sub(node, "OpenAmount", euro(claim["open_cents"]))
    history = _sub(root, "DunningHistory")
    for letter in data["letters"]:
        node = _sub(history, "Letter")
        _sub(node, "Level", letter["level"])
        _sub(node, "LevelName", letter["level_name"])
        _sub(node, "SentOn", letter["sent_on"])
        _sub(node, "DeliveredOn", letter["delivered_on"])
        _sub(node, "PaymentDeadline", letter["payment_deadline"])
        _sub(node, "Fee", euro(letter["fee_cents"]))
        _sub(node, "Surcharge", euro(letter["surcharge_cents"]))
        for claim_id in letter["claim_ids"]:
            _sub(node, "ClaimRef", claim_id)
    totals = _sub(root, "Totals")
    _sub(totals, "OpenAmount", euro(data["open_cents"]))
    _sub(totals, "Surcharges", euro(data["surcharge_cents"]))
    if not schema().validate(root):
        raise ValidationError(f"Die Fallakte ist ungültig: {schema().error_log.last_error}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def pdf_context(case: EnforcementCase, municipality: Municipality) -> dict[str, Any]:
    """What the PDF template needs: the file data with its dates as dates."""
    data = case.file_data
    claims = [{**c, "due_date": date.fromisoformat(c["due_date"])} for c in data["claims"]]
    kassenzeichen = {c["claim_id"]: c["kassenzeichen"] for c in data["claims"]}
    letters = [
        {
            **lt,
            "sent_on": date.fromisoformat(lt["sent_on"]),
            "payment_deadline": date.fromisoformat(lt["payment_deadline"]),
            "kassenzeichen": sorted(
                {kassenzeichen[i] for i in lt["claim_ids"] if i in kassenzeichen}
            ),
        }
        for lt in data["letters"]
    ]
    return {
        "municipality": municipality,
        "case": case,
        "handed_over_on": date.fromisoformat(data["handed_over_on"]),
        "debtor": data["debtor"],
        "claims": claims,
        "letters": letters,
        "open_cents": data["open_cents"],
        "surcharge_cents": data["surcharge_cents"],
    }


def case_pdf(case: EnforcementCase, municipality: Municipality) -> bytes:
    from core.kernel.pdf import render_pdf

    return render_pdf(TEMPLATE, pdf_context(case, municipality))
