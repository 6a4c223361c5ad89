"""Four eyes on refunds apply to sums: the refunds of one payment together, and of one clerk on
one day, including refunds still waiting for approval — splitting a refund into pieces does not
avoid the approver. Bad ids on the approval form are a German 4xx, never a server error."""

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.ledger.balances import person_balance
from core.payments.card.refund_limits import REFUND_LEVY, RefundLimits, limits_on
from core.payments.card.refunds import Refund, RefundStatus
from core.tenancy.statutes import Statute
from tests.conftest import login, post_form, staff_login
from tests.web.test_payments import paid_card_payment

pytestmark = pytest.mark.usefixtures("localstripe")


@pytest.fixture
def payer(client: FlaskClient, make: Any) -> Any:
    """A citizen logged in on ``client`` who pays by card (tests/web/test_payments.py)."""
    m = make.municipality()
    user = make.user()
    person = make.person(m, user=user, family_name="Zahlemann")
    login(client, m.slug, user.email)
    return m, person


def _desk(app: Any, make: Any, m: Any, role: Role = Role.CLERK) -> FlaskClient:
    desk = app.test_client()
    staff_login(desk, make.user(role=role, municipality=m).email)
    return desk


def _refund(desk: FlaskClient, payment: Any, euro: str) -> Any:
    return post_form(
        desk,
        f"/backoffice/zahlungen/{payment.id}/erstattung",
        {"amount": euro, "reason": "Bescheid geändert"},
    )


def _statuses(db: Session, payment: Any) -> list[RefundStatus]:
    db.expire_all()  # the app's requests changed the rows
    rows = db.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id))
    return [r.status for r in rows]


