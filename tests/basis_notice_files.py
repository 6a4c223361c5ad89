"""Building deliveries of basis notices for tests: records with sensible defaults, as XML."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.levies.basis_notices.models import (
    LandUse,
    NoticeDocument,
    NoticeKind,
    PropertyClass,
    TaxKind,
)
from core.levies.basis_notices.reader import NoticeRecord
from core.levies.basis_notices.xml_writer import write_xml
from core.tenancy.municipalities import Municipality


def plot(m: Municipality, reference: str = "3150/123/4567", **kw: Any) -> NoticeRecord:
    """A Grundsteuermessbescheid (new, from 2025, Messbetrag 60.00 €)."""
    base = NoticeRecord(
        line=0,
        municipality_key=m.official_key,
        tax=TaxKind.PROPERTY_TAX,
        kind=NoticeKind.NEW,
        document=NoticeDocument.MEASUREMENT,
        reference=reference,
        year_from=2025,
        year_to=None,
        messbetrag_cents=6000,
        notice_date="2024-11-20",
        property_class=PropertyClass.B,
        land_use=LandUse.RESIDENTIAL,
        street="Lindenweg",
        house_number="7",
        postal_code="12345",
        city=m.city,
    )
    return replace(base, **kw)


def business(m: Municipality, reference: str = "5315/001/00042", **kw: Any) -> NoticeRecord:
    """A Gewerbesteuermessbescheid for 2025 (Messbetrag 1,242.50 €)."""
    base = NoticeRecord(
        line=0,
        municipality_key=m.official_key,
        tax=TaxKind.TRADE_TAX,
        kind=NoticeKind.NEW,
        document=NoticeDocument.MEASUREMENT,
        reference=reference,
        year_from=2025,
        year_to=None,
        messbetrag_cents=124250,
        notice_date="2026-05-04",
    )
    return replace(base, **kw)


def delivery(*records: NoticeRecord) -> bytes:
    return write_xml(records, sender="Finanzamt Teststadt")
