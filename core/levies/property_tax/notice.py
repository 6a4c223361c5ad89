"""What a property-tax notice (Grundsteuerbescheid) prints: the snapshot stored with it, drawn
by ``templates/documents/property_tax_notice.html``.

Step by step: per plot its Aktenzeichen, location and kind, Messbetrag × Hebesatz = tax; the
year's tax; the payments per due date with what was paid and what remains; legal basis and
remedy of the Hebesatz statute. A Grundsteuer notice holds "bis auf Weiteres": it says that the
assessment applies to the following years too until a new notice is issued (the tax is set for
the calendar year, § 27 (1) GrStG; municipalities commonly assess until further notice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from core.kernel.money import format_euro
from core.levies import yearly
from core.levies.cases import Addressee
from core.levies.property_tax.plots import Plot
from core.levies.property_tax.rules import KIND_LABELS, PropertyTaxRules
from core.levies.realtax import format_percent
from core.levies.schedule import Schedule
from core.notices.records import recipient_block

TEMPLATE = "property_tax_notice.html"
LATER_YEARS = (
    "Diese Festsetzung gilt bis auf Weiteres auch für die folgenden Kalenderjahre, bis ein "
    "neuer Bescheid ergeht (etwa weil sich der Messbetrag oder der Hebesatz ändert); die "
    "Beträge sind dann jeweils zu denselben Terminen fällig."
)


def title(year: int, first: bool) -> str:
    if first:
        return f"Bescheid über die Festsetzung der Grundsteuer {year}"
    return f"Änderungsbescheid über die Grundsteuer {year}"


def snapshot(
    person: Addressee,
    as_of: date,
    *,
    year: int,
    plots: Sequence[tuple[Plot, int]],
    rules: PropertyTaxRules,
    first: bool,
    total_cents: int,
    previous_cents: int,
    rows: Schedule,
    payable_cents: int,
) -> dict[str, Any]:
    """The printed snapshot of one person's notice for ``year`` (``plots``: each with its tax)."""
    intro = yearly.intro(
        f"Für das Kalenderjahr {year} wird die Grundsteuer für die unten genannten Grundstücke "
        "wie folgt festgesetzt.",
        f"Die Grundsteuer {year} wird",
        first=first,
        total_cents=total_cents,
        previous_cents=previous_cents,
    )

    def rate(kind: str) -> str:
        return format_percent(rules.rate(kind))

    return {
        "template": TEMPLATE,
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": f"{intro} {LATER_YEARS}",
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "rate_label": "Messbetrag × Hebesatz",
        "lines": [
            {
                "description": f"{KIND_LABELS[plot.kind]}, {plot.location or plot.reference}",
                "reference": plot.reference,
                "object_id": plot.object_id,
                "basis_notice_id": plot.basis_notice_id,
                "period_start": date(year, 1, 1).isoformat(),
                "period_end": date(year, 12, 31).isoformat(),
                "months": 12,
                "messbetrag_cents": plot.messbetrag_cents,
                "hebesatz": rate(plot.kind),
                "basis": f"{format_euro(plot.messbetrag_cents)} × {rate(plot.kind)}",
                "annual_cents": tax,
                "amount_cents": tax,
            }
            for plot, tax in plots
        ],
        "instalments_title": f"Fälligkeiten {year}",
        "instalments": rows.as_data(),
        "overpaid_cents": rows.overpaid_cents,
        "payable_cents": payable_cents,
    }
