"""Hand-over to enforcement (core.dunning.enforcement, .writeoffs, .case_file): after the last
level's deadline exactly the right persons get a case (blocked, in collection, paid, not yet
ready: none), once; the case file reads back as PDF and validates as XML; costs are booked as
claims; a paid case shows paid; write-offs need a second clerk; the ledger stays balanced.
On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.demo.statutes import enforcement_statute
from core.dunning import blocks, booking, case_file, enforcement, runs, writeoffs
from core.dunning.enforcement_costs import LEVY
from core.dunning.enforcement_models import (
    CaseClaimRole,
    CaseStatus,
    EnforcementClaim,
    WriteOffKind,
    WriteOffState,
)
from core.dunning.models import BlockReason
from core.identity.models import Role
from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments import reservations
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute

DUE = date(2026, 2, 15)
RUNS = (date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 15))  # the three levels
HAND_OVER = date(2026, 5, 11)  # the last letters' deadline (04.05.) has passed


def enact_costs(db: Session, m: Municipality) -> None:
    db.add(
        Statute(
            municipality_id=m.id,
            levy=LEVY,
            valid_from=date(2020, 1, 1),
            source="Vollstreckungskosten (Test)",
            data=enforcement_statute(type("M", (), {"slug": "musterstadt"})()),
        )
    )
    db.flush()


def dun_to_the_end(db: Session, m: Municipality) -> None:
    """Three runs, each previewed by user:1, approved and booked by user:2."""
    for day in RUNS:
        run = runs.preview(db, m, day, "user:1")
        runs.approve(db, run, "user:2")
        booking.book(db, run, "user:2")


def hold_by_card(db: Session, m: Municipality, claim: Claim) -> None:
    attempt = PaymentAttempt(
        municipality_id=m.id, person_id=claim.person_id, origin="account", claim_ids=[claim.id],
        amount_cents=claim.amount_cents, provider="test", status=AttemptStatus.OPEN,
    )  # fmt: skip
    db.add(attempt)
    db.flush()
    reservations.reserve(
        db, municipality_id=m.id, attempt_id=attempt.id, items=[(claim, claim.amount_cents)],
        now=clock.now(), hold=timedelta(minutes=30),
    )  # fmt: skip


def pay(db: Session, claim: Claim, cents: int, on: date) -> None:
    person = claim.person_id
    from core.persons.models import Person

    record_payment(
        db, person=db.get_one(Person, person), amount_cents=cents, received_on=on,
        channel=PaymentChannel.BANK_TRANSFER, as_of=on, actor="t", claim_ids=[claim.id],
    )  # fmt: skip


@pytest.fixture
def scene(db: Session, make: Any) -> dict[str, Any]:
    """anna: ready; bert: blocked by a clerk; cara: held by a card payment; dora: paid after
    the last letter; eva: claim due later, not at the last level yet; fritz: insolvent."""
    m = make.municipality()
    make.dunning_statute(m)
    enact_costs(db, m)
    people = {n: make.person(m) for n in ("anna", "bert", "cara", "dora", "eva", "fritz")}
    claims = {
        n: make.claim(m, p, amount=12000, due=date(2026, 3, 20) if n == "eva" else DUE)
        for n, p in people.items()
    }
    dun_to_the_end(db, m)
    blocks.add_block(
        db, person=people["bert"], claim=claims["bert"], reason=BlockReason.CLERK,
        starts_on=date(2026, 5, 1), actor="user:1",
    )  # fmt: skip
    blocks.add_block(
        db, person=people["fritz"], reason=BlockReason.INSOLVENCY, starts_on=date(2026, 5, 1),
        actor="user:1",
    )  # fmt: skip
    hold_by_card(db, m, claims["cara"])
    pay(db, claims["dora"], 12000, date(2026, 5, 6))
    return {"m": m, "people": people, "claims": claims}


def test_hand_over_picks_exactly_the_persons_ready(db: Session, scene: dict[str, Any]) -> None:
    m, people, claims = scene["m"], scene["people"], scene["claims"]
    planned = enforcement.plan(db, m, HAND_OVER)
    assert [p.person.id for p in planned] == [people["anna"].id]

    cases = enforcement.hand_over(db, m, HAND_OVER, "user:1")

    assert len(cases) == 1
    case = cases[0]
    assert case.person_id == people["anna"].id and case.status is CaseStatus.HANDED_OVER
    links = enforcement.case_claims(db, case)
    roles = {claim.id: link.role for link, claim in links}
    assert roles[claims["anna"].id] is CaseClaimRole.MAIN
    ancillary = [claim for link, claim in links if link.role is CaseClaimRole.ANCILLARY]
    kinds = {claim.kind for claim in ancillary}
    assert kinds == {ClaimKind.DUNNING_FEE, ClaimKind.LATE_PAYMENT_SURCHARGE}
    assert all(claim.person_id == people["anna"].id for claim in ancillary)
    opened = open_amounts(db, [claim for _, claim in links])
    assert case.handed_over_cents == sum(opened.values()) > 12000
    data = case.file_data
    assert [lt["level"] for lt in data["letters"]] == [1, 2, 3]
    assert data["debtor"]["name"] == people["anna"].display_name
    assert set(data["debtor"]) == {
        "number", "name", "kind", "street", "postal_code", "city", "country",
    }  # fmt: skip
    assert db.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "enforcement_case.handed_over")
    )
    # Idempotent: a second hand-over makes nothing; the database refuses a claim twice.
    assert enforcement.hand_over(db, m, HAND_OVER + timedelta(days=7), "user:1") == []
    twice = EnforcementClaim(
        case_id=case.id, claim_id=claims["anna"].id, role=CaseClaimRole.MAIN, open_cents=1
    )
    with db.begin_nested():
        db.add(twice)
        with pytest.raises(IntegrityError):
            db.flush()
    assert sum(trial_balance(db, m.id).values()) == 0


def test_not_ready_before_the_last_deadline(db: Session, scene: dict[str, Any]) -> None:
    assert enforcement.plan(db, scene["m"], date(2026, 5, 4)) == []  # deadline day itself


def test_case_file_pdf_and_xml(db: Session, scene: dict[str, Any], tmp_path: Path) -> None:
    m, claims = scene["m"], scene["claims"]
    (case,) = enforcement.hand_over(db, m, HAND_OVER, "user:1")
    xml = case_file.case_xml(case)
    schema = etree.XMLSchema(etree.parse(str(case_file.XSD)))
    doc = etree.fromstring(xml)
    schema.assertValid(doc)
    ns = {"e": case_file.NAMESPACE}
    kz = doc.xpath("//e:Claim[@role='main']/e:Kassenzeichen/text()", namespaces=ns)
    assert kz == [claims["anna"].kassenzeichen]
    assert doc.xpath("count(//e:Letter)", namespaces=ns) == 3
    assert doc.xpath("//e:Totals/e:OpenAmount/text()", namespaces=ns) == [
        case_file.euro(case.handed_over_cents)
    ]
    assert not doc.xpath("//e:BirthDate", namespaces=ns)  # not kept, not passed on
    # A broken file fails the schema (the test can fail).
    broken = etree.fromstring(xml)
    broken.find("e:Claims", ns).clear()
    assert not schema.validate(broken)

    pdf = tmp_path / "fall.pdf"
    pdf.write_bytes(case_file.case_pdf(case, m))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Abgabe an die Vollstreckung" in text
    assert "Ankündigung der Vollstreckung" in text
    assert scene["people"]["anna"].display_name in text
    from core.kernel.money import format_euro
    from core.kernel.references import format_kassenzeichen

    assert format_kassenzeichen(claims["anna"].kassenzeichen) in text
    assert format_euro(case.handed_over_cents) in text


def test_costs_then_paid_derived_from_open_items(db: Session, scene: dict[str, Any]) -> None:
    m = scene["m"]
    (case,) = enforcement.hand_over(db, m, HAND_OVER, "user:1")
    cost = enforcement.book_cost(db, case, "pfaendung", on=date(2026, 5, 20), actor="user:1")
    assert cost.kind is ClaimKind.ENFORCEMENT_COSTS and cost.amount_cents == 2600
    assert cost.kassenzeichen == scene["claims"]["anna"].kassenzeichen
    with pytest.raises(ValidationError, match="nicht vorgesehen"):
        enforcement.book_cost(db, case, "haft", on=date(2026, 5, 20), actor="user:1")
    still = sum(enforcement.open_of(db, case).values())
    assert still == case.handed_over_cents + 2600
    pay(db, scene["claims"]["anna"], still - 1, date(2026, 5, 25))  # all but a cent
    assert not enforcement.refresh_status(db, case, date(2026, 5, 25), "t")
    from core.persons.models import Person

    record_payment(
        db, person=db.get_one(Person, case.person_id), amount_cents=1,
        received_on=date(2026, 5, 26), channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 5, 26), actor="t",
    )  # fmt: skip
    assert enforcement.refresh_open_cases(db, m.id, date(2026, 5, 26)) == 1
    assert case.status is CaseStatus.PAID and case.closed_on == date(2026, 5, 26)
    with pytest.raises(IllegalTransition):
        enforcement.book_cost(db, case, "pfaendung", on=date(2026, 5, 27), actor="user:1")
    assert sum(trial_balance(db, m.id).values()) == 0


def test_remission_needs_four_eyes_and_extinguishes(db: Session, scene: dict[str, Any]) -> None:
    m = scene["m"]
    (case,) = enforcement.hand_over(db, m, HAND_OVER, "user:1")
    with pytest.raises(ValidationError, match="Gründe"):
        writeoffs.request(db, case, WriteOffKind.REMISSION, reason="kurz", actor="user:1")
    request = writeoffs.request(
        db, case, WriteOffKind.REMISSION, reason="Unbillige Härte, Bescheid vom 01.06.",
        actor="user:1",
    )  # fmt: skip
    with pytest.raises(IllegalTransition, match="bereits"):
        writeoffs.request(db, case, WriteOffKind.SUSPENSION, reason="x" * 12, actor="user:3")
    with pytest.raises(ValidationError, match="Vier-Augen-Prinzip"):
        writeoffs.approve(db, request, on=date(2026, 6, 2), actor="user:1", role=Role.APPROVER)
    assert request.state is WriteOffState.REQUESTED and case.status is CaseStatus.HANDED_OVER

    with pytest.raises(ValidationError, match="Freigabe"):
        writeoffs.approve(db, request, on=date(2026, 6, 2), actor="user:2", role=Role.CLERK)
    total = writeoffs.approve(db, request, on=date(2026, 6, 2), actor="user:2", role=Role.APPROVER)

    assert total == case.handed_over_cents
    assert request.state is WriteOffState.APPROVED and case.status is CaseStatus.WRITTEN_OFF
    assert sum(enforcement.open_of(db, case).values()) == 0
    assert sum(trial_balance(db, m.id).values()) == 0
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == request.id)))
    assert {"enforcement_write_off.requested", "enforcement_write_off.approved"} <= actions
    assert enforcement.hand_over(db, m, date(2026, 6, 15), "user:1") == []


def test_suspension_keeps_the_claims(db: Session, scene: dict[str, Any]) -> None:
    m = scene["m"]
    (case,) = enforcement.hand_over(db, m, HAND_OVER, "user:1")
    request = writeoffs.request(
        db, case, WriteOffKind.SUSPENSION, reason="Vollstreckung aussichtslos (Pfändung fruchtlos)",
        actor="user:2",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="nicht selbst ablehnen"):
        writeoffs.reject(db, request, actor="user:2", role=Role.ADMIN)
    writeoffs.approve(db, request, on=date(2026, 6, 2), actor="user:1", role=Role.APPROVER)
    assert case.status is CaseStatus.WRITTEN_OFF
    assert sum(enforcement.open_of(db, case).values()) == case.handed_over_cents  # stays
    assert enforcement.hand_over(db, m, date(2026, 6, 15), "user:1") == []  # not again
    with pytest.raises(IllegalTransition):
        writeoffs.approve(db, request, on=date(2026, 6, 3), actor="user:3", role=Role.APPROVER)
