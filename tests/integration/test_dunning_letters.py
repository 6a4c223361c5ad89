"""Dunning letters (core.dunning.letters): the PDF read back (pdftotext) says per claim what is
open, its fee share and surcharges, the totals add up to the cent, the GiroCode (decoded from
the rendered page) asks for the total with the letter's own reference as RF reference (never a
Kassenzeichen: core.dunning.letter_references), printed on the letter too, the signed link leads
to the letter; each letter is archived exactly once (the CLI path, the job, a download). On
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import booking, letters, runs
from core.dunning.letter_records import DunningLetterDocument
from core.dunning.models import DunningLetter, DunningRun
from core.jobs import control, worker
from core.kernel import archive, clock
from core.kernel.errors import InvalidToken, NotFound
from core.kernel.references import format_rf, is_valid_kassenzeichen, make_rf
from core.ledger.kinds import ClaimKind
from core.notices.jobs import SETTINGS
from core.notices.records import NoticeSettings
from core.tenancy.municipalities import Municipality
from tests.e2e.helpers import EURO, cents, flat_text, pdf_text, qr_codes

RUN_1 = date(2026, 3, 16)
RUN_2 = date(2026, 3, 30)
DUE = date(2026, 2, 15)
SETTINGS_ = NoticeSettings("geheim", "https://portal.example")
REMEDY = (
    "Gegen die Festsetzung der Mahngebühr kann innerhalb eines Monats Widerspruch erhoben werden."
)


def _town(make: Any, **data: Any) -> Municipality:
    m = make.municipality()
    make.dunning_statute(m, **data)
    return m


def _book(db: Session, m: Municipality, day: date) -> DunningRun:
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    return run


def _mahnung(db: Session, make: Any) -> tuple[Municipality, Any, Any, DunningLetter]:
    """Anna's second letter (a Mahnung with a fee): her tax of 1,234.56 € and an older fee."""
    m = _town(make, remedy=REMEDY)
    anna = make.person(m)
    tax = make.claim(m, anna, amount=123456, due=DUE, description="Hundesteuer 2026")
    old_fee = make.claim(
        m, anna, amount=1000, due=DUE, kind=ClaimKind.DUNNING_FEE, description="Mahngebühr alt"
    )
    _book(db, m, RUN_1)
    run = _book(db, m, RUN_2)
    (letter,) = runs.letters_of(db, run)
    return m, tax, old_fee, letter


def _pdf(db: Session, letter: DunningLetter, tmp_path: Path) -> Path:
    path = tmp_path / f"letter-{letter.id}.pdf"
    path.write_bytes(letters.render(db, letter, SETTINGS_))
    return path


def test_letter_pdf_says_what_is_owed_to_the_cent(db: Session, make: Any, tmp_path: Path) -> None:
    m, tax, _, letter = _mahnung(db, make)
    # § 9 VO VwVG NRW: 1,234 € → 17 € fee; surcharges 2 × 1 % of 1,200 € minus the 12 € booked
    assert (letter.level_name, letter.fee_cents, letter.surcharge_cents) == ("Mahnung", 1700, 1200)
    assert letter.total_cents == 123456 + 1000 + 1700 + 1200

    path = _pdf(db, letter, tmp_path)
    words, layout = flat_text(path), pdf_text(path)

    kz = f"{tax.kassenzeichen[:3]} {tax.kassenzeichen[3:11]} {tax.kassenzeichen[11:]}"
    for expected in [
        m.name,
        m.cash_office_name,
        "Mahnung",
        "Hundesteuer 2026",
        "Mahngebühr alt",
        kz,
        "15.02.2026",  # the due date as assessed
        f"Bitte zahlen Sie 1.273,56 € bis zum {letter.payment_deadline:%d.%m.%Y}.",
        "§ 240 Abgabenordnung",
        "§ 19 VwVG NRW, § 9 VO VwVG NRW",
        "Rechtsbehelfsbelehrung",
        REMEDY,
    ]:
        assert expected in words, expected
    rows = re.findall(rf"15\.02\.2026\s+{EURO}\s+{EURO}\s+{EURO}\s+{EURO}", layout)
    parsed = sorted(tuple(cents(a) for a in row) for row in rows)
    assert parsed == [(1000, 0, 0, 1000), (123456, 1700, 1200, 126356)]
    total_line = re.search(rf"Gesamt\s+{EURO}\s+{EURO}\s+{EURO}\s+{EURO}", layout)
    assert total_line is not None
    totals = [cents(a) for a in total_line.groups()]
    assert totals == [sum(col) for col in zip(*parsed, strict=True)] == [124456, 1700, 1200, 127356]
    due = re.search(rf"Zu zahlen insgesamt\s+{EURO}", layout)
    assert due is not None and cents(due.group(1)) == letter.total_cents


