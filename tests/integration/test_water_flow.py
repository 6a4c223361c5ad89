"""Water meters end to end in the core: readings with plausibility, one per period, clerk
re-opening, consumption billing with estimates and advance payments."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.ledger.balances import claim_balances, credit_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.ledger.queries import claims_of, open_items
from core.ledger.receipts import record_payment
from core.levies.water import assessment as water_run
from core.levies.water import cards as water_cards
from core.levies.water import links as water_links
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.tenancy.statutes import Statute

WATER = {
    "base_fee_year_cents": {"Q3 4": 6600},
    "price_per_m3_cents": 216,
    "vat_basis_points": 700,
    "plausibility_percent": 50,
    "advance_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
    "legal_basis": "Wassergebührensatzung (Test)",
    "remedy": "Widerspruch …",
}


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data=WATER,
        )
    )
    db.flush()
    return m


def meter(db: Session, town: Any, owner: Any, number: str = "W-0001") -> water.Meter:
    m = water.Meter(
        municipality_id=town.id,
        person_id=owner.id,
        number=number,
        size="Q3 4",
        location="Hauptstraße 1",
        installed_on=date(2020, 1, 1),
        initial_reading=100,
    )
    db.add(m)
    db.flush()
    return m


def read(
    db: Session,
    m: water.Meter,
    period: int,
    value: int,
    *,
    confirmed: bool = False,
    source: water.ReadingSource = water.ReadingSource.PORTAL,
) -> water.MeterReading:
    return water_readings.submit_reading(
        db,
        meter=m,
        period=period,
        value=value,
        read_on=date(period, 12, 20),
        as_of=date(period + 1, 1, 5),
        source=source,
        band_percent=50,
        confirmed=confirmed,
        actor="test",
    )


def test_plausible_reading_is_accepted_at_once(db: Session, make: Any, town: Any) -> None:
    m = meter(db, town, make.person(town))
    read(db, m, 2025, 195)  # 95 m³
    reading = read(db, m, 2026, 290)  # 95 m³ again
    assert reading.status is water.ReadingStatus.ACCEPTED and reading.issues == []


def test_implausible_reading_needs_confirmation_and_then_a_clerk(
    db: Session, make: Any, town: Any
) -> None:
    m = meter(db, town, make.person(town))
    read(db, m, 2025, 195)
    with pytest.raises(water_readings.NeedsConfirmation) as info:
        read(db, m, 2026, 190)  # below the last reading
    assert "kleiner als der letzte" in info.value.messages[0]
    with pytest.raises(water_readings.NeedsConfirmation):
        read(db, m, 2026, 400)  # 205 m³ instead of 95: more than +50 %
    reading = read(db, m, 2026, 400, confirmed=True)
    assert reading.status is water.ReadingStatus.NEEDS_REVIEW
    assert reading in water_readings.review_queue(db, town.id)
    water_readings.accept(db, reading, actor="user:clerk")
    assert reading not in water_readings.review_queue(db, town.id)


def test_a_second_reading_for_the_period_is_refused_until_a_clerk_reopens(
    db: Session, make: Any, town: Any
) -> None:
    m = meter(db, town, make.person(town))
    first = read(db, m, 2026, 150)
    with pytest.raises(water_readings.AlreadySubmitted):
        read(db, m, 2026, 160)
    water_readings.reopen(db, first, actor="user:clerk")
    assert read(db, m, 2026, 160).value == 160
    assert first.status is water.ReadingStatus.SUPERSEDED


def test_reading_links_are_bound_to_meter_and_period(db: Session, make: Any, town: Any) -> None:
    from core.kernel.errors import InvalidToken

    owner = make.person(town)
    a, b = meter(db, town, owner, "W-A"), meter(db, town, owner, "W-B")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    token = water_links.reading_token("s" * 32, a, 2026, issued_at=now)
    assert water_links.meter_from_token(db, "s" * 32, town.id, 2026, token, now=now).id == a.id
    with pytest.raises(InvalidToken):
        water_links.meter_from_token(db, "s" * 32, town.id, 2025, token, now=now)
    assert b.id != a.id


def test_billing_matches_the_domain_example(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    m = meter(db, town, owner)
    read(db, m, 2026, 195)  # 95 m³ from the initial 100
    notice = water_run.bill_meter(
        db, meter=m, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    assert notice is not None and notice.total_cents == 29018  # 271.20 net + 7 % VAT
    bill = db.scalars(
        select(Claim).where(Claim.assessment_key == f"water_fee:2026:{m.id}:bill")
    ).one()
    assert bill.amount_cents == 29018 and bill.due_date == date(2027, 2, 15)
    advances = db.scalars(
        select(Claim).where(Claim.assessment_key.startswith(f"water_fee:2027:{m.id}:advance"))
    ).all()
    assert sum(c.amount_cents for c in advances) == 29018 and len(advances) == 4
    # idempotent: a second run books nothing and issues nothing
    assert (
        water_run.bill_meter(
            db, meter=m, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
        )
        is None
    )


def test_advances_are_credited_against_next_years_bill(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    m = meter(db, town, owner)
    read(db, m, 2026, 195)
    water_run.bill_meter(
        db, meter=m, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    unusual = read(db, m, 2027, 240, confirmed=True)  # 45 m³: cheaper than the advances
    # until a clerk accepts it, it is estimated
    water_readings.accept(db, unusual, actor="user:clerk")
    notice = water_run.bill_meter(
        db, meter=m, municipality=town, period=2027, as_of=date(2028, 1, 15), actor="test"
    )
    expected = 45 * 216 + 6600
    expected += (expected * 700 * 2 + 10_000) // 20_000
    assert notice.total_cents == expected
    year = [
        v
        for v in claims_of(db, owner)
        if v.claim.kind is ClaimKind.WATER_FEE
        and v.claim.assessment_key.startswith("water_fee:2027:")
    ]
    assert sum(v.assessed_cents for v in year) == expected  # advances lowered to the bill


def test_missing_reading_is_estimated_from_earlier_years(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    m = meter(db, town, owner)
    read(db, m, 2024, 190)  # 90
    read(db, m, 2025, 290)  # 100
    notice = water_run.bill_meter(
        db, meter=m, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    assert notice.data["estimated"] is True
    assert "geschätzt" in notice.data["lines"][1]["description"]
    assert "95 m³" in notice.data["lines"][1]["description"]


def test_reading_cards_carry_a_working_qr_link(
    db: Session, make: Any, town: Any, tmp_path: Any
) -> None:
    import subprocess

    import zxingcpp
    from PIL import Image

    owner = make.person(town)
    m = meter(db, town, owner)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    pdf = water_cards.reading_cards_pdf(
        db,
        [m],
        period=2026,
        secret="s" * 32,
        public_base_url="https://portal.example",
        issued_at=now,
        reply_by=date(2027, 1, 31),
    )
    (tmp_path / "card.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(tmp_path / "card.pdf"),
            str(tmp_path / "card"),
        ],
        check=True,
    )
    [code] = zxingcpp.read_barcodes(Image.open(tmp_path / "card.png"))
    assert code.text.startswith(f"https://portal.example/{town.slug}/zaehlerstand/2026/")
    token = code.text.rsplit("/", 1)[1]
    assert water_links.meter_from_token(db, "s" * 32, town.id, 2026, token, now=now).id == m.id


def test_reading_links_by_email_through_a_real_smtp_server(
    db: Session, make: Any, town: Any
) -> None:
    from aiosmtpd.controller import Controller

    from core.kernel.mail import SmtpSettings, send_pending
    from tests.pg import free_port

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            self.messages.append(envelope)
            return "250 OK"

    with_mail = make.person(town, email="leser@test.example")
    without = make.person(town)
    meters = [meter(db, town, with_mail, "W-MAIL"), meter(db, town, without, "W-POST")]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert (
        water_cards.email_reading_links(
            db,
            meters,
            period=2026,
            secret="s" * 32,
            public_base_url="https://portal.example",
            issued_at=now,
        )
        == 1
    )
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, sender="kasse@test.example")
        assert send_pending(db, settings, now=now) == 1
        assert send_pending(db, settings, now=now) == 0  # sent once
    finally:
        controller.stop()
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["leser@test.example"]
    body = envelope.content.decode()
    assert "W-MAIL" in body and f"https://portal.example/{town.slug}/zaehlerstand/2026/" in body


def test_meter_change_bills_both_meters_for_their_months(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    old = meter(db, town, owner, "W-ALT")
    read(db, old, 2025, 195)
    new = water_readings.change_meter(
        db,
        old,
        new_number="W-NEU",
        size="Q3 4",
        final_reading=235,
        start_reading=0,
        changed_on=date(2026, 5, 20),
        as_of=date(2026, 5, 21),
        actor="user:clerk",
    )
    assert old.removed_on == date(2026, 5, 20) and new.replaces_meter_id == old.id
    read(db, new, 2026, 55)  # 55 m³ on the new meter from 20 May
    old_bill = water_run.bill_meter(
        db, meter=old, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    new_bill = water_run.bill_meter(
        db, meter=new, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    # old: January–May, 40 m³; new: June–December, 55 m³ — 95 m³ and 12 months of base fee
    assert old_bill.data["lines"][0]["months"] + new_bill.data["lines"][0]["months"] == 12
    assert "40 m³" in old_bill.data["lines"][1]["description"]
    assert "55 m³" in new_bill.data["lines"][1]["description"]
    no_advances = db.scalars(
        select(Claim).where(Claim.assessment_key.startswith(f"water_fee:2027:{old.id}:advance"))
    ).all()
    assert no_advances == []  # a removed meter gets no advance payments
    with pytest.raises(ValidationError):
        water_readings.change_meter(
            db,
            old,
            new_number="X",
            size="Q3 4",
            final_reading=1,
            start_reading=0,
            changed_on=date(2026, 6, 1),
            as_of=date(2026, 6, 2),
            actor="user:clerk",
        )


def test_a_chunked_run_bills_like_one_meter_at_a_time(db: Session, make: Any) -> None:
    """Two towns with the same meters and readings: one billed by ``bill_all`` in chunks (read
    per chunk), the other meter by meter. Notices, claims and credit come out the same, over a
    first year (tax accounts opened, one owner with two meters in one chunk) and the next (one
    meter estimated, one whose paid advances exceed its bill)."""
    from core.ledger.models import PaymentChannel
    from core.notices.records import Notice
    from core.persons.models import Person

    def town_with_meters() -> tuple[Any, list[water.Meter]]:
        town = make.municipality()
        db.add(
            Statute(
                municipality_id=town.id,
                levy="water_fee",
                valid_from=date(2020, 1, 1),
                source="Wassergebührensatzung (Test)",
                data=WATER,
            )
        )
        two, estimated, frugal = (make.person(town, family_name=n) for n in ("Z", "S", "G"))
        meters = [
            meter(db, town, two, "W-1"),
            meter(db, town, two, "W-2"),
            meter(db, town, estimated, "W-3"),
            meter(db, town, frugal, "W-4"),
        ]
        for m, values in zip(meters, ((190, 285), (150, 220), (190, 290), (195, 290)), strict=True):
            for period, value in zip((2024, 2025), values, strict=True):
                read(db, m, period, value)
        return town, meters

    chunked, one_by_one = town_with_meters(), town_with_meters()

    def bill(town: Any, meters: list[water.Meter], period: int, *, chunks: bool) -> int:
        as_of = date(period + 1, 1, 15)
        if chunks:
            stats = water_run.bill_all(
                db, municipality=town, period=period, as_of=as_of, actor="test", chunk_size=3
            )
            assert stats.meters == len(meters)
            return stats.notices
        return sum(
            water_run.bill_meter(
                db, meter=m, municipality=town, period=period, as_of=as_of, actor="test"
            )
            is not None
            for m in meters
        )

    for town, meters in (chunked, one_by_one):
        assert bill(town, meters, 2025, chunks=town is chunked[0]) == 4
        frugal = db.get_one(Person, meters[3].person_id)
        record_payment(  # pays the 2025 bill and the advances for 2026 in full
            db,
            person=frugal,
            amount_cents=sum(item.open_cents for item in open_items(db, frugal)),
            received_on=date(2026, 2, 10),
            channel=PaymentChannel.BANK_TRANSFER,
            as_of=date(2026, 2, 10),
            actor="test",
        )
        read(db, meters[0], 2026, 380)
        read(db, meters[1], 2026, 290)
        low = read(db, meters[3], 2026, 325, confirmed=True)  # 35 m³ instead of 95
        water_readings.accept(db, low, actor="user:clerk")
        # W-3 sent no reading for 2026: estimated from 2024 and 2025
        assert bill(town, meters, 2026, chunks=town is chunked[0]) == 4
        assert bill(town, meters, 2026, chunks=town is chunked[0]) == 0  # nothing twice

    def outcome(town: Any, meters: list[water.Meter]) -> dict[str, Any]:
        index = {m.id: f"#{i}" for i, m in enumerate(meters)}

        def norm(key: str) -> str:
            year, meter_id, rest = key.removeprefix("water_fee:").split(":", 2)
            return f"{year}:{index[int(meter_id)]}:{rest}"

        notices = db.scalars(
            select(Notice).where(Notice.municipality_id == town.id).order_by(Notice.id)
        ).all()
        # the owners' addresses (valid from 2026-03-01) are printed on the 2026 bills
        assert all(bool(n.data["recipient"]["lines"]) is (n.year == 2026) for n in notices)
        claims = db.scalars(
            select(Claim)
            .where(Claim.municipality_id == town.id, Claim.kind == ClaimKind.WATER_FEE)
            .order_by(Claim.assessment_key, Claim.id)
        ).all()
        balances = claim_balances(db, claims)
        owners = sorted({m.person_id for m in meters})
        return {
            "notices": sorted(
                (
                    index[n.data["meter_id"]],
                    n.year,
                    n.title,
                    n.total_cents,
                    n.previous_cents,
                    n.issued_on,
                    {
                        k: v
                        for k, v in n.data.items()
                        if k not in ("meter_id", "recipient", "person_number")
                    },
                )
                for n in notices
            ),
            "claims": [
                (
                    norm(c.assessment_key),
                    c.amount_cents,
                    c.due_date,
                    c.description,
                    balances[c.id].assessed_cents,
                    balances[c.id].open_cents,
                )
                for c in claims
            ],
            "credit": [credit_balance(db, db.get_one(Person, p)) for p in owners],
            "accounts": len({c.kassenzeichen for c in claims}),
        }

    got, expected = outcome(*chunked), outcome(*one_by_one)
    assert got == expected
    [estimated] = [n for n in got["notices"] if n[0] == "#2" and n[1] == 2026]
    assert estimated[6]["estimated"] is True
    # W-4's owner paid more in advances than the bill: the credit went to next year's advances
    paid_ahead = [c for c in got["claims"] if c[0].startswith("2027:#3:advance")]
    assert paid_ahead and sum(c[4] - c[5] for c in paid_ahead) > 0
    assert got["accounts"] == 3  # one tax account per owner, also for the one with two meters


def test_the_run_plans_with_plain_rows_not_orm_objects(db: Session, make: Any, town: Any) -> None:
    """A city's meters are planned as plain rows (memory of a million-meter run), in id order,
    with what the billing reads of them; removed meters and ones installed later are not."""
    owner = make.person(town)
    kept = [meter(db, town, owner, f"W-{n}") for n in range(3)]
    gone = meter(db, town, owner, "W-alt")
    gone.removed_on = date(2024, 6, 30)
    later = meter(db, town, owner, "W-neu")
    later.installed_on = date(2027, 2, 1)
    db.commit()
    db.expunge_all()
    planned = water_run.WATER.liable(db, town.id, 2026)
    assert [row.number for row in planned] == [m.number for m in kept]
    assert all(type(row) is water.MeterRow for row in planned)
    assert not [obj for obj in db.identity_map.values() if isinstance(obj, water.Meter)]
    again = water_run.WATER.subjects_of(db, town.id, [planned[2].id, planned[0].id, 10**9])
    assert again == [planned[2], planned[0]]
    assert planned[0] == water.MeterRow.of(db.get_one(water.Meter, planned[0].id))
