"""Retention periods (Aufbewahrungsfristen) as effective-dated statute data per municipality.

A ``Statute`` row of levy ``retention`` (core/tenancy/statutes.py) may override the defaults
below, per category, in whole years::

    {"periods": {"buchungsbeleg": 10, "schriftverkehr": 6, "versandprotokoll": 2,
                 "benachrichtigung": 1, "foto": 2,
                 "kontoumsatz": 10}}

Without such a row the defaults apply (their sources are in :data:`CATEGORIES`, and in
docs/RETENTION.md). A period starts at the end of the calendar year in which the record was
made (§ 147 (4) AO): a record of 2015 kept 10 years may go on 1 January 2026
(:func:`due_on`). § 147 (3) sentence 5 AO keeps records past their period for as long as they
matter for a tax whose assessment period has not ended; the run expresses that as blocks (an
open claim, an open procedure, an undecided objection, a legal hold — core/retention/blocks.py),
since the Festsetzungsfrist of municipal taxes (4 years, § 169 (2) Nr. 2 AO via the KAG) is
shorter than every period below unless a procedure suspends it (§ 171 AO), and a procedure is
exactly what the blocks look for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import NotFound, ValidationError
from core.tenancy.statutes import statute_on

LEVY = "retention"


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # German, for the preview
    years: int  # the default period
    source: str  # where the default comes from


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "buchungsbeleg",
            "Buchungsbelege (Bescheide, Mahnschreiben, SEPA-Mandate)",
            10,
            "§ 147 Abs. 1, 3 AO: 10 Jahre wie Bücher und Aufzeichnungen (Buchungsbelege seit "
            "1.1.2025 8 Jahre, BEG IV; per Satzung kürzer einstellbar)",
        ),
        Category(
            "schriftverkehr",
            "Schriftverkehr (Widersprüche, Nachweise, Anlagen)",
            6,
            "§ 147 Abs. 1 Nr. 2, 3, Abs. 3 Satz 1 AO (empfangene und abgesandte Handels- und "
            "Geschäftsbriefe: 6 Jahre)",
        ),
        Category(
            "versandprotokoll",
            "Druckaufträge der Postzustellung (Sammel-PDF, Versandliste)",
            2,
            "Keine gesetzliche Frist: Datenminimierung, Art. 5 Abs. 1 lit. c, e DSGVO; Vorgabe "
            "nach Löschkonzept (DIN 66398). Die Bescheide selbst bleiben 10 Jahre.",
        ),
        Category(
            "benachrichtigung",
            "Benachrichtigungs-E-Mails (Postausgang)",
            1,
            "Keine gesetzliche Frist: Datenminimierung, Art. 5 Abs. 1 lit. e DSGVO; der Nachweis "
            "der Bekanntgabe (§ 122a AO) steht im Zustellungsprotokoll, nicht in der E-Mail.",
        ),
        Category(
            "kontoumsatz",
            "Kontoumsätze: Name und IBAN der Gegenseite (Betrag und Verwendungszweck bleiben)",
            10,
            "§ 147 Abs. 1 Nr. 4, Abs. 3 AO: Kontoauszüge sind Buchungsbelege (10 Jahre; seit "
            "1.1.2025 8 Jahre, BEG IV; per Satzung kürzer einstellbar); danach Art. 17 Abs. 1 "
            "lit. a DSGVO. Die Buchung selbst bleibt.",
        ),
        Category(
            "foto",
            "Fotos von Zählerständen",
            2,
            "Keine gesetzliche Frist: Datenminimierung, Art. 5 Abs. 1 lit. c, e DSGVO; der "
            "abgelesene Stand selbst bleibt bei der Abrechnung.",
        ),
    )
}

# Document kinds (core.kernel.archive.Document.kind) → category; an unknown kind is kept as a
# booking record (the longest period: the safe side).
DOCUMENT_KINDS = {
    "notice": "buchungsbeleg",
    "mahnschreiben": "buchungsbeleg",
    "sepa_mandate": "buchungsbeleg",
    "print_batch": "versandprotokoll",
    "objection": "schriftverkehr",
    "proof": "schriftverkehr",
    "meter_photo": "foto",
}
OUTBOX = "benachrichtigung"
BANK_LINE = "kontoumsatz"
PERSON = "buchungsbeleg"  # a person's master data stays while their bookings must be kept

DEFAULT_SOURCE = "Vorgaben von OpenKasse (keine Löschfristen-Satzung hinterlegt)"


def category_of_document(kind: str) -> str:
    return DOCUMENT_KINDS.get(kind, "buchungsbeleg")


@dataclass(frozen=True)
class RetentionRules:
    periods: dict[str, int]  # category → years
    source: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> RetentionRules:
        periods = {key: c.years for key, c in CATEGORIES.items()}
        for key, years in dict(data.get("periods", {})).items():
            if key not in CATEGORIES:
                raise ValidationError(f"Unbekannte Aufbewahrungskategorie: {key}.")
            if not isinstance(years, int) or isinstance(years, bool) or not 0 < years <= 30:
                raise ValidationError(
                    f"Die Aufbewahrungsfrist für {CATEGORIES[key].label} muss eine ganze Zahl "
                    "von Jahren zwischen 1 und 30 sein."
                )
            periods[key] = years
        return cls(periods=periods, source=source)

    def years(self, category: str) -> int:
        return self.periods[category]

    def rule_text(self, category: str) -> str:
        """What the audit trail says of the rule applied (no content)."""
        years = self.periods[category]
        default = CATEGORIES[category]
        basis = default.source if years == default.years else self.source
        return f"{category}: {years} Jahre nach Jahresende ({basis})"[:300]


def rules_on(session: Session, municipality_id: int, day: date) -> RetentionRules:
    """The municipality's periods in force on ``day`` (the defaults without a statute)."""
    try:
        statute = statute_on(session, municipality_id, LEVY, day)
    except NotFound:
        return RetentionRules.from_data({}, DEFAULT_SOURCE)
    return RetentionRules.from_data(statute.data, statute.source)


def due_on(made: date, years: int) -> date:
    """The first day a record made on ``made`` may be deleted: the period runs from the end of
    the calendar year (§ 147 (4) AO), so a record of 2015-03-01 kept 10 years is due on
    2026-01-01."""
    return date(made.year + years + 1, 1, 1)


def is_due(made: date, years: int, as_of: date) -> bool:
    return due_on(made, years) <= as_of
