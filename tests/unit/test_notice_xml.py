"""The notice's XML (core.notices.machine_readable) against its published schema, and the
archival renderer (PDF/A-3b, tagged, the XML embedded) read back with pdfminer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from weasyprint import HTML

from core.kernel.pdf import ROOT, Renderer, archival_options, render_html, render_pdf
from core.notices import machine_readable
from core.notices.machine_readable import embedded_xml, euro, notice_xml, validate
from tests.pdfa import only_xml, read_pdfa
from tests.unit.test_notice_pdf import sample_context

NS = {"b": machine_readable.NAMESPACE}


def xml(context: dict[str, Any], **kw: Any) -> bytes:
    return notice_xml(context, kind="bescheid", levy=kw.get("levy", "dog_tax"), year=2026)


def test_euro_text_is_exact() -> None:
    assert [euro(c) for c in (0, 5, 10_800, -1250, -7)] == [
        "0.00",
        "0.05",
        "108.00",
        "-12.50",
        "-0.07",
    ]


def test_the_sample_notice_is_valid_and_carries_its_amounts() -> None:
    context = sample_context()
    root = validate(xml(context))
    amounts = [Decimal(e.text) for e in root.xpath("//b:position/b:betrag", namespaces=NS)]
    assert [int(a * 100) for a in amounts] == [ln["amount_cents"] for ln in context["lines"]]
    rates = root.xpath("b:zahlplan/b:rate/b:faellig-am", namespaces=NS)
    assert [r.text for r in rates] == [i["due_date"].isoformat() for i in context["instalments"]]
    assert (
        root.xpath("string(b:zahlung/b:kassenzeichen)", namespaces=NS)
        == (context["notice"]["kassenzeichen"])
    )


def test_a_levys_own_computation_values_become_features() -> None:
    """A property-tax line (say) with its Messbetrag and Hebesatz needs no code of its own."""
    context = sample_context()
    context["lines"] = [
        {
            "description": "Grundstück Heidestraße 17 (Flur 3, Flurstück 12)",
            "period_start": date(2026, 1, 1),
            "period_end": date(2026, 12, 31),
            "basis": "Messbetrag 45,60 € × Hebesatz 520 %",
            "messbetrag_cents": 4560,
            "hebesatz_percent": 520,
            "amount_cents": 23_712,
        }
    ]
    context["total_cents"] = context["payable_cents"] = 23_712
    root = validate(xml(context, levy="property_tax"))
    features = {
        m.get("name"): (m.text, m.get("einheit"))
        for m in root.xpath("//b:position/b:merkmal", namespaces=NS)
    }
    assert features == {"hebesatz_percent": ("520", None), "messbetrag_cents": ("45.60", "EUR")}
    assert root.xpath("string(b:abgabe)", namespaces=NS) == "property_tax"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("b:zahlung/b:kassenzeichen", "001 00000123 68"),  # printed form, not the data
        ("b:zahlung/b:rf-referenz", "RF74 0010 0000 1236 8"),
        ("b:berechnung/b:festgesetzt", "243"),  # euros need their two decimals
        ("b:glaeubiger/b:bankverbindung/b:iban", "de89370400440532013000"),
    ],
)
def test_the_schema_rejects_what_is_malformed(path: str, value: str) -> None:
    root = etree.fromstring(xml(sample_context()))
    [element] = root.xpath(path, namespaces=NS)
    element.text = value
    with pytest.raises(ValueError, match=r"not accepted|not a valid|pattern"):
        validate(etree.tostring(root))


def test_the_schema_wants_a_computation_line() -> None:
    root = etree.fromstring(xml(sample_context()))
    for position in root.xpath("//b:position", namespaces=NS):
        position.getparent().remove(position)
    with pytest.raises(ValueError, match="position"):
        validate(etree.tostring(root))


def test_unknown_document_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        notice_xml(sample_context(), kind="rechnung", levy="dog_tax", year=2026)


def _file() -> Any:
    return embedded_xml(
        sample_context(), kind="bescheid", levy="dog_tax", year=2026, issued_on=date(2026, 1, 15)
    )


def test_an_archival_pdf_is_pdfa_3b_tagged_with_the_xml_inside() -> None:
    file = _file()
    assert file.modified == datetime(2026, 1, 15)
    pdf = render_pdf("notice.html", sample_context(), archival=True, files=[file])
    found = read_pdfa(pdf)
    assert (found.part, found.conformance, found.tagged) == ("3", "B", True)
    assert [i["S"].name for i in found.output_intents] == ["GTS_PDFA1"]
    assert len(found.af_references) == 1  # WeasyPrint alone lists it twice
    [embedded] = found.files
    assert (embedded.relationship, embedded.mime_type) == ("Data", "application/xml")
    assert only_xml(pdf, machine_readable.FILENAME) == file.content
    validate(file.content)


def test_the_kept_renderer_makes_what_bare_weasyprint_makes_of_an_archival_pdf() -> None:
    """The benchmark's anchor renders with the same options, so the ratio stays fair."""
    html = render_html("notice.html", sample_context())
    file = _file()
    bare = HTML(string=html, base_url=str(ROOT)).write_pdf(**archival_options([file]))
    kept = Renderer()
    assert kept.pdf(html, archival=True, files=[file]) == bare
    assert kept.pdf(html, archival=True, files=[file]) == bare


def test_other_documents_stay_plain_pdfs() -> None:
    found = read_pdfa(render_pdf("notice.html", sample_context()))
    assert (found.part, found.files, found.output_intents) == (None, [], [])
    with pytest.raises(ValueError, match="archival"):
        render_pdf("notice.html", sample_context(), files=[_file()])
