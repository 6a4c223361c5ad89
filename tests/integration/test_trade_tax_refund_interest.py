"""Erstattungszinsen (§ 233a AO) of a final trade-tax assessment paid out through the ledger,
on SQLite and PostgreSQL: a refund of advance payments 15 months and more after the year's end
earns 0.15 % per full month (DOMAIN.md "Trade tax settlement"), booked after the approver as
credit of the business (with the refunded tax), printed on the notice and shown in the
account; a notice issued again books nothing; less interest later is claimed back."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.ledger.balances import credit_balance, open_amounts
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.levies.basis_notices import imports
from core.levies.basis_notices.applying import find_object
from core.levies.basis_notices.models import NoticeKind, TaxKind
from core.levies.trade_tax import approval, refund_interest
from core.notices.records import NoticeSettings, render
from core.persons.models import PersonKind
from tests import factories
from tests.basis_notice_files import business, delivery
from tests.conftest import login
from tests.pdf_layout import page_texts

REFUND_DAY = date(2026, 6, 1)  # 2023: interest from 01.04.2025, 14 full months by 01.06.2026
INTEREST = {"rate_per_month_percent": "0,15", "legal_basis": "§ 233a AO"}


@pytest.fixture
def town(make: Any) -> Any:
    m = make.municipality()
    make.trade_tax_statute(m, interest=INTEREST)
    return m


def _import(db: Session, m: Any, firm: Any, name: str, **kw: Any) -> Any:
    imports.import_file(
        db, m, delivery(business(m, person_number=firm.number, **kw)), filename=name, actor="t"
    )
    obj = find_object(db, m.id, TaxKind.TRADE_TAX, "5315/001/00042")
    assert obj is not None
    return obj


def _paid_advances(db: Session, make: Any, m: Any, firm: Any) -> Any:
    """The 2022 notice (4,970 €) fixed 2023's advance payments at 4 × 1,242 €; all paid."""
    obj = _import(db, m, firm, "2022.xml", year_from=2022, notice_date="2023-01-02")
    first = approval.prepare(
        db, municipality=m, tax_object=obj, year=2022, as_of=date(2023, 1, 10), actor="t"
    ).notice
    assert first is not None
    record_payment(
        db, person=firm, amount_cents=497000 + 4 * 124200, received_on=date(2023, 1, 20),
        channel=PaymentChannel.BANK_TRANSFER, as_of=date(2023, 1, 20), actor="t",
        kassenzeichen=first.kassenzeichen,
    )  # fmt: skip
    return obj


def _final_2023(db: Session, make: Any, m: Any, firm: Any, obj: Any, cents: int, on: date) -> Any:
    """The 2023 Messbescheid of ``cents``, prepared and approved (a refund: four eyes)."""
    _import(db, m, firm, f"2023-{cents}.xml", year_from=2023, messbetrag_cents=cents,
            notice_date=on.isoformat(), kind=NoticeKind.CHANGE)  # fmt: skip
    waiting = approval.prepare(
        db, municipality=m, tax_object=obj, year=2023, as_of=on, actor="user:clerk"
    ).application
    assert waiting is not None and "Erstattung" in waiting.review_reasons
    approver = f"user:{make.user(role=Role.APPROVER, municipality=m).id}"
    [notice] = approval.approve(db, waiting, as_of=on, actor=approver)
    return notice


