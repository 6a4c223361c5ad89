"""The Hebesatz simulator over a municipality's tax objects (issue #14 "Statute simulator"): the
objects are the basis notices in force (imported through the real import), the taxes the
levies' own computation — the same figures as adding up the per-object rule object by object —
separate B rates only where the statute or the Land allows them, trade tax at least 200 %, only
the own municipality's objects, and nothing booked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound, ValidationError
from core.ledger.models import Claim, JournalEntry
from core.levies.basis_notices import imports, queries
from core.levies.basis_notices.in_force import in_force, municipal_cents
from core.levies.basis_notices.models import NoticeKind, TaxKind, TaxObject
from core.levies.property_tax import rules as property_tax
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL
from core.levies.realtax_simulator import (
    Scenario,
    property_kind,
    simulate_municipality,
)
from core.levies.trade_tax import rules as trade_tax
from tests.basis_notice_files import business, delivery
from tests.realtax_simulator_data import enact_hebesaetze, import_objects


def _town(db: Session, make: Any, slug: str, state: str = "NW") -> Any:
    m = make.municipality(slug=slug, state=state)
    enact_hebesaetze(db, m)
    owner, other = make.person(m), make.person(m)
    import_objects(db, m, owner, other)
    return type("Town", (), {"m": m, "owner": owner, "other": other})


def test_musterstadt_residential_rate_up_from_2026(db: Session, make: Any) -> None:
    town = _town(db, make, "musterstadt")
    entries = db.scalar(select(func.count(JournalEntry.id)))
    claims = db.scalar(select(func.count(Claim.id)))
    result = simulate_municipality(
        db, town.m, Scenario("property_tax", {RESIDENTIAL: 65000}, 2026, 2)
    )
    s = result.simulation
    # 2026: 60 € at 595 % + 100 € at 1,080 % + 10 € (A) at 290 %; the cancelled plot is gone
    assert s.objects == 3
    assert [(y.year, y.current_cents, y.simulated_cents) for y in s.years] == [
        (2026, 35700 + 108000 + 2900, 39000 + 108000 + 2900),
        (2027, 35700 + 108000 + 2900, 39000 + 108000 + 2900),
    ]
    assert [(i.change.key, i.change.change_cents, i.person_number) for i in result.increases] == [
        ("3150/1/1", 3300, town.owner.number)
    ]
    counts = {b.label: b.count for b in s.buckets}
    assert counts["unverändert"] == 2 and counts["mehr bis 50,00 €"] == 1
    assert ("Grundsteuer B (Wohngrundstück)", "595 %") in result.statute
    assert ("Grundsteuer B (Wohngrundstück)", "650 %") in result.assumed
    assert db.scalar(select(func.count(JournalEntry.id))) == entries
    assert db.scalar(select(func.count(Claim.id))) == claims


def test_the_same_figures_as_the_per_object_rule(db: Session, make: Any) -> None:
    town = _town(db, make, "musterstadt")
    for year in (2025, 2026):
        rules = property_tax.rules_for_year(db, town.m.id, year)
        by_hand = 0
        for obj in db.scalars(
            select(TaxObject).where(
                TaxObject.municipality_id == town.m.id, TaxObject.tax == TaxKind.PROPERTY_TAX
            )
        ):
            notice = queries.notice_in_force(db, obj.id, year)
            if notice is None:
                continue
            cents = municipal_cents(
                notice.messbetrag_cents or 0,
                notice.share_numerator,
                notice.share_denominator,
                notice.share_cents,
            )
            assert cents == int(queries.share_of(notice).share_cents)
            kind = property_kind(obj.property_class, obj.land_use)
            by_hand += property_tax.annual_tax(cents, kind, rules)
        s = simulate_municipality(db, town.m, Scenario("property_tax", {"A": 29000}, year, 1))
        assert s.simulation.years[0].current_cents == by_hand
        assert s.simulation.objects == (4 if year == 2025 else 3)


def test_separate_rates_only_where_the_land_allows_them(db: Session, make: Any) -> None:
    village = _town(db, make, "beispielhausen", state="BY")
    split = {RESIDENTIAL: 40000, NON_RESIDENTIAL: 60000}
    with pytest.raises(ValidationError, match="Landesrecht in Bayern nicht zu"):
        simulate_municipality(db, village.m, Scenario("property_tax", split, 2026, 1))
    one = {RESIDENTIAL: 40000, NON_RESIDENTIAL: 40000}
    s = simulate_municipality(db, village.m, Scenario("property_tax", one, 2026, 1)).simulation
    assert s.years[0].current_cents == 6000 * 350 // 100 + 10000 * 350 // 100 + 1000 * 340 // 100
    assert s.years[0].simulated_cents == 6000 * 4 + 10000 * 4 + 1000 * 340 // 100
    # an NRW town whose statute has one B rate may simulate the split NRW law allows
    nrw = make.municipality(state="NW")
    enact_hebesaetze(db, nrw)
    import_objects(db, nrw, make.person(nrw), make.person(nrw))
    s = simulate_municipality(db, nrw, Scenario("property_tax", split, 2026, 1)).simulation
    assert s.years[0].simulated_cents == 6000 * 4 + 10000 * 6 + 1000 * 340 // 100


def test_trade_tax_with_its_share_and_the_minimum_rate(db: Session, make: Any) -> None:
    town = _town(db, make, "musterstadt")
    with pytest.raises(ValidationError, match="mindestens 200 %"):
        simulate_municipality(db, town.m, Scenario("trade_tax", {"hebesatz": 19950}, 2026, 1))
    result = simulate_municipality(db, town.m, Scenario("trade_tax", {"hebesatz": 50000}, 2026, 3))
    s = result.simulation
    rules = trade_tax.rules_for_year(db, town.m.id, 2026)
    assert s.objects == 1
    assert s.years[0].current_cents == trade_tax.trade_tax(49700, rules) == 236075
    assert s.years[0].simulated_cents == 248500
    assert [i.change.key for i in result.increases] == ["3150/001/00042"]
    assert result.statute == (("Gewerbebetrieb", "475 %"),)


def test_only_the_own_municipality_and_years_with_a_statute(db: Session, make: Any) -> None:
    town = _town(db, make, "musterstadt")
    elsewhere = make.municipality(state="NW")
    enact_hebesaetze(db, elsewhere)
    import_objects(db, elsewhere, make.person(elsewhere), make.person(elsewhere))
    assert len(in_force(db, town.m.id, TaxKind.PROPERTY_TAX, 2026, advance_fallback=False)) == 3
    lonely = make.municipality(state="NW")
    enact_hebesaetze(db, lonely)
    s = simulate_municipality(db, lonely, Scenario("property_tax", {"A": 30000}, 2026, 1))
    assert s.simulation.objects == 0 and s.increases == ()
    with pytest.raises(NotFound, match="keine Satzung"):
        simulate_municipality(db, town.m, Scenario("property_tax", {"A": 30000}, 2019, 1))
    with pytest.raises(ValidationError, match="1 bis 10 Jahre"):
        simulate_municipality(db, town.m, Scenario("property_tax", {"A": 30000}, 2026, 11))


def test_trade_tax_basis_for_a_year_without_its_assessment(db: Session, make: Any) -> None:
    """A trade-tax Messbescheid is for one year: a later year counts with the advance-payment
    basis in force, else with the last assessment (§ 19 (2), (3) GewStG); a cancellation ends
    both; another tax's or municipality's notices never count."""

    m = make.municipality(state="NW")
    enact_hebesaetze(db, m)
    owner = make.person(m)
    records = [
        business(m, "1/1/1", person_number=owner.number, messbetrag_cents=10000),
        business(m, "1/1/2", person_number=owner.number, messbetrag_cents=20000),
        business(
            m,
            "1/1/2",
            person_number=owner.number,
            kind=NoticeKind.ADVANCE_PAYMENT,
            year_from=2026,
            messbetrag_cents=30000,
            notice_date="2026-05-05",
        ),
        business(m, "1/1/3", person_number=owner.number, messbetrag_cents=40000),
        business(
            m,
            "1/1/3",
            person_number=owner.number,
            kind=NoticeKind.CANCELLATION,
            year_from=2026,
            messbetrag_cents=None,
            notice_date="2026-02-01",
        ),
    ]
    imports.import_file(db, m, delivery(*records), filename="g.xml", actor="test")
    found = in_force(db, m.id, TaxKind.TRADE_TAX, 2026, advance_fallback=True)
    assert [(o[0], o[4]) for o in found] == [("1/1/1", 10000), ("1/1/2", 30000)]
    assert [
        (o[0], o[4]) for o in in_force(db, m.id, TaxKind.TRADE_TAX, 2025, advance_fallback=True)
    ] == [
        ("1/1/1", 10000),
        ("1/1/2", 20000),
        ("1/1/3", 40000),
    ]
    assert in_force(db, m.id, TaxKind.PROPERTY_TAX, 2026, advance_fallback=False) == []
