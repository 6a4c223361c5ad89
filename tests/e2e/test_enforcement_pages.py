"""The back office's enforcement pages through axe-core: the case list, a case's page (on a
desktop and on a phone, without sideways scrolling) and its write-off form sent empty."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL

pytestmark = pytest.mark.e2e


def _seed_case(database_url: str) -> int:
    """A case for one of the demo's open claims, made the way a hand-over makes it."""
    from sqlalchemy import select

    from core.dunning import enforcement
    from core.dunning.enforcement_models import (
        CaseClaimRole,
        CaseStatus,
        EnforcementCase,
        EnforcementClaim,
    )
    from core.kernel.db import make_engine, make_session_factory
    from core.ledger.balances import open_amounts
    from core.ledger.models import Claim
    from core.persons.models import Person
    from core.tenancy.municipalities import get_by_slug

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            claims = session.scalars(
                select(Claim).where(Claim.municipality_id == m.id).order_by(Claim.id)
            ).all()
            opened = open_amounts(session, claims)
            claim = next(c for c in claims if opened.get(c.id, 0) > 0)
            planned = enforcement.PlannedCase(
                session.get_one(Person, claim.person_id),
                [(claim, opened[claim.id], CaseClaimRole.MAIN)],
            )
            day = date(2026, 5, 11)
            case = EnforcementCase(
                municipality_id=m.id, person_id=claim.person_id,
                status=CaseStatus.HANDED_OVER, handed_over_on=day,
                handed_over_cents=planned.open_cents,
                file_data=enforcement.file_data(planned, m, day), created_by="e2e",
            )  # fmt: skip
            session.add(case)
            session.flush()
            session.add(
                EnforcementClaim(
                    case_id=case.id,
                    claim_id=claim.id,
                    role=CaseClaimRole.MAIN,
                    open_cents=opened[claim.id],
                )
            )
            session.commit()
            return case.id
    finally:
        engine.dispose()


def test_enforcement_pages(phone: Page, new_page: Callable[..., Page], live_app: Any) -> None:
    case_id = _seed_case(live_app.database_url)
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto("/backoffice/vollstreckung")
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Vollstreckungsfälle")
    assert_accessible(clerk)
    clerk.goto(f"/backoffice/vollstreckung/{case_id}")
    expect(clerk.get_by_role("heading", level=1)).to_have_text(f"Vollstreckungsfall {case_id}")
    assert_accessible(clerk)
    clerk.get_by_role("button", name="Abschreibung beantragen").click()  # sent empty
    expect(clerk.get_by_role("alert")).to_be_visible()
    assert_accessible(clerk)
    log_in(phone, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    phone.goto(f"/backoffice/vollstreckung/{case_id}")
    check_phone_page(phone)
