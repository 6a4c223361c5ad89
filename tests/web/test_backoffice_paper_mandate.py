"""The clerk records a SEPA-Basislastschriftmandat that arrived on paper: the form on the person
page, the mandate that replaces the earlier one of its scope, German errors that keep the input
(IBAN, the original's checkbox, a date of signature in the future or so old that an unused
mandate would have lapsed), tenancy, CSRF and who may reach the page."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.months import add_months
from core.kernel.references import format_kassenzeichen
from core.ledger.accounts import tax_account
from core.ledger.kinds import ClaimKind
from core.payments.sepa import mandates
from core.payments.sepa.models import Mandate, MandateStatus
from tests.conftest import csrf_token, login, staff_login

TODAY = date(2026, 3, 16)
OLD_IBAN = "DE89370400440532013000"
NEW_IBAN = "DE02120300000000202051"


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed today: the 36-month limit is checked to the day."""
    monkeypatch.setenv("OPENKASSE_TODAY", TODAY.isoformat())


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    """A municipality with direct-debit rules, its clerk, and a person with a dog-tax account
    and an active mandate for all taxes and fees (granted online)."""
    m = make.municipality()
    make.sepa_statute(m)
    clerk = make.user(role=Role.CLERK, municipality=m)
    person = make.person(m, family_name="Papier", given_name="Paula")
    dog_account = tax_account(db, person, m, ClaimKind.DOG_TAX)
    old = mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder="Paula Papier",
        iban=OLD_IBAN,
        tax_account_id=None,
        signed_on=date(2025, 1, 10),
        as_of=date(2025, 1, 10),
        actor="test",
    )
    db.commit()
    return type(
        "Town",
        (),
        {"m": m, "clerk": clerk, "person": person, "dog_account": dog_account, "old": old},
    )


def _url(person: Any) -> str:
    return f"/backoffice/personen/{person.id}/mandate/neu"


def _submit(client: FlaskClient, person: Any, **changes: str | None) -> Any:
    """POST the form the way a browser does (CSRF token of the form page); a change of None
    leaves the field out."""
    data: dict[str, str | None] = {
        "scope": "alle",
        "account_holder": "Paula Papier",
        "iban": "DE02 1203 0000 0000 2020 51",
        "bic": "",
        "signed_on": "2026-03-02",
        "original": "y",
        **changes,
    }
    url = _url(person)
    sent = {k: v for k, v in data.items() if v is not None}
    return client.post(url, data={"csrf_token": csrf_token(client, url), **sent})


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _of(db: Session, person: Any) -> list[Mandate]:
    db.expire_all()
    return mandates.mandates_of(db, person)


