"""The annual payment of the property tax in the account (Flask test client, SQLite and
PostgreSQL): applied for from the property-tax page with CSRF, a late application refused in
German with the date it could first apply from, withdrawn (also by the deadline), shown in the
account; a person without plots gets no form, another person's application is not found; the
deadline is statute data."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.levies.basis_notices import imports
from core.levies.property_tax import annual_payment
from core.levies.property_tax import assessment as property_tax
from core.levies.property_tax.models import AnnualPayment
from tests.basis_notice_files import delivery, plot
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.integration.test_property_tax_levy import enact


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _owner(db: Session, make: Any, client: FlaskClient, **statute: Any) -> tuple[Any, Any]:
    m = make.municipality()
    enact(db, m, **statute)
    user = make.user()
    owner = make.person(m, user=user, family_name="Grundmann")
    imports.import_file(
        db, m, delivery(plot(m, person_number=owner.number)), filename="a.xml", actor="t"
    )
    property_tax.assess_all(db, municipality=m, year=2026, as_of=date(2026, 1, 10), actor="t")
    db.commit()
    login(client, m.slug, user.email)
    return m, owner


def test_apply_is_shown_in_the_account_and_withdrawn(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-09-10")
    m, owner = _owner(db, make, client)
    account = _text(client.get(f"/{m.slug}/konto"))
    assert "Ein Antrag auf Jahreszahlung bis zum 30.09.2026 gilt ab 2027." in account
    assert f"/{m.slug}/konto/grundsteuer" in account
    url = f"/{m.slug}/konto/grundsteuer"
    page = _text(client.get(url))
    assert "3150/123/4567" in page and "gilt bis auf Weiteres" in page
    assert "Ein Antrag bis zum 30.09.2026 gilt ab 2027." in page

    assert client.post(url, data={"year": "2027"}).status_code == 400  # no CSRF token
    assert db.scalars(select(AnnualPayment)).all() == []
    done = post_form(client, url, {"year": "2027"})
    assert done.status_code == 302
    [row] = db.scalars(select(AnnualPayment)).all()
    assert (row.person_id, row.from_year, row.to_year) == (owner.id, 2027, None)
    shown = _text(client.get(url))
    assert "Ab 2027 zahlen Sie die Grundsteuer in einem Betrag am 01.07.2027." in shown
    assert "Sie zahlen die Grundsteuer ab 2027 in einem Jahresbetrag am 1. Juli" in shown
    assert "Jahreszahlung zum 1. Juli: beantragt ab 2027." in _text(client.get(f"/{m.slug}/konto"))

    withdraw = f"/{m.slug}/konto/grundsteuer/jahreszahlung/{row.id}/widerruf"
    assert client.post(withdraw).status_code == 400  # CSRF
    token = csrf_token(client, url)
    done = client.post(withdraw, data={"csrf_token": token})
    assert done.status_code == 302
    assert "Ab 2027 gelten wieder die vierteljährlichen" in _text(client.get(url))
    assert db.scalars(select(AnnualPayment)).all() == []  # it never applied


def test_a_late_application_is_refused_with_the_first_date_it_applies(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-10-01")
    m, _ = _owner(db, make, client)
    url = f"/{m.slug}/konto/grundsteuer"
    refused = post_form(client, url, {"year": "2027"})
    assert refused.status_code == 200
    assert (
        "Für 2027 ist die Frist abgelaufen: Die Jahreszahlung hätte bis zum 30.09.2026 "
        "beantragt werden müssen. Ein heute gestellter Antrag gilt erst ab dem 01.07.2028."
    ) in _text(refused)
    assert db.scalars(select(AnnualPayment)).all() == []
    assert post_form(client, url, {"year": "2028"}).status_code == 302
    assert post_form(client, url, {"year": "2029"}).status_code == 200  # not offered


def test_the_deadline_is_statute_data(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-10-10")
    m, _ = _owner(db, make, client, annual_payment_deadline="15.10.")
    url = f"/{m.slug}/konto/grundsteuer"
    assert "Ein Antrag bis zum 15.10.2026 gilt ab 2027." in _text(client.get(url))
    assert post_form(client, url, {"year": "2027"}).status_code == 302


def test_a_withdrawal_after_it_applied_ends_it_and_others_are_not_found(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-11-02")
    m, owner = _owner(db, make, client)
    mine = annual_payment.apply(
        db, person=owner, municipality=m, applied_on=date(2025, 9, 1), actor="t"
    )
    other = make.person(m, family_name="Fremd")
    imports.import_file(
        db, m, delivery(plot(m, "3150/9/9", person_number=other.number)), filename="b", actor="t"
    )
    theirs = annual_payment.apply(
        db, person=other, municipality=m, applied_on=date(2025, 9, 1), actor="t"
    )
    db.commit()
    url = f"/{m.slug}/konto/grundsteuer"
    token = csrf_token(client, url)
    assert (
        client.post(
            f"/{m.slug}/konto/grundsteuer/jahreszahlung/{theirs.id}/widerruf",
            data={"csrf_token": token},
        ).status_code
        == 404
    )
    done = client.post(
        f"/{m.slug}/konto/grundsteuer/jahreszahlung/{mine.id}/widerruf",
        data={"csrf_token": token},
    )
    assert done.status_code == 302
    db.expire_all()
    # after 30 September 2026 a withdrawal applies from 2028: 2026 and 2027 stay annual
    assert (db.get_one(AnnualPayment, mine.id).to_year, theirs.to_year) == (2027, None)
    page = _text(client.get(url))
    assert "bis einschließlich 2027" in page and "Jahreszahlung beantragen" in page
    assert post_form(client, url, {"year": "2028"}).status_code == 302  # applied for again
    assert "ab 2028" in _text(client.get(f"/{m.slug}/konto"))


def test_a_person_without_plots_gets_no_form(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-09-10")
    m = make.municipality()
    enact(db, m)
    user = make.user()
    make.person(m, user=user)
    db.commit()
    login(client, m.slug, user.email)
    url = f"/{m.slug}/konto/grundsteuer"
    page = _text(client.get(url))
    assert "keine grundsteuerpflichtigen Grundstücke" in page and "beantragen</span>" not in page
    post_form(client, url, {"year": "2027"})
    assert db.scalars(select(AnnualPayment)).all() == []
    assert "/konto/grundsteuer" not in _text(client.get(f"/{m.slug}/konto"))


def test_the_clerk_sees_the_annual_payment_on_the_person_page(
    db: Session, make: Any, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-09-10")
    m, owner = _owner(db, make, client)
    annual_payment.apply(db, person=owner, municipality=m, applied_on=date(2026, 9, 10), actor="t")
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    staff_login(client, clerk.email)
    page = _text(client.get(f"/backoffice/personen/{owner.id}"))
    assert "Grundsteuer: Jahreszahlung zum 1. Juli ab 2027, beantragt am 10.09.2026." in page
