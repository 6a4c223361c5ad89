"""A dunning letter's own payment reference (core.dunning.letter_references) in the bank import:
Anna's Mahnung covers her tax and an older fee under another Kassenzeichen, and an earlier
letter's 12 € surcharge is still open under the tax's Kassenzeichen (not in this letter). A
transfer of the letter's total naming the letter's RF reference settles exactly the letter's
claims (before, naming the first Kassenzeichen, it left 12 € of the letter open); a part
settles in the order of § 225 (2) AO within the letter; a surplus goes on as for any payment;
another municipality's or an unknown letter reference waits for a clerk. The bulk path and the
one-by-one path book identical ledgers. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import account as dunning_account
from core.dunning import letters
from core.dunning.letter_references import letter_reference
from core.kernel.references import (
    is_valid_kassenzeichen,
    is_valid_letter_reference,
    is_valid_rf,
    make_rf,
)
from core.ledger.balances import open_amounts
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.payments.bank import imports as bank_import
from core.payments.bank.models import BankLine, LineStatus
from core.payments.bank.report import ImportReport
from tests.camt_files import build_camt053, entry, statement, tx
from tests.integration.test_bank_bulk_import import _ledger
from tests.integration.test_dunning_letters import _mahnung

DAY = date(2026, 4, 20)


def _setup(db: Session, make: Any) -> dict[str, Any]:
    m, tax, old_fee, letter = _mahnung(db, make)
    make.sepa_statute(m)  # the bank import reads it (return charges)
    mine = {c.kind: c for c in dunning_account.letter_claims(db, letter)}
    surcharges = list(
        db.scalars(
            select(Claim)
            .where(
                Claim.person_id == letter.person_id,
                Claim.kind == ClaimKind.LATE_PAYMENT_SURCHARGE,
            )
            .order_by(Claim.id)
        )
    )
    earlier = next(c for c in surcharges if c.id != mine[ClaimKind.LATE_PAYMENT_SURCHARGE].id)
    fee = next(c for c in dunning_account.letter_claims(db, letter) if c.id == letter.fee_claim_id)
    db.commit()
    return {
        "m": m,
        "letter": letter,
        "claims": [tax, old_fee, fee, mine[ClaimKind.LATE_PAYMENT_SURCHARGE]],
        "earlier": earlier,
        "rf": make_rf(letters.reference_of(db, letter)),
    }


def _import(
    db: Session, m: Any, *lines: tuple[int, str], bulk: bool = True, tag: str = "L"
) -> ImportReport:
    entries = [
        entry(n, tx(cents, remittance="Mahnung", creditor_reference=rf), day=DAY, ref=f"{tag}{n}")
        for n, (cents, rf) in enumerate(lines, start=1)
    ]
    data = build_camt053(statement(m.iban, f"AUSZUG-{tag}", *entries))
    report = bank_import.import_statements(
        db, m, data, filename=f"{tag}.xml", as_of=DAY, actor="test", bulk=bulk
    )
    db.commit()
    db.expire_all()
    return report


def _open(db: Session, claims: list[Claim]) -> list[int]:
    found = open_amounts(db, claims)
    return [found[c.id] for c in claims]


def test_the_reference_is_the_letters_own_and_never_a_kassenzeichen(db: Session, make: Any) -> None:
    s = _setup(db, make)
    reference = letters.reference_of(db, s["letter"])
    assert reference == letter_reference(s["m"].kassenzeichen_prefix, s["letter"].id)
    assert is_valid_letter_reference(reference) and not is_valid_kassenzeichen(reference)
    assert is_valid_rf(s["rf"]) and len(s["rf"]) <= 25
    assert {c.kassenzeichen for c in s["claims"][:2]} != {s["claims"][0].kassenzeichen}
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)  # one digit off
    assert not is_valid_letter_reference(wrong)


@pytest.mark.parametrize("bulk", [True, False])
def test_the_letters_total_settles_exactly_the_letter(db: Session, make: Any, bulk: bool) -> None:
    s = _setup(db, make)
    letter = s["letter"]
    assert letter.total_cents == 123456 + 1000 + 1700 + 1200

    report = _import(db, s["m"], (letter.total_cents, s["rf"]), bulk=bulk)

    assert (report.booked_cents, report.queued) == (letter.total_cents, 0)
    assert _open(db, s["claims"]) == [0, 0, 0, 0]  # before: 10 € old fee + 2 € surcharge open
    assert _open(db, [s["earlier"]]) == [1200]  # the earlier letter's: not in this one
    line = db.scalars(select(BankLine).where(BankLine.municipality_id == s["m"].id)).one()
    assert (line.status, line.method, line.person_id) == (
        LineStatus.BOOKED,
        "letter",
        letter.person_id,
    )
    assert dunning_account.still_open(db, letter) == []


@pytest.mark.parametrize("bulk", [True, False])
def test_a_part_settles_in_the_order_of_225_within_the_letter(
    db: Session, make: Any, bulk: bool
) -> None:
    s = _setup(db, make)

    _import(db, s["m"], (123456 + 1000 + 500, s["rf"]), bulk=bulk)

    # the tax, then the costs (the older fee first), the Säumniszuschlag last (§ 225 (2) AO);
    # the earlier surcharge under the tax's Kassenzeichen is not in the letter: untouched
    assert _open(db, s["claims"]) == [0, 0, 1200, 1200]
    assert _open(db, [s["earlier"]]) == [1200]

    _import(db, s["m"], (1300, s["rf"]), bulk=bulk, tag="M")  # the fee, then the surcharge

    assert _open(db, s["claims"]) == [0, 0, 0, 1100]
    assert _open(db, [s["earlier"]]) == [1200]


def test_a_surplus_goes_on_as_for_any_payment(db: Session, make: Any) -> None:
    s = _setup(db, make)
    letter = s["letter"]

    _import(db, s["m"], (letter.total_cents + 1500, s["rf"]))

    assert _open(db, s["claims"]) == [0, 0, 0, 0]
    assert _open(db, [s["earlier"]]) == [0]  # the person's other open claim, then credit
    assert dunning_account.still_open(db, letter) == []


def test_another_municipalitys_or_an_unknown_letter_reference_waits_for_a_clerk(
    db: Session, make: Any
) -> None:
    s = _setup(db, make)
    other = make.municipality()
    theirs = make_rf(letter_reference(other.kassenzeichen_prefix, s["letter"].id))
    unknown = make_rf(letter_reference(s["m"].kassenzeichen_prefix, s["letter"].id + 1000))

    report = _import(db, s["m"], (5000, theirs), (6000, unknown))

    assert (report.queued, report.booked_cents) == (2, 0)
    notes = list(db.scalars(select(BankLine.note).where(BankLine.municipality_id == s["m"].id)))
    assert notes == ["Unbekannte Referenz eines Mahnschreibens, kein gültiges Kassenzeichen."] * 2
    assert _open(db, s["claims"]) == [123456, 1000, 1700, 1200]


def test_bulk_and_one_by_one_book_identical_ledgers(db: Session, make: Any) -> None:
    one, bulk = _setup(db, make), _setup(db, make)
    reports, ledgers = [], []
    for s, in_bulk in ((one, False), (bulk, True)):
        rf, unknown = s["rf"], make_rf(letter_reference(s["m"].kassenzeichen_prefix, 10**9))
        report = _import(
            db,
            s["m"],
            (123456 + 500, rf),  # a part
            (1000 + 1300, rf),  # the rest of the old fee, most of the new one
            (2500, rf),  # the rest of the letter, and a surplus
            (4000, unknown),
            bulk=in_bulk,
        )
        reports.append({k: v for k, v in report.as_dict().items() if k != "import_ids"})
        # the towns' references differ (prefix, letter number): named by what they stand for
        ledgers.append(repr(_ledger(db, s["m"])).replace(rf, "<letter>").replace(unknown, "<?>"))
    assert reports[0] == reports[1]
    assert _open(db, one["claims"]) == _open(db, bulk["claims"]) == [0, 0, 0, 0]
    assert _open(db, [one["earlier"]]) == _open(db, [bulk["earlier"]]) == [0]
    assert "<letter>" in ledgers[0] and "'letter'" in ledgers[0]  # booked by the reference
    assert ledgers[0] == ledgers[1]