def test_refund_interest_is_credited_printed_and_booked_once(
    db: Session, make: Any, town: Any
) -> None:
    firm = make.person(town, kind=PersonKind.BUSINESS, company_name="Bäckerei Krume GmbH")
    obj = _paid_advances(db, make, town, firm)
    assert credit_balance(db, firm) == 0
    # 2023: Messbetrag 500 € × 400 % = 2,000 €; 4,968 € paid → 2,968 € refunded
    notice = _final_2023(db, make, town, firm, obj, 50000, REFUND_DAY)
    # oracle: 2,968 € down to 50 € = 2,950 €; × 0.15 % × 14 months = 61.95 € → 62 € (up)
    assert notice.data["trade_tax"]["interest_cents"] == -6200
    assert notice.data["trade_tax"]["refund_cents"] == 296800
    assert credit_balance(db, firm) == 296800 + 6200
    [row] = db.scalars(select(refund_interest.RefundInterest)).all()
    assert (row.amount_cents, row.year, row.notice_id) == (6200, 2023, notice.id)
    assert row.claim_id is None and row.entry_id is not None
    lines = [ln["description"] for ln in notice.data["lines"]]
    assert (
        "Erstattungszinsen nach § 233a AO (14 volle Monate ab 01.04.2025 zu 0,15 % je Monat "
        "auf 2.950,00 €), Ihrem Konto gutgeschrieben (ausgezahlt mit der Erstattung oder "
        "verrechnet)"
    ) in lines
    settings = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
    flat = " ".join(" ".join(page_texts(render(db, notice, settings))).split())
    assert "Erstattungszinsen nach § 233a AO" in flat and "62,00 €" in flat

    assert refund_interest.book(db, notice, town, actor="t") is None  # again: nothing
    assert (
        approval.prepare(
            db, municipality=town, tax_object=obj, year=2023, as_of=REFUND_DAY, actor="t"
        )
        == approval.Prepared()
    )
    assert credit_balance(db, firm) == 296800 + 6200


def test_less_refund_later_claims_the_interest_back(db: Session, make: Any, town: Any) -> None:
    firm = make.person(town, kind=PersonKind.BUSINESS, company_name="Werk GmbH")
    obj = _paid_advances(db, make, town, firm)
    _final_2023(db, make, town, firm, obj, 50000, REFUND_DAY)
    # a correction to 1,000 € × 400 % = 4,000 €: the base stays the advance payments fixed
    # (4,968 €), so 968 € are refunded in all: 950 € × 0.15 % × 16 months = 22.80 € → 23 €
    later = date(2026, 8, 3)
    notice = _final_2023(db, make, town, firm, obj, 100000, later)
    assert notice.data["trade_tax"]["interest_cents"] == -2300
    back = db.scalars(select(Claim).where(Claim.kind == ClaimKind.INTEREST)).one()
    assert (back.amount_cents, back.due_date, back.notice_id) == (3900, date(2026, 9, 3), notice.id)
    assert "Rückforderung" in back.description
    assert refund_interest.credited_cents(db, obj.id, 2023) == 2300
    assert sum(open_amounts(db, [back]).values()) == 0  # set off against the credit at once


def test_the_account_shows_the_interest_credited(
    db: Session, make: Any, town: Any, client: FlaskClient
) -> None:
    user = make.user()
    firm = make.person(
        town, kind=PersonKind.BUSINESS, company_name="Bäckerei Krume GmbH", user=user
    )
    obj = _paid_advances(db, make, town, firm)
    notice = _final_2023(db, make, town, firm, obj, 50000, REFUND_DAY)
    db.commit()
    login(client, town.slug, user.email)
    page = html.unescape(client.get(f"/{town.slug}/konto").get_data(as_text=True))
    page = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "Guthaben: 3.030,00 €" in page
    assert (
        f"Erstattungszinsen § 233a AO, Gewerbesteuer 2023, Bescheid Nr. {notice.number}: "
        "62,00 € gutgeschrieben"
    ) in page


def test_refund_and_interest_are_set_off_against_open_items(
    db: Session, make: Any, town: Any
) -> None:
    firm = make.person(town, kind=PersonKind.BUSINESS, company_name="Werk GmbH")
    obj = _paid_advances(db, make, town, firm)
    other = factories.claim(
        db, town, firm, amount=300000, kind=ClaimKind.ADMIN_FEE, due=date(2026, 5, 15),
        description="Verwaltungsgebühr", as_of=date(2026, 5, 1),
    )  # fmt: skip
    _final_2023(db, make, town, firm, obj, 50000, REFUND_DAY)
    # 2,968 € refunded + 62 € interest − 3,000 € set off (§ 226 AO) = 30 € credit
    assert sum(open_amounts(db, [other]).values()) == 0
    assert credit_balance(db, firm) == 3000
