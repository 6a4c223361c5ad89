"""Reading a PDF/A-3's markers and associated files back with pdfminer (independent of
WeasyPrint and pydyf, which wrote them): the XMP identification, the output intent, the
catalog's /AF, the EmbeddedFiles name tree and the files' streams, the structure tree."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from lxml import etree
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral

PDFAID = "http://www.aiim.org/pdfa/ns/id/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _name(value: Any) -> str:
    value = resolve1(value)
    return value.name if isinstance(value, PSLiteral) else str(value)


def _text(value: Any) -> str:
    value = resolve1(value)
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class AssociatedFile:
    name: str
    relationship: str
    mime_type: str
    description: str
    content: bytes
    in_name_tree: bool


@dataclass(frozen=True)
class PdfA:
    part: str | None
    conformance: str | None
    output_intents: list[dict[str, Any]]
    files: list[AssociatedFile]
    af_references: list[int]  # object ids in the catalog's /AF, in order
    tagged: bool  # /MarkInfo /Marked true and a /StructTreeRoot
    lang: str | None


def read_pdfa(pdf: bytes) -> PdfA:
    document = PDFDocument(PDFParser(io.BytesIO(pdf)))
    catalog = document.catalog
    part = conformance = None
    if "Metadata" in catalog:
        xmp = etree.fromstring(resolve1(catalog["Metadata"]).get_data())
        for description in xmp.iter(f"{{{RDF}}}Description"):
            part = description.get(f"{{{PDFAID}}}part", part)
            conformance = description.get(f"{{{PDFAID}}}conformance", conformance)
            for child in description:
                if child.tag == f"{{{PDFAID}}}part":
                    part = child.text
                elif child.tag == f"{{{PDFAID}}}conformance":
                    conformance = child.text
    intents = [dict(resolve1(i)) for i in resolve1(catalog.get("OutputIntents", []))]
    names = resolve1(resolve1(catalog.get("Names", {})).get("EmbeddedFiles"))
    in_tree = set()
    if names:
        entries = resolve1(names.get("Names", []))
        in_tree = {ref.objid for ref in entries[1::2]}
    af = list(resolve1(catalog.get("AF", [])))
    files = []
    for ref in af:
        spec = resolve1(ref)
        stream = resolve1(resolve1(spec["EF"])["F"])
        files.append(
            AssociatedFile(
                name=_text(spec.get("UF", spec.get("F"))),
                relationship=_name(spec.get("AFRelationship", "")),
                mime_type=_name(stream.attrs.get("Subtype", "")).replace("#2f", "/"),
                description=_text(spec.get("Desc", b"")),
                content=stream.get_data(),
                in_name_tree=ref.objid in in_tree,
            )
        )
    mark = resolve1(catalog.get("MarkInfo", {})) or {}
    return PdfA(
        part=part,
        conformance=conformance,
        output_intents=intents,
        files=files,
        af_references=[ref.objid for ref in af],
        tagged=bool(resolve1(mark.get("Marked", False))) and "StructTreeRoot" in catalog,
        lang=_text(catalog["Lang"]) if "Lang" in catalog else None,
    )


def only_xml(pdf: bytes, filename: str) -> bytes:
    """The content of the one associated file named ``filename``."""
    matches = [f for f in read_pdfa(pdf).files if f.name == filename]
    assert len(matches) == 1, [f.name for f in read_pdfa(pdf).files]
    return matches[0].content
