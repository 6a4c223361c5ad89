"""The citizen's account shows each claim of an enforcement case with the case's status: handed
over (with the day), paid, erlassen; a Niederschlagung is internal and shows only "in
Vollstreckung". Nobody sees another person's case."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from core.dunning import enforcement, writeoffs
from core.dunning.enforcement_models import EnforcementCase, WriteOffKind
from core.identity.models import Role
from core.kernel.references import format_kassenzeichen
from core.ledger.balances import open_amounts
from core.ledger.kinds import KINDS
from tests.conftest import login
from tests.integration.test_enforcement import HAND_OVER, pay, scene  # noqa: F401  (fixture)

HANDED = f"in Vollstreckung – an die Vollstreckung abgegeben am {HAND_OVER:%d.%m.%Y}"


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", HAND_OVER.isoformat())


def _account(
    app: Flask,
    db: Session,
    make: Any,
    scene: dict[str, Any],  # noqa: F811
    name: str = "anna",
) -> tuple[Any, EnforcementCase | None]:
    m = scene["m"]
    cases = enforcement.hand_over(db, m, HAND_OVER, "user:1") or enforcement.cases_of(db, m.id)
    user = make.user()
    scene["people"][name].user_id = user.id
    db.commit()
    client = app.test_client()
    login(client, m.slug, user.email)
    return client, cases[0] if cases else None


def _page(client: Any, m: Any) -> str:
    response = client.get(f"/{m.slug}/konto")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _section(page: str) -> str:
    """The account's enforcement section (empty when there is none)."""
    if 'aria-labelledby="vollstreckung"' not in page:
        return ""
    at = page.index('aria-labelledby="vollstreckung"')
    return page[at : page.index("</section>", at)]


def _card(page: str, claim: Any) -> str:
    """The section's card of ``claim`` (by its kind and Kassenzeichen)."""
    section = _section(page)
    title = f'<h3 class="kern-title">{KINDS[claim.kind].label}: '
    for card in section.split("<li")[1:]:
        if title in card and format_kassenzeichen(claim.kassenzeichen) in card:
            return card
    raise AssertionError(f"no card of claim {claim.id} in {section!r}")


def test_handed_over_then_niedergeschlagen_shows_in_vollstreckung_only(
    app: Flask,
    db: Session,
    make: Any,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    client, case = _account(app, db, make, scene)
    assert case is not None
    claim = scene["claims"]["anna"]
    assert HANDED in _card(_page(client, scene["m"]), claim)
    request = writeoffs.request(
        db, case, WriteOffKind.SUSPENSION, reason="Vollstreckung aussichtslos", actor="user:1"
    )
    writeoffs.approve(db, request, on=date(2026, 6, 1), actor="user:2", role=Role.APPROVER)
    db.commit()
    page = _page(client, scene["m"])
    assert HANDED in _card(page, claim)
    links = enforcement.case_claims(db, case)
    assert _section(page).count(HANDED) == len(links) > 1  # fees and surcharges too
    assert "niedergeschlagen" not in page.lower() and "Niederschlagung" not in page
    assert "abgeschrieben" not in page


def test_erlass_shows_erlassen_with_the_day(
    app: Flask,
    db: Session,
    make: Any,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    client, case = _account(app, db, make, scene)
    assert case is not None
    request = writeoffs.request(
        db, case, WriteOffKind.REMISSION, reason="Unbillige Härte, Antrag vom 20.05.",
        actor="user:1",
    )  # fmt: skip
    writeoffs.approve(db, request, on=date(2026, 6, 2), actor="user:2", role=Role.APPROVER)
    db.commit()
    card = _card(_page(client, scene["m"]), scene["claims"]["anna"])
    assert "erlassen – an die Vollstreckung abgegeben am 11.05.2026, erlassen am 02.06.2026" in card


def test_paid_after_the_hand_over_shows_bezahlt(
    app: Flask,
    db: Session,
    make: Any,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    client, case = _account(app, db, make, scene)
    assert case is not None
    for _link, claim in enforcement.case_claims(db, case):
        pay(db, claim, open_amounts(db, [claim])[claim.id], date(2026, 5, 20))
    assert enforcement.refresh_status(db, case, date(2026, 5, 21), "system:enforcement")
    db.commit()
    page = _page(client, scene["m"])
    card = _card(page, scene["claims"]["anna"])
    assert "bezahlt – an die Vollstreckung abgegeben am 11.05.2026, bezahlt am 21.05.2026" in card


def test_another_persons_case_is_not_shown(
    app: Flask,
    db: Session,
    make: Any,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    client, _case = _account(app, db, make, scene, name="bert")
    page = _page(client, scene["m"])
    assert _section(page) == "" and "abgegeben am" not in page
