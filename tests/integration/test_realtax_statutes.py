"""The Hebesatz statutes are stored like every statute and read per calendar year (the one in
force on 1 January: § 25 (3) GrStG, § 16 (3) GewStG); the demo enacts both towns' Hebesätze."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.demo.tenancy import enact_statutes
from core.kernel.errors import NotFound, ValidationError
from core.levies.property_tax import rules as property_tax
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL
from core.levies.trade_tax import rules as trade_tax
from core.tenancy.statutes import Statute


def test_demo_hebesaetze_per_year(db: Session, make: Any) -> None:
    town = make.municipality(slug="musterstadt")
    village = make.municipality(slug="beispielhausen", state="BY")
    enact_statutes(db, town)
    enact_statutes(db, village)
    db.flush()
    before = property_tax.rules_for_year(db, town.id, 2024)
    assert not before.differentiated and before.rate(RESIDENTIAL) == 52000
    reform = property_tax.rules_for_year(db, town.id, 2025)
    assert reform.differentiated and reform.small_amounts
    assert (reform.rate(RESIDENTIAL), reform.rate(NON_RESIDENTIAL)) == (59500, 108000)
    assert property_tax.rules_for_year(db, town.id, 2031).source.endswith("vom 10.12.2024")
    assert property_tax.annual_tax(6000, RESIDENTIAL, reform) == 35700
    assert property_tax.rules_for_year(db, village.id, 2026).rate(NON_RESIDENTIAL) == 35000
    assert trade_tax.rules_for_year(db, town.id, 2026).interest is not None
    assert trade_tax.rules_for_year(db, village.id, 2026).interest is None
    assert trade_tax.rules_for_year(db, village.id, 2026).hebesatz == 33000
    with pytest.raises(NotFound, match="keine Satzung"):
        trade_tax.rules_for_year(db, town.id, 2019)


def test_a_statute_from_mid_year_governs_the_next_year(db: Session, make: Any) -> None:
    m = make.municipality()
    for valid_from, percent in ((date(2020, 1, 1), 400), (date(2026, 7, 1), 420)):
        db.add(
            Statute(
                municipality_id=m.id,
                levy=trade_tax.LEVY,
                valid_from=valid_from,
                source=f"Hebesatzsatzung {percent}",
                data={"hebesatz_percent": percent},
            )
        )
    db.flush()
    assert trade_tax.rules_for_year(db, m.id, 2026).hebesatz == 40000
    assert trade_tax.rules_for_year(db, m.id, 2027).hebesatz == 42000


def test_stored_statute_below_200_percent_or_c_before_2025_refused(db: Session, make: Any) -> None:
    m = make.municipality()
    db.add_all(
        [
            Statute(
                municipality_id=m.id,
                levy=trade_tax.LEVY,
                valid_from=date(2020, 1, 1),
                source="zu niedrig",
                data={"hebesatz_percent": 150},
            ),
            Statute(
                municipality_id=m.id,
                levy=property_tax.LEVY,
                valid_from=date(2020, 1, 1),
                source="mit C",
                data={"hebesatz_percent": {"A": 300, "B": 400, "C": 900}},
            ),
        ]
    )
    db.flush()
    with pytest.raises(ValidationError, match="mindestens 200 %"):
        trade_tax.rules_for_year(db, m.id, 2026)
    with pytest.raises(ValidationError, match="erst ab 2025"):
        property_tax.rules_for_year(db, m.id, 2024)
    assert property_tax.rules_for_year(db, m.id, 2025).rate("C") == 90000