def test_girocode_and_signed_link_decode(db: Session, make: Any, tmp_path: Path) -> None:
    m, tax, _, letter = _mahnung(db, make)
    pages = qr_codes(_pdf(db, letter, tmp_path), tmp_path)
    codes = pages[1] + pages[2]
    assert len(codes) == 2
    epc = next(c for c in codes if c.startswith("BCD\n"))
    lines = epc.split("\n")
    assert lines[5] == m.cash_office_name and lines[6] == m.iban.replace(" ", "")
    assert lines[7] == "EUR1273.56"  # the letter's total, exactly
    reference = letters.reference_of(db, letter)
    assert lines[9] == make_rf(reference) != make_rf(tax.kassenzeichen)  # the letter's own
    assert reference.startswith("M" + m.kassenzeichen_prefix)
    assert not is_valid_kassenzeichen(reference)
    words = flat_text(_pdf(db, letter, tmp_path))
    assert f"Zahlungsreferenz {format_rf(make_rf(reference))}" in words  # printed as well
    (link,) = [c for c in codes if c.startswith("https://")]
    assert link.startswith(f"https://portal.example/{m.slug}/mahnschreiben/")
    token = link.rsplit("/", 1)[1]
    found = letters.letter_from_token(db, SETTINGS_, m.id, token, now=clock.now())
    assert found.id == letter.id
    with pytest.raises(InvalidToken):
        letters.letter_from_token(db, SETTINGS_, m.id, token[:-3] + "xyz", now=clock.now())
    other = make.municipality()
    with pytest.raises(NotFound):
        letters.letter_from_token(db, SETTINGS_, other.id, token, now=clock.now())


def test_archived_exactly_once(db: Session, make: Any) -> None:
    m, _, _, letter = _mahnung(db, make)
    run = db.get_one(DunningRun, letter.run_id)
    first_run = db.scalar(select(DunningRun).where(DunningRun.run_date == RUN_1))
    assert first_run is not None

    assert letters.make_for_run(db, run, SETTINGS_, "cli") == 1
    assert letters.make_for_run(db, run, SETTINGS_, "cli") == 0
    assert letters.make_for_run(db, first_run, SETTINGS_, "cli") == 1
    document = letters.ensure_document(db, letter, SETTINGS_, "user:9")
    again = letters.ensure_document(db, letter, SETTINGS_, "user:9")

    assert document.id == again.id and document.kind == "dunning_letter"
    assert document.person_id == letter.person_id and document.content.startswith(b"%PDF")
    assert db.scalar(select(func.count()).select_from(DunningLetterDocument)) == 2
    stored = db.scalar(
        select(func.count(archive.Document.id)).where(
            archive.Document.municipality_id == m.id, archive.Document.kind == "dunning_letter"
        )
    )
    assert stored == 2
    assert letters.pending(db, m.id) == []


def test_a_preview_letter_is_never_made(db: Session, make: Any) -> None:
    m = _town(make)
    make.claim(m, make.person(m), amount=10000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    (letter,) = runs.letters_of(db, run)
    assert letters.pending(db, m.id) == []
    assert letters.make_for_letters(db, m.id, [letter.id], SETTINGS_, "x") == 0
    with pytest.raises(NotFound):
        letters.get_letter(db, m.id, letter.id)
    with pytest.raises(NotFound):
        letters.ensure_document(db, letter, SETTINGS_, "x")


def test_letters_job_renders_the_booked_letters_once(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = _town(make)
    for _ in range(3):
        make.claim(m, make.person(m), amount=10000, due=DUE)
    run = _book(db, m, RUN_1)
    job = control.start(db, m, "dunning_letters", {"run": str(run.id)}, actor="user:2")
    db.commit()

    assert worker.drain(session_factory, environment={SETTINGS: SETTINGS_}) == 1

    db.expire_all()
    assert control.progress(db, job).counts == {"archived": 3}
    assert letters.pending(db, m.id, run.id) == []
    ids = [lt.id for lt in runs.letters_of(db, run)]
    assert letters.make_for_letters(db, m.id, ids, SETTINGS_, "again") == 0
