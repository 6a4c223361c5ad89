"""Notices say what is true, read back from the rendered PDF (real WeasyPrint, pdftotext): what
is assessed, what was assessed before and paid, what remains, every table's total adding up
from its rows, and under a mandate only what is still open announced as a debit."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.ledger.models import PaymentChannel
from core.ledger.queries import claims_of, open_items
from core.ledger.receipts import record_payment
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.dog_tax.models import Dog, DogStatus
from core.levies.water import assessment as water_run
from core.levies.water import readings as water_readings
from core.notices.records import Notice, NoticeSettings, render
from core.payments.sepa import mandates
from core.payments.sepa.bank_days import next_target_day
from core.tenancy.statutes import Statute
from tests.integration.test_water_flow import WATER, meter, read

EURO = r"(\d{1,3}(?:\.\d{3})*,\d{2}) €"
DAY = r"(\d{2}\.\d{2}\.\d{4})"


def cents(text: str) -> int:
    return int(text.replace(".", "").replace(",", ""))


def pdf_text(db: Session, notice: Notice, tmp_path: Path) -> tuple[str, str]:
    """The notice's PDF as text: with its layout (table rows on one line each) and as words in
    reading order."""
    path = tmp_path / f"notice-{notice.id}.pdf"
    path.write_bytes(render(db, notice, NoticeSettings("geheim", "https://portal.example")))

    def text(*args: str) -> str:
        return subprocess.run(
            ["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True
        ).stdout

    return text("-layout"), " ".join(text().split())


def table(text: str, title: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows and the "Gesamt" line of the payment table headed ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows: list[dict[str, Any]] = []
    for line in lines[start + 1 :]:
        if line.strip().startswith("Gesamt"):
            amount, paid, left = (cents(a) for a in re.findall(EURO, line))
            return rows, {"amount": amount, "paid": paid, "open": left}
        found = re.match(rf"\s*{DAY}\s+(.+?)\s+{EURO}\s+{EURO}\s+{EURO}\s*(.*)$", line)
        if found:
            due, label, amount, paid, left, collection = found.groups()
            rows.append(
                {
                    "due": due,
                    "label": label,
                    "amount": cents(amount),
                    "paid": cents(paid),
                    "open": cents(left),
                    "collection": collection.strip(),
                }
            )
    raise AssertionError(f"no total under {title}")


def assert_adds_up(rows: list[dict[str, Any]], total: dict[str, int]) -> None:
    assert rows
    for key in ("amount", "paid", "open"):
        assert sum(r[key] for r in rows) == total[key], key
    assert all(r["amount"] - r["paid"] == r["open"] for r in rows)


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data={**WATER, "reading_deadline_days": 15},
        )
    )
    make.sepa_statute(m)
    db.flush()
    return m


def water_bill_after_paid_advances(db: Session, make: Any, town: Any, *, mandate: bool) -> Notice:
    """2025 billed in January 2026 (four advances for 2026), the bill and all four advances
    paid, 105 m³ read for 2026, billed on 20 January 2027."""
    owner = make.person(town)
    m = meter(db, town, owner)
    read(db, m, 2025, 195)
    water_run.bill_meter(
        db, meter=m, municipality=town, period=2025, as_of=date(2026, 1, 15), actor="t"
    )
    if mandate:
        mandates.grant_mandate(
            db,
            person=owner,
            municipality=town,
            account_holder=owner.display_name,
            iban="DE89370400440532013000",
            tax_account_id=None,
            signed_on=date(2026, 1, 20),
            as_of=date(2026, 1, 20),
            actor="t",
        )
    record_payment(
        db,
        person=owner,
        amount_cents=sum(item.open_cents for item in open_items(db, owner)),
        received_on=date(2026, 11, 20),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 11, 20),
        actor="t",
    )
    read(db, m, 2026, 300)  # 105 m³
    stats = water_run.bill_all(
        db, municipality=town, period=2026, as_of=date(2027, 1, 20), actor="t"
    )
    assert stats.notices == 1
    return db.query(Notice).filter_by(person_id=owner.id, year=2026).one()


# 105 m³ × 2.16 € + 66.00 € base fee = 292.80 € net, 7 % VAT 20.50 €: 313.30 €
GROSS, ADVANCES = 31330, 29018  # the 2026 advances: the 2025 bill (95 m³), 290.18 €


@pytest.mark.parametrize("mandate", [True, False])
def test_water_bill_shows_paid_advances_the_final_payment_and_next_years_advances(
    db: Session, make: Any, town: Any, tmp_path: Path, mandate: bool
) -> None:
    notice = water_bill_after_paid_advances(db, make, town, mandate=mandate)
    text, words = pdf_text(db, notice, tmp_path)
    assert "Jahressteuer" not in words and "Bemessung" in words  # a fee, not a tax

    # what is assessed: each row, and the assessed amount adds up from them
    assessed = [
        cents(re.search(rf"{pattern}.*?{EURO}\s*$", text, re.M).group(1))
        for pattern in (r"Grundgebühr Zähler W-0001", r"105 m³ × 2,16 €", r"Umsatzsteuer 7 %")
    ]
    assert assessed == [6600, 22680, 2050]
    assert (
        cents(re.search(rf"Festgesetzter Betrag\s+{EURO}", text).group(1)) == GROSS == sum(assessed)
    )
    assert cents(re.search(rf"Abschläge 2026, bisher festgesetzt\s+{EURO}", text).group(1)) == (
        ADVANCES
    )

    # 2026: four advances already paid, the final payment open
    rows, total = table(text, "Zahlungen 2026")
    assert_adds_up(rows, total)
    assert total == {"amount": GROSS, "paid": ADVANCES, "open": GROSS - ADVANCES}
    advances, final = rows[:4], rows[4:]
    assert [r["label"] for r in advances] == [f"Abschlag {i}" for i in range(1, 5)]
    assert all(r["paid"] == r["amount"] and r["open"] == 0 for r in advances)
    assert [(r["label"], r["amount"], r["paid"]) for r in final] == [
        ("Abschlusszahlung", GROSS - ADVANCES, 0)
    ]
    # 2027: the new advances, from this bill
    next_rows, next_total = table(text, "Abschläge 2027")
    assert_adds_up(next_rows, next_total)
    assert next_total == {"amount": GROSS, "paid": 0, "open": GROSS}
    assert [r["due"][:5] for r in next_rows] == ["15.02", "15.05", "15.08", "15.11"]

    if mandate:  # only what is still open is announced, with its collection day
        assert "Einzug am" in words and "Vorabankündigung" in words
        assert all(r["collection"] == "bezahlt" for r in advances)
        final_day = next_target_day(date(2027, 2, 20))  # due a month after the bill
        assert final[0]["collection"] == f"{final_day:%d.%m.%Y}"
        assert [r["collection"] for r in next_rows] == [
            f"{next_target_day(date(2027, month, 15)):%d.%m.%Y}" for month in (2, 5, 8, 11)
        ]
        announced = GROSS - ADVANCES + GROSS
        assert f"zusammen {announced // 100},{announced % 100:02d} €" in words
        assert "GiroCode" not in words
        collected = [
            r for t in ("instalments", "advances") for r in notice.data[t] if "collection_date" in r
        ]
        assert len(collected) == 5  # the final payment and four 2027 advances, not the paid ones
    else:
        assert "Einzug am" not in words and "Vorabankündigung" not in words
        assert "GiroCode" in words and "Betrag (23,12 €)" in words  # the final payment


def test_a_change_notice_with_partly_paid_instalments_says_what_was_paid_and_is_left(
    db: Session, make: Any, tmp_path: Path
) -> None:
    town = make.municipality()
    make.dog_tax_statute(town)
    owner = make.person(town)
    dog = Dog(
        municipality_id=town.id,
        person_id=owner.id,
        name="Bello",
        breed="Mischling",
        acquired_on=date(2024, 1, 1),
        tag_number=7,
        status=DogStatus.ACTIVE,
    )
    db.add(dog)
    db.flush()
    first = dog_tax_run.assess_person(
        db, person=owner, municipality=town, year=2026, as_of=date(2026, 1, 10), actor="t"
    )
    assert first is not None
    rate = first.data["instalments"][0]["amount_cents"]
    claims = sorted((v.claim for v in claims_of(db, owner)), key=lambda c: c.assessment_key or "")
    record_payment(  # the first instalment and 10 € of the second
        db,
        person=owner,
        amount_cents=rate + 1000,
        received_on=date(2026, 5, 1),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 5, 1),
        actor="t",
        claim_ids=[claims[0].id, claims[1].id],
    )
    dog.ended_on = date(2026, 3, 20)  # liable January to March: the first instalment only
    db.flush()
    change = dog_tax_run.assess_person(
        db, person=owner, municipality=town, year=2026, as_of=date(2026, 5, 2), actor="t"
    )
    assert change is not None and change.total_cents == rate
    text, _words = pdf_text(db, change, tmp_path)
    rows, total = table(text, "Fälligkeiten")
    assert_adds_up(rows, total)
    assert [(r["label"], r["amount"], r["paid"]) for r in rows] == [("Rate 1", rate, rate)]
    assert cents(re.search(rf"Festgesetzter Betrag\s+{EURO}", text).group(1)) == total["amount"]
    # the 10 € paid on the second instalment, which is no longer owed, is a credit
    assert cents(re.search(rf"Zu viel gezahlt.*?{EURO}", text).group(1)) == 1000
    assert "Jahressteuer" in text


@pytest.mark.parametrize("mandate", [False, True])
def test_a_water_bill_below_the_paid_advances_shows_the_credit_and_where_it_went(
    db: Session, make: Any, town: Any, tmp_path: Path, mandate: bool
) -> None:
    """The credit is offset against next year's first advance at once (§ 226 AO): the notice
    prints that advance as partly paid and announces only the rest for collection, the same
    amount as the pre-notification on record."""
    from core.payments.sepa.prenotifications import prenotifications_of

    owner = make.person(town)
    m = meter(db, town, owner)
    read(db, m, 2025, 195)
    water_run.bill_meter(
        db, meter=m, municipality=town, period=2025, as_of=date(2026, 1, 15), actor="t"
    )
    if mandate:
        mandates.grant_mandate(
            db,
            person=owner,
            municipality=town,
            account_holder=owner.display_name,
            iban="DE89370400440532013000",
            tax_account_id=None,
            signed_on=date(2026, 1, 20),
            as_of=date(2026, 1, 20),
            actor="t",
        )
    record_payment(
        db,
        person=owner,
        amount_cents=sum(item.open_cents for item in open_items(db, owner)),
        received_on=date(2026, 11, 20),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 11, 20),
        actor="t",
    )
    low = read(db, m, 2026, 230, confirmed=True)  # 35 m³ instead of 95
    water_readings.accept(db, low, actor="user:clerk")
    notice = water_run.bill_meter(
        db, meter=m, municipality=town, period=2026, as_of=date(2027, 1, 20), actor="t"
    )
    assert notice is not None
    gross, credit = notice.total_cents, ADVANCES - notice.total_cents
    text, words = pdf_text(db, notice, tmp_path)
    rows, total = table(text, "Zahlungen 2026")
    assert_adds_up(rows, total)
    assert total["amount"] == gross == total["paid"] and total["open"] == 0
    assert "Abschlusszahlung" not in text
    assert cents(re.search(rf"Zu viel gezahlt.*?{EURO}", text).group(1)) == credit
    next_rows, next_total = table(text, "Abschläge 2027")
    assert_adds_up(next_rows, next_total)
    assert next_total["paid"] == min(credit, next_total["amount"]) > 0  # offset at once
    assert next_rows[0]["open"] == 0  # the oldest first
    if mandate:
        announced = {p.claim_id: p for p in prenotifications_of(db, owner)}
        on_record = sorted(p.amount_cents for p in announced.values())
        assert sorted(r["open"] for r in next_rows if r["open"]) == on_record
        assert [r["collection"] for r in next_rows if not r["open"]] == ["bezahlt"] * 3
        left = next_total["open"]
        assert f"zusammen {left // 100},{left % 100:02d} €" in words


def test_a_waste_change_notice_with_partly_paid_instalments(
    db: Session, make: Any, tmp_path: Path
) -> None:
    from core.levies.waste import assessment as waste_fee_run
    from tests.integration.test_waste_flow import register, waste_claims

    town = make.municipality()
    make.waste_statute(town)
    owner = make.person(town)
    prop = make.waste_property(town, owner, residents=3)
    register(db, town, owner, prop)  # the first notice: four instalments of 39.18 €
    first, second = waste_claims(db, owner)[:2]
    paid = first.amount_cents + second.amount_cents // 2
    record_payment(
        db,
        person=owner,
        amount_cents=paid,
        received_on=date(2026, 5, 20),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 5, 20),
        actor="t",
        claim_ids=[first.id, second.id],
    )
    prop.residents = 5
    db.flush()
    change = waste_fee_run.assess_person(
        db, person=owner, municipality=town, year=2026, as_of=date(2026, 6, 1), actor="t"
    )
    assert change is not None and change.total_cents > change.previous_cents
    text, words = pdf_text(db, change, tmp_path)
    rows, total = table(text, "Fälligkeiten")
    assert_adds_up(rows, total)
    assert total["amount"] == change.total_cents and total["paid"] == paid
    assert cents(re.search(rf"Festgesetzter Betrag\s+{EURO}", text).group(1)) == total["amount"]
    assert [(r["due"], r["paid"]) for r in rows[:2]] == [
        ("15.02.2026", first.amount_cents),
        ("15.05.2026", second.amount_cents // 2),
    ]
    assert any(r["label"].endswith("Nachforderung") for r in rows)
    assert "Jahresgebühr" in words and "Jahressteuer" not in words