def test_pieces_of_one_payment_add_up_to_the_threshold(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer  # no refund statute: the municipality's 200.00 € for both sums
    payment = paid_card_payment(client, db, make, m, person, localstripe, 60000)
    desk = _desk(app, make, m)
    for _ in range(3):
        assert _refund(desk, payment, "200,00").status_code == 302
    executed, waiting = RefundStatus.EXECUTED, RefundStatus.AWAITING_APPROVAL
    # the second crosses 200 € together with the first; the third counts the waiting second
    assert _statuses(db, payment) == [executed, waiting, waiting]
    assert person_balance(db, person) == 20000  # only the first was paid out
    second = db.scalars(select(Refund).where(Refund.payment_id == payment.id)).all()[1]
    assert "dieser Zahlung ergeben zusammen 400,00 €" in (second.approval_reason or "")
    page = _desk(app, make, m, Role.APPROVER).get("/backoffice/erstattungen")
    assert "Freigabe nötig, weil die Erstattungen dieser Zahlung" in page.get_data(as_text=True)


def test_small_pieces_need_an_approver_once_their_sum_crosses(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 50000)
    desk = _desk(app, make, m)
    for euro in ("100,00", "100,00", "0,01"):
        _refund(desk, payment, euro)
    executed, waiting = RefundStatus.EXECUTED, RefundStatus.AWAITING_APPROVAL
    assert _statuses(db, payment) == [executed, executed, waiting]  # 200.00 is still allowed


def test_waiting_refunds_count_and_reserve_the_amount(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 40000)
    desk = _desk(app, make, m)
    _refund(desk, payment, "300,00")  # waits for an approver
    _refund(desk, payment, "50,00")  # small, but 350 € with the waiting one
    assert _statuses(db, payment) == [RefundStatus.AWAITING_APPROVAL] * 2
    # 400 € paid, 350 € waiting: no more than 50 € may still be requested
    too_much = _refund(desk, payment, "60,00").get_data(as_text=True)
    assert "abzüglich der Erstattungen, die auf Freigabe warten" in too_much
    assert person_balance(db, person) == 0


def test_rejected_refunds_do_not_count(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 40000)
    desk = _desk(app, make, m)
    _refund(desk, payment, "300,00")
    refund = db.scalars(select(Refund).where(Refund.payment_id == payment.id)).one()
    post_form(desk, "/backoffice/erstattungen", {"refund_id": str(refund.id), "decision": "x"})
    assert _statuses(db, payment) == [RefundStatus.REJECTED]
    _refund(desk, payment, "150,00")
    assert _statuses(db, payment) == [RefundStatus.REJECTED, RefundStatus.EXECUTED]


def test_daily_sum_per_clerk_across_payments(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    db.add(
        Statute(
            municipality_id=m.id,
            levy=REFUND_LEVY,
            valid_from=date(2020, 1, 1),
            source="Dienstanweisung Finanzbuchhaltung (Test), § 12",
            data={"approval_per_payment_cents": 20000, "approval_per_clerk_day_cents": 25000},
        )
    )
    db.commit()
    payments = [
        paid_card_payment(client, db, make, m, person, localstripe, 20000) for _ in range(3)
    ]
    clerk, colleague = _desk(app, make, m), _desk(app, make, m)
    _refund(clerk, payments[0], "150,00")
    _refund(clerk, payments[1], "150,00")  # 300 € by this clerk today > 250 €
    _refund(colleague, payments[2], "150,00")  # the colleague's own day sum is 150 €
    assert [_statuses(db, p) for p in payments] == [
        [RefundStatus.EXECUTED],
        [RefundStatus.AWAITING_APPROVAL],
        [RefundStatus.EXECUTED],
    ]
    waiting = db.scalars(select(Refund).where(Refund.payment_id == payments[1].id)).one()
    assert "von derselben Person beantragten Erstattungen ergeben zusammen 300,00 €" in (
        waiting.approval_reason or ""
    )
    # the request page tells the clerk the limits and their own sum
    page = clerk.get(f"/backoffice/zahlungen/{payments[2].id}/erstattung").get_data(as_text=True)
    assert "250,00 €" in page and "Dienstanweisung Finanzbuchhaltung (Test)" in page


def test_limits_come_from_the_statute_in_force(db: Session, make: Any) -> None:
    m = make.municipality()
    assert limits_on(db, m, date(2026, 6, 1)) == RefundLimits(
        20000, 20000, "Einstellung der Kommune (Freigabegrenze)"
    )
    db.add(
        Statute(
            municipality_id=m.id,
            levy=REFUND_LEVY,
            valid_from=date(2027, 1, 1),
            source="DA 2027",
            data={"approval_per_payment_cents": 10000, "approval_per_clerk_day_cents": 30000},
        )
    )
    db.flush()
    assert limits_on(db, m, date(2026, 12, 31)).per_payment_cents == 20000
    assert limits_on(db, m, date(2027, 1, 1)) == RefundLimits(10000, 30000, "DA 2027")
    with pytest.raises(ValueError, match="cents"):
        RefundLimits.from_data({"approval_per_payment_cents": 1.5}, "x")


@pytest.mark.parametrize(
    "refund_id", ["abc", "", "-1", "0", "1.5", "99999999999999999999", "١٢", "1e3"]
)
def test_bad_refund_id_is_a_german_404(app: Any, make: Any, refund_id: str) -> None:
    m = make.municipality()
    desk = _desk(app, make, m, Role.APPROVER)
    answer = post_form(
        desk, "/backoffice/erstattungen", {"refund_id": refund_id, "decision": "approve"}
    )
    assert answer.status_code == 404
    assert "Diese Erstattung wurde nicht gefunden" in answer.get_data(as_text=True)


def test_huge_payment_id_on_the_refund_page_is_404(app: Any, make: Any) -> None:
    desk = _desk(app, make, make.municipality())
    assert desk.get(f"/backoffice/zahlungen/{2**64}/erstattung").status_code == 404


@pytest.mark.parametrize("amount", ["99999999999999999999,99", "9" * 5000, "1e9", "-5,00"])
def test_absurd_refund_amounts_are_form_errors(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str, amount: str
) -> None:
    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 1000)
    answer = _refund(_desk(app, make, m), payment, amount)
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Bitte einen Betrag wie 12,50 angeben." in text or "nicht positiv" in text
    assert _statuses(db, payment) == []
