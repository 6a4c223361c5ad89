"""The citizen's dunning letters in the account (portal.ledger, portal.dunning): each dunned
claim's card says its level, fee and surcharges and why; the letters are listed with their
download, which is recorded and only ever hands out the citizen's own booked letter (404 for
anyone else's, a preview's or another municipality's); the signed link on the paper shows what
is still open and nothing personal. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.dunning import booking, letters, runs
from core.dunning.models import DunningLetter, DunningRun
from core.kernel import archive
from core.notices.records import NoticeSettings
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests.conftest import login, readable
from tests.e2e.helpers import tamper

RUN_1 = date(2026, 3, 16)
RUN_2 = date(2026, 3, 30)
DUE = date(2026, 2, 15)


def _book(db: Session, m: Municipality, day: date) -> DunningRun:
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    return run


def _dunned(db: Session, make: Any) -> dict[str, Any]:
    """Anna and Bert, each with a tax dunned twice (Zahlungserinnerung, then Mahnung); a third
    claim of Anna's in an open preview."""
    m = make.municipality()
    make.dunning_statute(m)
    anna_user, bert_user = make.user(), make.user()
    anna, bert = make.person(m, user=anna_user), make.person(m, user=bert_user)
    tax = make.claim(m, anna, amount=123456, due=DUE, description="Hundesteuer 2026")
    make.claim(m, bert, amount=50000, due=DUE)
    _book(db, m, RUN_1)
    second = _book(db, m, RUN_2)
    make.claim(m, anna, amount=20000, due=date(2026, 3, 20), description="Abfall 2026")
    preview = runs.preview(db, m, date(2026, 4, 20), "user:1")
    by_person = {lt.person_id: lt for lt in runs.letters_of(db, second)}
    previewed = next(lt for lt in runs.letters_of(db, preview) if lt.person_id == anna.id)
    db.commit()
    return {
        "m": m,
        "anna": anna_user,
        "tax": tax,
        "mine": by_person[anna.id],
        "bert": by_person[bert.id],
        "preview": previewed,
    }


def test_account_shows_level_fee_surcharges_and_letters(
    client: FlaskClient, db: Session, make: Any
) -> None:
    s = _dunned(db, make)
    login(client, s["m"].slug, s["anna"].email)
    page = client.get(f"/{s['m'].slug}/konto").get_data(as_text=True)

    assert 'id="mahnschreiben"' in page
    letters_part = page.split('id="mahnschreiben"')[1].split('id="offen"')[0]
    assert "Mahnung vom 30.03.2026 (PDF)" in letters_part
    assert "Zahlungserinnerung vom 16.03.2026 (PDF)" in letters_part
    assert "1.246,56 € zu zahlen bis 27.03.2026" in letters_part  # 1,234.56 + 12
    assert "1.263,56 € zu zahlen bis 14.04.2026" in letters_part  # 1,234.56 + 17 + 12
    assert f"/konto/mahnschreiben/{s['mine'].id}.pdf" in letters_part
    assert f"/konto/mahnschreiben/{s['bert'].id}.pdf" not in page
    assert f"/konto/mahnschreiben/{s['preview'].id}.pdf" not in page
    card = page.split("Hundesteuer 2026")[0].rsplit("<li", 1)[1]
    assert "Mahnung vom 30.03.2026" in card
    # the fee of the Mahnung and the surcharges of both letters (12 € each)
    assert "Mahngebühr 17,00 €, Säumniszuschläge 24,00 € (§ 240 AO)" in card


def test_download_is_recorded_and_only_of_ones_own_booked_letter(
    client: FlaskClient, db: Session, make: Any
) -> None:
    s = _dunned(db, make)
    slug = s["m"].slug
    assert client.get(f"/{slug}/konto/mahnschreiben/{s['mine'].id}.pdf").status_code == 302
    login(client, slug, s["anna"].email)

    response = client.get(f"/{slug}/konto/mahnschreiben/{s['mine'].id}.pdf")
    again = client.get(f"/{slug}/konto/mahnschreiben/{s['mine'].id}.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and again.data == response.data
    assert "attachment" in response.headers["Content-Disposition"]
    db.expire_all()
    document_id = letters.document_id_of(db, s["mine"].id)
    assert document_id is not None
    assert len(archive.downloads_of(db, [document_id])) == 2
    for other in (s["bert"].id, s["preview"].id, 999999):
        assert client.get(f"/{slug}/konto/mahnschreiben/{other}.pdf").status_code == 404
    assert letters.document_id_of(db, s["bert"].id) is None  # nothing rendered for a refusal
    elsewhere = make.municipality()
    db.commit()
    assert client.get(f"/{elsewhere.slug}/konto/mahnschreiben/{s['mine'].id}.pdf").status_code in (
        302,
        404,
    )


def test_signed_link_shows_what_is_open_without_personal_data(
    app: Flask, client: FlaskClient, db: Session, make: Any
) -> None:
    s = _dunned(db, make)
    letter = db.get_one(DunningLetter, s["mine"].id)
    settings = NoticeSettings(app.config["SECRET_KEY"], app.config["PUBLIC_BASE_URL"])
    token = letters.link_token(settings, letter)
    slug = s["m"].slug

    page = client.get(f"/{slug}/mahnschreiben/{token}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Mahnung vom 30.03.2026" in text and "GiroCode" in text
    # open now of this letter: the tax, its fee and its surcharges (the first letter's are its own)
    assert "1.263,56 €" in text  # 1,234.56 + 17 + 12
    person = db.get_one(Person, letter.person_id)
    visible = readable(text, token)
    assert person.family_name not in visible and "Weg" not in visible  # no name, no address
    assert client.get(f"/{slug}/mahnschreiben/{tamper(token)}").status_code == 404
    elsewhere = make.municipality()
    db.commit()
    assert client.get(f"/{elsewhere.slug}/mahnschreiben/{token}").status_code == 404
