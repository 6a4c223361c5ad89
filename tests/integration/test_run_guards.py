"""Annual runs refuse what they cannot do right: a year far from the run's date, and a water
billing before the statute's reading deadline unless a clerk confirms it, after being told how
many meters would be estimated and which readings still wait for a clerk."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.ledger.models import Claim
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.waste import assessment as waste_fee_run
from core.levies.water import assessment as water_run
from core.levies.water import cards as water_cards
from core.levies.water import guard as water_guard
from core.levies.water import models as water
from core.notices.records import Notice
from core.tenancy.statutes import Statute
from tests.integration.test_water_flow import WATER, meter, read

DEADLINE_DAYS = 15  # readings by 15 January


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data={**WATER, "reading_deadline_days": DEADLINE_DAYS},
        )
    )
    db.flush()
    return m


def three_meters(db: Session, make: Any, town: Any) -> list[water.Meter]:
    """One meter read and accepted, one whose reading waits for a clerk, one without."""
    meters = [meter(db, town, make.person(town), f"W-{i}") for i in range(3)]
    for m in meters:
        read(db, m, 2025, 195)
    read(db, meters[0], 2026, 290)
    read(db, meters[1], 2026, 900, confirmed=True)  # implausible: waits for a clerk
    return meters


def billed(db: Session, town: Any) -> int:
    return db.scalar(select(func.count(Notice.id)).where(Notice.municipality_id == town.id)) or 0


def test_billing_before_the_reading_deadline_is_refused_with_what_it_would_do(
    db: Session, make: Any, town: Any
) -> None:
    three_meters(db, make, town)
    for as_of in (date(2026, 12, 1), date(2027, 1, 15)):  # the deadline day itself is early
        with pytest.raises(water_guard.EarlyBilling) as info:
            water_run.bill_all(db, municipality=town, period=2026, as_of=as_of, actor="user:clerk")
        check = info.value.check
        assert check.deadline == date(2027, 1, 15) and check.early
        assert (check.meters, check.estimated) == (3, 2)
        assert [(w.meter_number, w.value) for w in check.waiting] == [("W-1", 900)]
        assert "15.01.2027" in info.value.message and "2 von 3 Zählern" in info.value.message
        assert billed(db, town) == 0
    text = "\n".join(check.lines())
    assert "Zähler W-1: 900 m³" in text and "Geschätzt würden 2 von 3 Zählern" in text


def test_a_confirmed_early_billing_runs_and_after_the_deadline_none_is_needed(
    db: Session, make: Any
) -> None:
    for as_of, confirm in ((date(2026, 12, 1), True), (date(2027, 1, 16), False)):
        town = make.municipality()
        db.add(
            Statute(
                municipality_id=town.id,
                levy="water_fee",
                valid_from=date(2020, 1, 1),
                source="Test",
                data={**WATER, "reading_deadline_days": DEADLINE_DAYS},
            )
        )
        db.flush()
        three_meters(db, make, town)
        stats = water_run.bill_all(
            db, municipality=town, period=2026, as_of=as_of, actor="t", confirm_early=confirm
        )
        assert (stats.meters, stats.notices, stats.estimated) == (3, 3, 2)


def test_without_a_deadline_in_the_statute_no_period_is_billed_before_it_ended(
    db: Session, make: Any
) -> None:
    town = make.municipality()
    db.add(
        Statute(
            municipality_id=town.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Test",
            data=WATER,
        )
    )
    db.flush()
    m = meter(db, town, make.person(town))
    read(db, m, 2025, 195)
    with pytest.raises(water_guard.EarlyBilling):
        water_run.bill_all(db, municipality=town, period=2026, as_of=date(2026, 12, 31), actor="t")
    stats = water_run.bill_all(
        db, municipality=town, period=2026, as_of=date(2027, 1, 1), actor="t"
    )
    assert stats.notices == 1


@pytest.mark.parametrize("year", [1999, 2021, 2028, 2100, -5])
def test_no_annual_run_for_a_year_far_from_its_date(db: Session, make: Any, year: int) -> None:
    town = make.municipality()
    make.dog_tax_statute(town)
    make.waste_statute(town)
    as_of = date(2026, 12, 1)
    for run in (dog_tax_run.assess_all, waste_fee_run.assess_all):
        with pytest.raises(ValidationError) as info:
            run(db, municipality=town, year=year, as_of=as_of, actor="t")
        assert f"Für das Jahr {year} ist kein Lauf möglich" in info.value.message
    with pytest.raises(ValidationError) as info:
        water_run.bill_all(
            db, municipality=town, period=year, as_of=as_of, actor="t", confirm_early=True
        )
    assert f"Für das Jahr {year} ist kein Lauf möglich" in info.value.message
    assert db.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == town.id)) == 0


def test_reading_links_by_email_name_the_statutes_deadline(
    db: Session, make: Any, town: Any
) -> None:
    from datetime import UTC, datetime

    from core.kernel.mail import OutboxMessage

    owner = make.person(town, email="leser@test.example")
    m = meter(db, town, owner)
    assert water_cards.reading_deadline(db, town.id, 2026) == date(2027, 1, 15)
    sent = water_cards.email_reading_links(
        db,
        [m],
        period=2026,
        secret="s" * 32,
        public_base_url="https://portal.example",
        issued_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert sent == 1
    [message] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.municipality_id == town.id)
    ).all()
    assert "bis zum 15.01.2027" in message.body


def test_reading_cards_print_the_statutes_deadline_not_today(
    db: Session, make: Any, town: Any, tmp_path: Any
) -> None:
    import subprocess
    from datetime import UTC, datetime

    m = meter(db, town, make.person(town))
    pdf = water_cards.reading_cards_pdf(
        db,
        [m],
        period=2026,
        secret="s" * 32,
        public_base_url="https://portal.example",
        issued_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
    )
    (tmp_path / "card.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "card.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Bitte melden bis 15.01.2027" in " ".join(text.split())
    assert "01.12.2026" not in text
