"""Render a Jinja2 template from ``templates/documents/`` to PDF bytes with WeasyPrint.

Own :class:`jinja2.Environment` (autoescape on, undefined variables are errors) with filters:

* ``euro``: cents → ``1.234,56 €`` (core.kernel.money.format_euro)
* ``date_de``: date → ``dd.mm.yyyy``
* ``iban``: IBAN in groups of four (``DE89 3704 0044 …``)
* ``rf``: RF reference in groups of four (core.kernel.references.format_rf)
* ``kassenzeichen``: ``PPP SSSSSSSS CC`` (core.kernel.references.format_kassenzeichen)

Relative URLs in the HTML (e.g. the stylesheet ``templates/documents/notice.css``) resolve
against the repository root. WeasyPrint needs Pango and, for fast font subsetting, HarfBuzz's
subset library (Debian: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen, format_rf

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates" / "documents"


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


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """Render ``templates/documents/<template>`` with ``context`` to a PDF (bytes)."""
    from weasyprint import HTML  # imported late: loading Pango costs ~0.3 s

    html = render_html(template, context)
    pdf = HTML(string=html, base_url=str(ROOT)).write_pdf()
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf() without target returns bytes
        raise TypeError("WeasyPrint returned no PDF")
    return pdf