def test_form_offers_every_scope_and_prefills_the_account_holder(
    client: FlaskClient, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    person_page = _text(client.get(f"/backoffice/personen/{town.person.id}"))
    assert "Papiermandat erfassen" in person_page and _url(town.person) in person_page
    page = _text(client.get(_url(town.person)))
    assert "<h1" in page and "Papiermandat erfassen" in page
    assert "alle Steuern und Gebühren" in page
    kassenzeichen = format_kassenzeichen(town.dog_account.kassenzeichen)
    assert f"Hundesteuer (Kassenzeichen {kassenzeichen})" in page
    assert re.search(r'id="account_holder"[^>]*value="Paula Papier"', page)
    assert 'type="date"' in page and "Das unterschriebene Original liegt vor" in page
    assert town.old.reference in page  # the active mandate it would replace


def test_clerk_records_a_paper_mandate_that_replaces_the_active_one(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    response = _submit(client, town.person)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/backoffice/personen/{town.person.id}#mandate")
    new, old = _of(db, town.person)
    assert new.status is MandateStatus.ACTIVE
    assert new.iban == NEW_IBAN and new.tax_account_id is None
    assert new.signed_on == date(2026, 3, 2)
    assert new.created_by == f"user:{town.clerk.id}"
    assert new.document_id is not None  # the confirmation, archived
    assert old.id == town.old.id
    assert old.status is MandateStatus.REPLACED and old.replaced_by_id == new.id

    page = _text(client.get(response.headers["Location"]))
    assert f"Mandat {new.reference} erfasst." in page
    assert new.reference in page and "DE02 **** **** 2051" in page
    assert f"ersetzt (ersetzt durch Mandat {new.reference})" in page


def test_a_mandate_for_one_tax_account_keeps_the_general_one(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    response = _submit(client, town.person, scope=str(town.dog_account.id))
    assert response.status_code == 302
    new, old = _of(db, town.person)
    assert new.tax_account_id == town.dog_account.id and new.status is MandateStatus.ACTIVE
    assert old.status is MandateStatus.ACTIVE


def test_iban_error_in_german_keeps_the_input_and_saves_nothing(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    response = _submit(
        client, town.person, iban="DE89 3704 0044 0532 0130 01", account_holder="Paul Papier"
    )
    assert response.status_code == 200
    page = _text(response)
    assert "Bitte prüfen Sie Ihre Angaben" in page
    assert "Die Prüfziffer der IBAN stimmt nicht." in page
    assert 'value="DE89 3704 0044 0532 0130 01"' in page
    assert 'value="Paul Papier"' in page and 'value="2026-03-02"' in page
    assert 'aria-invalid="true"' in page
    assert [m.id for m in _of(db, town.person)] == [town.old.id]
    assert town.old.status is MandateStatus.ACTIVE


def test_without_the_original_nothing_is_recorded(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    page = _text(_submit(client, town.person, original=None))
    assert "Bitte bestätigen Sie, dass das unterschriebene Original vorliegt" in page
    assert [m.id for m in _of(db, town.person)] == [town.old.id]


def test_empty_form_shows_every_error(client: FlaskClient, db: Session, town: Any) -> None:
    """(The scope is preselected: "all taxes and fees", as on the citizen's form.)"""
    staff_login(client, town.clerk.email)
    page = _text(
        _submit(
            client,
            town.person,
            scope=None,
            account_holder="",
            iban="",
            signed_on="",
            original=None,
        )
    )
    for message in (
        "Bitte geben Sie den Namen des Kontoinhabers an.",
        "Bitte geben Sie die IBAN an.",
        "Bitte geben Sie das Datum der Unterschrift an.",
        "Bitte bestätigen Sie, dass das unterschriebene Original vorliegt",
    ):
        assert message in page
    assert len(_of(db, town.person)) == 1


@pytest.mark.parametrize(
    ("signed_on", "message"),
    [
        ("2026-03-17", "Das Datum der Unterschrift darf nicht in der Zukunft liegen."),
        ("2023-03-16", "vor mehr als 36 Monaten unterschrieben"),  # lapses today
        ("2019-05-02", "vor mehr als 36 Monaten unterschrieben"),
        ("2026-02-30", "Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ)."),
        ("16.03.2026", "Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ)."),
    ],
)
def test_date_of_signature_in_the_future_or_too_old_is_refused(
    client: FlaskClient, db: Session, town: Any, signed_on: str, message: str
) -> None:
    staff_login(client, town.clerk.email)
    response = _submit(client, town.person, signed_on=signed_on)
    assert response.status_code == 200
    assert message in _text(response)
    assert len(_of(db, town.person)) == 1


@pytest.mark.parametrize("signed_on", ["2023-03-17", "2026-03-16"])
def test_date_of_signature_today_or_less_than_36_months_ago_is_accepted(
    client: FlaskClient, db: Session, town: Any, signed_on: str
) -> None:
    staff_login(client, town.clerk.email)
    assert _submit(client, town.person, signed_on=signed_on).status_code == 302
    assert _of(db, town.person)[0].signed_on == date.fromisoformat(signed_on)


def test_months_later_counts_like_the_lapse_of_a_mandate() -> None:
    assert add_months(date(2023, 3, 16), 36) == date(2026, 3, 16)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2022, 11, 30), 3) == date(2023, 2, 28)
    assert add_months(date(2023, 12, 31), 36) == date(2026, 12, 31)


def test_without_direct_debit_rules_nothing_is_recorded(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()  # no SEPA statute
    clerk = make.user(role=Role.CLERK, municipality=m)
    person = make.person(m)
    db.commit()
    staff_login(client, clerk.email)
    assert "Keine Lastschriftregeln hinterlegt" in _text(client.get(_url(person)))
    response = _submit(client, person)
    assert response.status_code == 200
    assert "keine Satzung (sepa) hinterlegt" in _text(response)
    assert _of(db, person) == []


def test_another_municipalitys_person_is_not_found(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    b = make.municipality()
    make.sepa_statute(b)
    clerk_b = make.user(role=Role.CLERK, municipality=b)
    db.commit()
    staff_login(client, clerk_b.email)
    url = _url(town.person)
    assert client.get(url).status_code == 404
    token = csrf_token(client, "/backoffice/personen")
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "scope": "alle",
            "account_holder": "Paula Papier",
            "iban": NEW_IBAN,
            "signed_on": "2026-03-02",
            "original": "y",
        },
    )
    assert response.status_code == 404
    assert [m.id for m in _of(db, town.person)] == [town.old.id]
    assert client.get("/backoffice/personen/999999/mandate/neu").status_code == 404


def test_without_csrf_token_nothing_is_recorded(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    response = client.post(
        _url(town.person),
        data={
            "scope": "alle",
            "account_holder": "Paula Papier",
            "iban": NEW_IBAN,
            "signed_on": "2026-03-02",
            "original": "y",
        },
    )
    assert response.status_code == 400
    assert [m.id for m in _of(db, town.person)] == [town.old.id]


def test_citizens_and_visitors_cannot_reach_the_form(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    url = _url(town.person)
    assert client.get(url).status_code == 302  # to the log-in
    assert client.post(url, data={}).status_code in (302, 400)
    citizen = make.user()
    make.person(town.m, user=citizen)
    db.commit()
    login(client, town.m.slug, citizen.email)
    assert client.get(url).status_code == 403
    token = csrf_token(client, f"/{town.m.slug}/lastschrift/neu")
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "scope": "alle",
            "account_holder": "Paula Papier",
            "iban": NEW_IBAN,
            "signed_on": "2026-03-02",
            "original": "y",
        },
    )
    assert response.status_code == 403
    assert [m.id for m in _of(db, town.person)] == [town.old.id]
