"""Trade-tax notices from Gewerbesteuermessbescheide (core.levies.trade_tax): the assessment
with its settlement and next advance payments, change assessments booking only the
difference, refunds, and four eyes (nothing booked or visible before an approver approves;
never the clerk who prepared it). DOMAIN.md: Messbetrag 1,242.50 € at 400 % → 4,970.00 €,
advance payments 1,242 € each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.errors import AccessDenied, DomainError
from core.ledger.balances import claim_balances, credit_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.levies.basis_notices import imports
from core.levies.basis_notices.applying import find_object
from core.levies.basis_notices.models import NoticeKind, TaxKind
from core.levies.trade_tax import approval
from core.notices.records import notices_of
from core.persons.models import PersonKind
from core.workflow.applications import ApplicationStatus
from tests.basis_notice_files import business, delivery

JUNE = date(2026, 6, 1)
SEPT = date(2026, 9, 1)


@pytest.fixture
def town(make: Any) -> Any:
    m = make.municipality()
    make.trade_tax_statute(m)
    return m


@pytest.fixture
def firm(make: Any, town: Any) -> Any:
    return make.person(town, kind=PersonKind.BUSINESS, company_name="Bäckerei Krume GmbH")


def _import(db: Session, m: Any, firm: Any, name: str = "a.xml", **kw: Any) -> Any:
    imports.import_file(
        db, m, delivery(business(m, person_number=firm.number, **kw)), filename=name, actor="t"
    )
    obj = find_object(db, m.id, TaxKind.TRADE_TAX, "5315/001/00042")
    assert obj is not None
    return obj


def _claims(db: Session, firm: Any) -> list[tuple[str, int, date]]:
    claims = db.scalars(
        select(Claim)
        .where(Claim.person_id == firm.id, Claim.kind == ClaimKind.TRADE_TAX)
        .order_by(Claim.id)
    ).all()
    return [(c.assessment_key or "", c.amount_cents, c.due_date) for c in claims]


def _open(db: Session, firm: Any, year: str) -> int:
    claims = db.scalars(
        select(Claim).where(
            Claim.person_id == firm.id, Claim.assessment_key.startswith(f"trade_tax:{year}:")
        )
    ).all()
    return sum(b.open_cents for b in claim_balances(db, claims).values())


def _staff(make: Any, town: Any, role: Role = Role.APPROVER) -> str:
    return f"user:{make.user(role=role, municipality=town).id}"


def _prepare(db: Session, m: Any, obj: Any, as_of: date, actor: str = "user:clerk") -> Any:
    return approval.prepare(db, municipality=m, tax_object=obj, year=2025, as_of=as_of, actor=actor)


def test_assessment_settles_and_sets_next_advance_payments(
    db: Session, town: Any, firm: Any
) -> None:
    obj = _import(db, town, firm)
    done = _prepare(db, town, obj, JUNE)
    assert done.application is None and done.notice is not None
    k = f"trade_tax:%d:{obj.id}:"
    assert _claims(db, firm) == [
        (k % 2025 + "final", 497000, date(2026, 7, 1)),  # Abschlusszahlung, a month after
        (k % 2026 + "late", 248400, date(2026, 7, 1)),  # Q1 + Q2 passed: due a month after
        (k % 2026 + "q3", 124200, date(2026, 8, 15)),
        (k % 2026 + "q4", 124200, date(2026, 11, 15)),
    ]
    figures = done.notice.data["trade_tax"]
    assert (figures["tax_cents"], figures["next_quarters"]) == (497000, [124200] * 4)
    assert done.notice.data["tax_object_id"] == obj.id
    assert _prepare(db, town, obj, JUNE) == approval.Prepared()  # again: nothing changes


def test_change_assessment_books_only_the_difference(db: Session, town: Any, firm: Any) -> None:
    obj = _import(db, town, firm)
    _prepare(db, town, obj, JUNE)
    before = _claims(db, firm)
    _import(
        db,
        town,
        firm,
        "b.xml",
        kind=NoticeKind.CHANGE,
        messbetrag_cents=150000,
        notice_date="2026-08-01",
    )
    done = _prepare(db, town, obj, SEPT)
    assert done.notice is not None and done.notice.title.startswith("Änderungsbescheid")
    k = f"trade_tax:%d:{obj.id}:"
    assert _claims(db, firm)[len(before) :] == [
        (k % 2025 + "final", 103000, date(2026, 10, 1)),  # 6,000 − 4,970
        (k % 2026 + "late", 77400, date(2026, 10, 1)),  # 3 × 1,500 − (2,484 + 1,242)
        (k % 2026 + "q4", 25800, date(2026, 11, 15)),  # 1,500 − 1,242
    ]
    assert done.notice.previous_cents == 497000 and done.notice.total_cents == 600000


def test_refund_waits_for_an_approver_other_than_the_clerk(
    db: Session, make: Any, town: Any, firm: Any
) -> None:
    obj = _import(db, town, firm)
    first = _prepare(db, town, obj, JUNE).notice
    record_payment(
        db,
        person=firm,
        amount_cents=497000,
        received_on=JUNE,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=JUNE,
        actor="t",
        kassenzeichen=first.kassenzeichen,
    )
    claims_before = _claims(db, firm)
    _import(
        db,
        town,
        firm,
        "b.xml",
        kind=NoticeKind.CHANGE,
        messbetrag_cents=100000,
        notice_date="2026-08-01",
    )
    open_2026 = _open(db, firm, "2026")
    clerk = _staff(make, town, Role.APPROVER)  # even an approver may not approve their own
    waiting = _prepare(db, town, obj, SEPT, actor=clerk).application
    assert waiting is not None and "Erstattung" in waiting.review_reasons
    assert waiting.data["old"]["tax_cents"] == 497000
    assert waiting.data["new"]["tax_cents"] == 400000
    assert _claims(db, firm) == claims_before and len(notices_of(db, firm.id, town.id)) == 1
    with pytest.raises(AccessDenied, match="Vier-Augen"):
        approval.approve(db, waiting, as_of=SEPT, actor=clerk)
    with pytest.raises(AccessDenied, match="Freigabe"):
        approval.approve(db, waiting, as_of=SEPT, actor=_staff(make, town, Role.CLERK))
    assert waiting.status is ApplicationStatus.IN_REVIEW
    [notice] = approval.approve(db, waiting, as_of=SEPT, actor=_staff(make, town))
    assert waiting.status is ApplicationStatus.APPROVED
    assert notice.total_cents == 400000 and len(notices_of(db, firm.id, town.id)) == 2
    final = db.scalars(
        select(Claim).where(Claim.assessment_key == f"trade_tax:2025:{obj.id}:final")
    ).all()
    assert sum(b.assessed_cents for b in claim_balances(db, final).values()) == 400000
    # the 970 € refund: credit, offset against the 2026 advance payments still open (§ 226 AO)
    assert notice.data["trade_tax"]["refund_cents"] == 97000
    # 2026: quarters of 1,000 € instead of 1,242 € lower what is open by 4 × 242 € = 968 €
    lowered = 96800
    assert open_2026 - _open(db, firm, "2026") - lowered + credit_balance(db, firm) == 97000


def test_notice_above_the_limit_needs_approval_and_nothing_shows_before(
    db: Session, make: Any, town: Any, firm: Any
) -> None:
    obj = _import(db, town, firm, messbetrag_cents=300000)  # 12,000 € > 10,000 €
    waiting = _prepare(db, town, obj, JUNE).application
    assert waiting is not None and waiting.review_reasons[0].startswith("Steuer über")
    assert _claims(db, firm) == [] and notices_of(db, firm.id, town.id) == []
    again = _prepare(db, town, obj, JUNE).application
    assert again is waiting  # preparing twice queues it once
    boss = _staff(make, town, Role.ADMIN)
    [notice] = approval.approve(db, waiting, as_of=JUNE, actor=boss)
    assert notice.total_cents == 1200000
    with pytest.raises(DomainError):
        approval.approve(db, waiting, as_of=JUNE, actor=boss)


def test_approval_refused_when_the_figures_changed_meanwhile(
    db: Session, make: Any, town: Any, firm: Any
) -> None:
    obj = _import(db, town, firm, messbetrag_cents=300000)
    waiting = _prepare(db, town, obj, JUNE).application
    assert waiting is not None
    record_payment(
        db,
        person=firm,
        amount_cents=100000,
        received_on=JUNE,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=JUNE,
        actor="t",
    )  # nothing was booked yet: the payment is credit, the settlement is unchanged
    [notice] = approval.approve(db, waiting, as_of=JUNE, actor=_staff(make, town))
    assert notice.total_cents == 1200000
    _import(
        db,
        town,
        firm,
        "b.xml",
        kind=NoticeKind.CHANGE,
        messbetrag_cents=260000,
        notice_date="2026-08-01",
    )
    again = _prepare(db, town, obj, SEPT).application  # 10,400 €: above the limit again
    assert again is not None and again.data["old"]["tax_cents"] == 1200000
    record_payment(
        db,
        person=firm,
        amount_cents=50000,
        received_on=SEPT,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=SEPT,
        actor="t",
        kassenzeichen=notice.kassenzeichen,
    )
    with pytest.raises(DomainError, match="geändert"):
        approval.approve(db, again, as_of=SEPT, actor=_staff(make, town))
    assert len(notices_of(db, firm.id, town.id)) == 1
