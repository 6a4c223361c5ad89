"""Render a Jinja2 template from ``templates/documents/`` to PDF bytes with WeasyPrint.

Own :class:`jinja2.Environment` (autoescape on, undefined variables are errors) with filters:

* ``euro``: cents → ``1.234,56 €`` (core.kernel.money.format_euro)
* ``date_de``: date → ``dd.mm.yyyy``
* ``iban``: IBAN in groups of four (``DE89 3704 0044 …``)
* ``rf``: RF reference in groups of four (core.kernel.references.format_rf)
* ``kassenzeichen``: ``PPP SSSSSSSS CC`` (core.kernel.references.format_kassenzeichen)

Relative URLs in the HTML (e.g. the stylesheet ``templates/documents/notice.css``) resolve
against the repository root. A :class:`Renderer` (one per thread or worker process) keeps what
repeats between documents: the fonts (one ``FontConfiguration``), the house stylesheet parsed once
(passed as a ready ``CSS`` object instead of the ``<link>`` when the page has no ``<style>`` of
its own, so the cascade is the same) and images fetched by URL (logos, letterhead).
An *archival* document (the notices, the dunning letters, the payment receipts, the SEPA
mandate confirmations, the letters of objection decisions) is written as PDF/A-3b, tagged (a
structure tree for screen readers), with its data embedded as associated files where it has
any (:class:`EmbeddedFile`; the catalog's ``/AF`` names each once).
WeasyPrint needs Pango and, for fast font subsetting, HarfBuzz's subset library (Debian:
libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core).
"""

from __future__ import annotations

import atexit
import base64
import gc
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen, format_rf

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates" / "documents"
STYLESHEET = TEMPLATE_DIR / "notice.css"
STYLESHEET_LINK = '<link rel="stylesheet" href="templates/documents/notice.css">'
# Images are kept by URL; the QR codes are data: URLs unique to one notice, so the cache is
# emptied when it grows past this (a logo is then fetched again once).
IMAGE_CACHE_LIMIT = 64
ARCHIVAL_VARIANT = "pdf/a-3b"  # PDF/A-3, conformance B: embedded files are allowed


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside an archival PDF as an associated file (PDF/A-3, ISO 19005-3 6.8)."""

    name: str  # file name shown by PDF readers, e.g. "openkasse-bescheid.xml"
    content: bytes
    mime_type: str  # the embedded stream's /Subtype, e.g. "application/xml"
    relationship: str  # /AFRelationship: Data, Alternative, Source or Supplement
    description: str
    modified: datetime  # its dates (fixed by the caller: the same document, the same bytes)

    def attachment(self) -> Any:
        """As WeasyPrint's Attachment; a data: URL carries the MIME type (guessing from the
        file name would say text/xml)."""
        from weasyprint import Attachment

        encoded = base64.b64encode(self.content).decode("ascii")
        return Attachment(
            url=f"data:{self.mime_type};base64,{encoded}",
            name=self.name,
            description=self.description,
            created=self.modified,
            modified=self.modified,
            relationship=self.relationship,
        )


def _associated_once(_document: Any, pdf: Any) -> None:
    """WeasyPrint 70 lists an embedded file in the catalog's /AF twice (from the name tree and
    from the file specification): keep each reference once."""
    references = pdf.catalog.get("AF")
    if references is not None:
        unique = list(dict.fromkeys(references))
        references.clear()
        references.extend(unique)


def date_de(value: date) -> str:
    """German date notation ``dd.mm.yyyy``."""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def group4(value: str) -> str:
    """Groups of four characters (IBAN, RF reference) as printed on paper."""
    compact = value.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["euro"] = format_euro
    env.filters["date_de"] = date_de
    env.filters["iban"] = group4
    env.filters["rf"] = format_rf
    env.filters["kassenzeichen"] = format_kassenzeichen
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    """The HTML a document template produces (useful for checks without a PDF)."""
    return environment().get_template(template).render(context)


class Renderer:
    """WeasyPrint with the fonts, the parsed house stylesheet and fetched images kept."""

    def __init__(self) -> None:
        from weasyprint import CSS  # imported late: loading Pango costs ~0.3 s
        from weasyprint.text.fonts import FontConfiguration

        self.font_config = FontConfiguration()
        self.stylesheet = CSS(
            filename=str(STYLESHEET), base_url=str(ROOT), font_config=self.font_config
        )
        self.images: dict[str, Any] = {}

    def pdf(
        self, html: str, *, archival: bool = False, files: Sequence[EmbeddedFile] = ()
    ) -> bytes:
        """The PDF of ``html`` (byte for byte what a fresh WeasyPrint makes of it with the same
        options: :func:`archival_options`)."""
        from weasyprint import HTML

        stylesheets = []
        if STYLESHEET_LINK in html and "<style" not in html:
            html = html.replace(STYLESHEET_LINK, "", 1)
            stylesheets.append(self.stylesheet)
        pdf = HTML(string=html, base_url=str(ROOT)).write_pdf(
            stylesheets=stylesheets,
            font_config=self.font_config,
            cache=self.images,
            **(archival_options(files) if archival else {}),
        )
        if len(self.images) > IMAGE_CACHE_LIMIT:
            self.images.clear()
        if not isinstance(
            pdf, bytes
        ):  # pragma: no cover - write_pdf() without target returns bytes
            raise TypeError("WeasyPrint returned no PDF")
        return pdf


def archival_options(files: Sequence[EmbeddedFile] = ()) -> dict[str, Any]:
    """WeasyPrint's options for an archival PDF: PDF/A-3b (sRGB output intent, XMP
    identification, document ID), tagged, ``files`` embedded as associated files."""
    return {
        "pdf_variant": ARCHIVAL_VARIANT,
        "pdf_tags": True,
        "attachments": [f.attachment() for f in files] or None,
        "finisher": _associated_once,
    }


_local = threading.local()  # WeasyPrint's font configuration is not shared between threads


def renderer() -> Renderer:
    """This thread's renderer, made on first use."""
    current: Renderer | None = getattr(_local, "renderer", None)
    if current is None:
        current = _local.renderer = Renderer()
        if threading.current_thread() is threading.main_thread():
            atexit.register(_release)
    return current


def _release() -> None:
    """Free the main thread's renderer before the interpreter shuts down: left to the final
    clean-up, Fontconfig may be gone before Pango's font map that uses it (a segfault)."""
    _local.__dict__.pop("renderer", None)
    gc.collect()


def render_pdf(
    template: str,
    context: dict[str, Any],
    *,
    archival: bool = False,
    files: Sequence[EmbeddedFile] = (),
) -> bytes:
    """Render ``templates/documents/<template>`` with ``context`` to a PDF (bytes); ``archival``:
    as PDF/A-3b, tagged, with ``files`` embedded."""
    if files and not archival:
        raise ValueError("embedded files only in an archival PDF")
    return renderer().pdf(render_html(template, context), archival=archival, files=files)
