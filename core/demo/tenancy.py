"""The two demo municipalities and the statutes and review criteria each has in force.

Musterstadt is a town in North Rhine-Westphalia, Beispielhausen a Bavarian municipality; their
creditor identifiers, bank accounts and addresses are examples (the creditor id is checked).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.demo.realtax import property_tax_statutes, trade_tax_statutes
from core.demo.statutes import (
    dog_tax_statute,
    dunning_statute,
    enforcement_statute,
    instalment_statute,
    refund_statute,
    sepa_statute,
    waste_statute,
    water_statute,
)
from core.dunning import instalments
from core.kernel.references import is_valid_creditor_id
from core.levies.dog_tax.services import DEFAULT_CRITERIA
from core.levies.waste import services as waste_services
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute
from core.workflow.criteria import ensure_criteria

MUNICIPALITIES = [
    dict(
        slug="musterstadt",
        name="Stadt Musterstadt",
        official_key="05999001",
        state="NW",
        creditor_id="DE98ZZZ09999999999",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        bank_name="Commerzbank",
        cash_office_name="Stadtkasse Musterstadt",
        street="Rathausplatz 1",
        postal_code="59999",
        city="Musterstadt",
        email="stadtkasse@musterstadt.example",
        phone="+49 2999 1234-0",
        kassenzeichen_prefix="100",
        primary_color="#0b4f8a",
    ),
    dict(
        slug="beispielhausen",
        name="Gemeinde Beispielhausen",
        official_key="09999002",
        state="BY",
        creditor_id="DE79ZZZ01234567890",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        bank_name="Deutsche Kreditbank",
        cash_office_name="Gemeindekasse Beispielhausen",
        street="Am Dorfplatz 3",
        postal_code="89999",
        city="Beispielhausen",
        email="kasse@beispielhausen.example",
        phone="+49 8999 567-0",
        kassenzeichen_prefix="200",
        primary_color="#6a1b4d",
    ),
]


def create_municipality(session: Session, spec: dict[str, str]) -> Municipality:
    if not is_valid_creditor_id(spec["creditor_id"]):
        raise ValueError(f"invalid demo creditor id {spec['creditor_id']}")
    municipality = Municipality(**spec)
    session.add(municipality)
    session.flush()
    return municipality


def enact_statutes(session: Session, municipality: Municipality) -> None:
    """Every levy's statute in force since 2020 and the online services' review criteria."""
    dog_tax = dog_tax_statute(municipality)
    _enact(session, municipality, "dog_tax", dog_tax, _citation(dog_tax))
    ensure_criteria(session, municipality.id, DEFAULT_CRITERIA)
    waste = waste_statute(municipality)
    _enact(session, municipality, "waste_fee", waste, _citation(waste))
    ensure_criteria(session, municipality.id, waste_services.DEFAULT_CRITERIA)
    sepa = sepa_statute(municipality)
    _enact(session, municipality, "sepa", sepa, sepa["legal_basis"])
    refunds = refund_statute(municipality)
    _enact(session, municipality, "refunds", refunds, refunds["legal_basis"])
    water = water_statute(municipality)
    _enact(session, municipality, "water_fee", water, _citation(water))
    dunning = dunning_statute(municipality)
    _enact(session, municipality, "dunning", dunning, dunning["legal_basis"])
    enforcement = enforcement_statute(municipality)
    _enact(session, municipality, "enforcement", enforcement, enforcement["legal_basis"])
    plans = instalment_statute(municipality)
    _enact(session, municipality, "instalments", plans, _citation(plans))
    ensure_criteria(session, municipality.id, instalments.INSTALMENTS.criteria)
    for levy, statutes in (
        ("property_tax", property_tax_statutes(municipality)),
        ("trade_tax", trade_tax_statutes(municipality)),
    ):
        for valid_from, data in statutes:
            _enact(session, municipality, levy, data, _citation(data), valid_from)


def _citation(data: dict[str, Any]) -> str:
    """The statute itself, without the laws it rests on."""
    legal_basis: str = data["legal_basis"]
    return legal_basis.split(" in Verbindung")[0]


def _enact(
    session: Session,
    municipality: Municipality,
    levy: str,
    data: dict[str, Any],
    source: str,
    valid_from: date = date(2020, 1, 1),
) -> None:
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy=levy,
            valid_from=valid_from,
            source=source,
            data=data,
        )
    )
