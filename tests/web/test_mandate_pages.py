"""SEPA mandate pages through the Flask test client: granting (for every levy or one
Kassenzeichen), German errors that keep the input, the consent checkbox, CSRF, changing
(replaces), revoking (with a confirmation step), the recorded PDF download, the announced
collections, and that nobody sees another citizen's mandate."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.kernel import archive, clock
from core.kernel.references import format_kassenzeichen
from core.ledger.accounts import tax_account
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.bank_days import next_target_day
from core.payments.sepa.models import Mandate, MandateStatus
from core.payments.sepa.rules import consent_text, rules_on
from tests.conftest import csrf_token, login, post_form

IBAN = "DE89370400440532013000"
OTHER_IBAN = "DE02120300000000202051"


@pytest.fixture
def citizen(client: FlaskClient, db: Session, make: Any) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Zahler", given_name="Zora")
    dog_account = tax_account(db, person, m, ClaimKind.DOG_TAX)
    tax_account(db, person, m, ClaimKind.WASTE_FEE)
    dog_claim = post_claim(
        db,
        person=person,
        municipality=m,
        kind=ClaimKind.DOG_TAX,
        amount_cents=4500,
        due_date=clock.today() - timedelta(days=3),
        description="Hundesteuer",
        as_of=clock.today(),
        actor="test",
        kassenzeichen=dog_account.kassenzeichen,
    )
    login(client, m.slug, user.email)
    return m, person, dog_claim


def grant(client: FlaskClient, m: Any, **changes: str) -> Any:
    data = {"scope": "alle", "account_holder": "Zora Zahler", "iban": IBAN, "consent": "y"}
    data.update(changes)
    return post_form(client, f"/{m.slug}/lastschrift/neu", {k: v for k, v in data.items() if v})


def own_mandates(db: Session, person: Any) -> list[Mandate]:
    return mandates.mandates_of(db, person)


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_account_links_to_the_mandate_page(client: FlaskClient, citizen: Any) -> None:
    m, _person, _claim = citizen
    assert f"/{m.slug}/lastschrift" in client.get(f"/{m.slug}/konto").get_data(as_text=True)
    page = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert "Lastschriftmandate" in page and "Sie haben kein aktives Lastschriftmandat." in page
    assert "Zurzeit ist kein Einzug angekündigt." in page


def test_the_form_shows_the_consent_text_and_every_scope(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person, _claim = citizen
    page = text_of(client.get(f"/{m.slug}/lastschrift/neu"))
    rules = rules_on(db, m.id, clock.today())
    for paragraph in consent_text(m, rules).split("\n"):
        assert paragraph in page
    assert "alle Steuern und Gebühren" in page
    for account in mandates.tax_accounts_of(db, person):
        assert f"(Kassenzeichen {format_kassenzeichen(account.kassenzeichen)})" in page
    assert "Hundesteuer (Kassenzeichen" in page and "Abfallgebühren (Kassenzeichen" in page
    assert 'value="Zora Zahler"' in page  # the holder prefilled with the person's name
    iban_input = re.search(r"<input[^>]*id=\"iban\"[^>]*>", page)
    assert iban_input
    assert 'autocomplete="off"' in iban_input.group(0)
    assert "inputmode=" in iban_input.group(0)
    assert "Ich erteile dieses SEPA-Lastschriftmandat" in page


def test_grant_for_every_levy_shows_the_reference_and_the_pdf(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person, _claim = citizen
    response = grant(client, m, iban="de89 3704 0044 0532 0130 00")  # spaces, lower case
    assert response.status_code == 302
    (mandate,) = own_mandates(db, person)
    assert mandate.tax_account_id is None and mandate.iban == IBAN
    assert mandate.signed_on == clock.today() and mandate.bic == "COBADEFFXXX"
    assert mandate.account_holder == "Zora Zahler"
    page = text_of(client.get(response.headers["Location"]))
    assert f"Ihr Lastschriftmandat {mandate.reference} ist erteilt." in page
    assert mandate.reference in page and "DE89 **** **** 3000" in page
    assert f"/{m.slug}/lastschrift/{mandate.id}.pdf" in page
    overview = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert mandate.reference in overview and "alle Steuern und Gebühren" in overview
    assert "Sie haben kein aktives Lastschriftmandat." not in overview


def test_grant_for_one_kassenzeichen(client: FlaskClient, db: Session, citizen: Any) -> None:
    m, person, claim = citizen
    account = next(
        t for t in mandates.tax_accounts_of(db, person) if t.kassenzeichen == claim.kassenzeichen
    )
    assert grant(client, m, scope=str(account.id)).status_code == 302
    (mandate,) = own_mandates(db, person)
    assert mandate.tax_account_id == account.id
    overview = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert f"Hundesteuer (Kassenzeichen {format_kassenzeichen(claim.kassenzeichen)})" in overview


def test_bad_iban_comes_back_in_german_and_keeps_the_input(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person, _claim = citizen
    response = grant(client, m, iban="DE89 3704 0044 0532 0130 01", account_holder="Zora Z.")
    assert response.status_code == 200
    page = text_of(response)
    assert "Bitte prüfen Sie Ihre Angaben" in page
    assert "Die Prüfziffer der IBAN stimmt nicht. Bitte vergleichen Sie jede Stelle." in page
    assert 'value="DE89 3704 0044 0532 0130 01"' in page and 'value="Zora Z."' in page
    assert 'aria-invalid="true"' in page
    assert own_mandates(db, person) == []
    page = text_of(grant(client, m, iban="", bic="XYZ"))
    assert "Bitte geben Sie Ihre IBAN an." in page
    page = text_of(grant(client, m, bic="XYZ"))
    assert "Die BIC hat 8 oder 11 Zeichen" in page and 'value="XYZ"' in page


def test_consent_checkbox_is_required(client: FlaskClient, db: Session, citizen: Any) -> None:
    m, person, _claim = citizen
    response = grant(client, m, consent="")
    assert response.status_code == 200
    page = text_of(response)
    assert "Bitte kreuzen Sie an, dass Sie das Mandat erteilen" in page
    assert f'value="{IBAN}"' in page
    assert own_mandates(db, person) == []


def test_foreign_scope_is_refused(
    client: FlaskClient, db: Session, citizen: Any, make: Any
) -> None:
    m, person, _claim = citizen
    stranger = make.person(m)
    account = tax_account(db, stranger, m, ClaimKind.DOG_TAX)
    page = text_of(grant(client, m, scope=str(account.id)))
    assert "Bitte wählen Sie eine der Möglichkeiten." in page
    assert own_mandates(db, person) == []


def test_without_csrf_token_nothing_is_granted(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person, _claim = citizen
    response = client.post(
        f"/{m.slug}/lastschrift/neu",
        data={"scope": "alle", "account_holder": "Zora Zahler", "iban": IBAN, "consent": "y"},
    )
    assert response.status_code == 400
    assert own_mandates(db, person) == []


def test_change_replaces_the_old_mandate(client: FlaskClient, db: Session, citizen: Any) -> None:
    m, person, _claim = citizen
    grant(client, m)
    (old,) = own_mandates(db, person)
    url = f"/{m.slug}/lastschrift/{old.id}/aendern"
    page = text_of(client.get(url))
    assert "Das bisherige Mandat wird ersetzt" in page and old.reference in page
    assert 'name="scope"' not in page  # a change keeps the scope
    response = post_form(
        client, url, {"account_holder": "Zora Zahler", "iban": OTHER_IBAN, "consent": "y"}
    )
    assert response.status_code == 302
    new, replaced = own_mandates(db, person)
    db.refresh(replaced)
    assert new.iban == OTHER_IBAN and new.status is MandateStatus.ACTIVE
    assert new.tax_account_id == replaced.tax_account_id
    assert replaced.status is MandateStatus.REPLACED and replaced.replaced_by_id == new.id
    overview = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert "Frühere Mandate" in overview and "ersetzt" in overview
    assert f"ersetzt durch Mandat {new.reference}" in overview
    # the replaced one can no longer be changed
    assert client.get(f"/{m.slug}/lastschrift/{old.id}/aendern").status_code == 404


def test_revoke_asks_first_then_ends_the_mandate(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person, _claim = citizen
    grant(client, m)
    (mandate,) = own_mandates(db, person)
    url = f"/{m.slug}/lastschrift/{mandate.id}/widerrufen"
    page = text_of(client.get(url))
    assert f"Lastschriftmandat {mandate.reference} widerrufen" in page
    db.refresh(mandate)
    assert mandate.status is MandateStatus.ACTIVE  # the GET only asks
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    response = post_form(client, url, {})
    assert response.status_code == 302
    db.refresh(mandate)
    assert mandate.status is MandateStatus.REVOKED and mandate.ended_on == clock.today()
    overview = text_of(client.get(response.headers["Location"]))
    assert f"Ihr Lastschriftmandat {mandate.reference} ist widerrufen." in overview
    assert "widerrufen" in overview and "Sie haben kein aktives Lastschriftmandat." in overview
    # A second revocation is not offered.
    page = text_of(client.get(url))
    assert "wird nicht mehr verwendet" in page and 'type="submit"' not in page.split("<main")[1]


def test_pdf_download_is_recorded_and_names_the_reference(
    client: FlaskClient, db: Session, citizen: Any, tmp_path: Path
) -> None:
    m, person, _claim = citizen
    grant(client, m)
    (mandate,) = own_mandates(db, person)
    response = client.get(f"/{m.slug}/lastschrift/{mandate.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert f"SEPA-Mandat-{mandate.reference}.pdf" in response.headers["Content-Disposition"]
    assert mandate.document_id is not None
    downloads = archive.downloads_of(db, [mandate.document_id])
    assert len(downloads) == 1
    pdf = tmp_path / "mandat.pdf"
    pdf.write_bytes(response.data)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert mandate.reference in text


def test_announced_collections_are_listed(client: FlaskClient, db: Session, citizen: Any) -> None:
    m, _person, claim = citizen
    grant(client, m)
    today = clock.today()
    collection = next_target_day(today + timedelta(days=20))  # a bank day
    prenotifications.prenotify(db, m, collection_date=collection, as_of=today, actor="test")
    db.flush()
    page = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert "Angekündigte Einzüge" in page
    assert collection.strftime("%d.%m.%Y") in page
    assert format_kassenzeichen(claim.kassenzeichen) in page
    assert "45,00 €" in page


def test_the_account_says_when_an_item_is_debited(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _person, claim = citizen
    grant(client, m)
    today = clock.today()
    collection = next_target_day(today + timedelta(days=20))
    prenotifications.prenotify(db, m, collection_date=collection, as_of=today, actor="test")
    db.flush()
    day = collection.strftime("%d.%m.%Y")
    account = text_of(client.get(f"/{m.slug}/konto"))
    assert f"wird am {day} eingezogen – bitte nicht überweisen" in account
    pay = text_of(client.get(f"/{m.slug}/bezahlen"))  # shown, but not ticked for the card
    assert f"wird am {day} per Lastschrift eingezogen" in pay
    # neither ticked nor tickable: the card would pay what the mandate collects anyway
    assert re.search(rf'value="{claim.id}"\s*disabled>', pay)
    run = debit_runs.create_run(db, m, collection_date=collection, as_of=today, actor="test")
    assert run.run is not None
    db.flush()
    account = text_of(client.get(f"/{m.slug}/konto"))
    assert f"eingezogen am {day}" in account and "bitte nicht überweisen" not in account


def test_another_citizen_cannot_see_change_revoke_or_download(
    client: FlaskClient, db: Session, citizen: Any, make: Any, app: Any
) -> None:
    m, person, _claim = citizen
    grant(client, m)
    (mandate,) = own_mandates(db, person)
    other_user = make.user()
    make.person(m, user=other_user)
    other = app.test_client()
    login(other, m.slug, other_user.email)
    base = f"/{m.slug}/lastschrift/{mandate.id}"
    for path in (base, f"{base}.pdf", f"{base}/aendern", f"{base}/widerrufen"):
        assert other.get(path).status_code == 404, path
    token = csrf_token(other, f"/{m.slug}/lastschrift/neu")
    assert other.post(f"{base}/widerrufen", data={"csrf_token": token}).status_code == 404
    db.refresh(mandate)
    assert mandate.status is MandateStatus.ACTIVE
    assert mandate.reference not in text_of(other.get(f"/{m.slug}/lastschrift"))
    assert mandate.document_id is not None
    assert archive.downloads_of(db, [mandate.document_id]) == []


def test_not_logged_in_goes_to_the_login(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    response = client.get(f"/{m.slug}/lastschrift/neu")
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]


def test_without_sepa_statute_no_grant(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    user = make.user()
    make.person(m, user=user)
    login(client, m.slug, user.email)
    page = text_of(client.get(f"/{m.slug}/lastschrift"))
    assert "bietet das Lastschriftverfahren noch nicht online an" in page
    assert client.get(f"/{m.slug}/lastschrift/neu").status_code == 404
