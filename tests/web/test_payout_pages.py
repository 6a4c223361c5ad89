"""The back office's payout screens (backoffice.payments.payouts): a clerk records a person's
payout account (German IBAN message on a typo) and prepares a run; the same clerk may not
approve it (four eyes), a second one does; the file downloads (recorded); the person page and
the citizen's account show the payout with a masked IBAN; another municipality's run is not
found. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.audit import AuditEvent
from core.ledger.balances import credit_balance
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.payouts.accounts import payout_target
from core.payments.payouts.models import PayoutRun
from core.payments.payouts.pain001 import validate
from tests.conftest import csrf_token, login, post_form, staff_login

RUNS = "/backoffice/auszahlungen"
DAY = date(2026, 3, 1)


def _clerk(app: Flask, make: Any, m: Any) -> FlaskClient:
    user = make.user(role=Role.CLERK, municipality=m)
    client = app.test_client()
    staff_login(client, user.email)
    return client


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def _act(client: FlaskClient, page: str, url: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, page)})


def test_account_run_four_eyes_file_and_account_pages(app: Flask, db: Session, make: Any) -> None:
    m = make.municipality()
    email = "erika@test.example"
    erika = make.person(m, user=make.user(email=email), family_name="Mustermann")
    record_payment(
        db,
        person=erika,
        amount_cents=2550,
        channel=PaymentChannel.BANK_TRANSFER,
        received_on=DAY,
        as_of=DAY,
        actor="test",
    )
    first, second = _clerk(app, make, m), _clerk(app, make, m)
    db.commit()

    form = f"/backoffice/personen/{erika.id}/auszahlungskonto"
    typo = post_form(
        first, form, {"account_holder": "Erika Mustermann", "iban": "DE02120300000000202052"}
    )
    assert typo.status_code == 422 and "Prüfziffer" in html.unescape(typo.get_data(as_text=True))
    saved = post_form(
        first, form, {"account_holder": "Erika Mustermann", "iban": "DE02 1203 0000 0000 2020 51"}
    )
    assert saved.status_code == 302

    made = post_form(first, RUNS, {"as_of": "2026-03-01"})
    assert made.status_code == 302, made.get_data(as_text=True)
    run_url = made.headers["Location"]
    page = _page(first, run_url)
    assert "Mustermann" in page and "25,50" in page and "DE02 **** **** 2051" in page

    _act(first, run_url, f"{run_url}/freigeben")
    assert "Vier-Augen-Prinzip" in _page(first, run_url)
    db.expire_all()
    assert credit_balance(db, erika) == 2550

    done = _act(second, run_url, f"{run_url}/freigeben")
    assert done.status_code == 302
    page = _page(second, run_url)
    assert "1 Auszahlungen gebucht" in page and "datei.xml" in page
    listed = _page(second, RUNS)  # the runs list: amount, who prepared and who approved, when
    row = re.search(r"<tr class=\"kern-table__row\">\s*<td[^>]*><a[^>]*>Nr\..*?</tr>", listed, re.S)
    assert row, listed
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
    assert len(cells) == 5 and "zum 01.03.2026" in cells[0] and "25,50" in cells[2], cells
    assert " von " in cells[3] and " von " in cells[4] and cells[3] != cells[4], cells
    db.expire_all()
    assert credit_balance(db, erika) == 0

    download = second.get(f"{run_url}/datei.xml")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    validate(download.data)
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "payout_run.downloaded"))

    page = html.unescape(
        second.post(
            f"{run_url}/belastung",
            data={"csrf_token": csrf_token(second, run_url), "debited_on": "2026-03-02"},
            follow_redirects=True,
        ).get_data(as_text=True)
    )
    assert "am 02.03.2026 belastet" in page

    person_page = _page(second, f"/backoffice/personen/{erika.id}")
    assert re.search(r"Auszahlungen.*DE02 \*{4} \*{4} 2051.*25,50", person_page, re.S)

    citizen = app.test_client()
    login(citizen, m.slug, email)
    account = _page(citizen, f"/{m.slug}/konto")
    assert re.search(
        r"Auszahlung von\s*<span[^>]*>25,50\s€</span> am 01\.03\.2026 auf IBAN", account
    )
    assert "DE… ••2051" in account and "DE02120300000000202051" not in account


def test_other_municipality_and_bad_input(app: Flask, db: Session, make: Any) -> None:
    m, other = make.municipality(), make.municipality()
    stranger = make.person(other)
    clerk = _clerk(app, make, m)
    db.commit()
    bad = post_form(clerk, RUNS, {"as_of": "kein Datum"})
    assert bad.status_code == 422
    assert clerk.get(f"/backoffice/personen/{stranger.id}/auszahlungskonto").status_code == 404
    foreign = _clerk(app, make, other)
    db.commit()
    made = post_form(foreign, RUNS, {"as_of": "2026-03-01"})
    assert made.status_code == 302
    run_id = db.scalars(select(PayoutRun.id).where(PayoutRun.municipality_id == other.id)).one()
    assert clerk.get(f"{RUNS}/{run_id}").status_code == 404
    assert clerk.get(f"{RUNS}/{run_id}/datei.xml").status_code == 404
    assert clerk.get(f"{RUNS}/99999999999").status_code == 404
    assert clerk.post(f"{RUNS}/{run_id}/freigeben").status_code in (400, 404)


def test_the_citizen_names_the_payout_account(app: Flask, db: Session, make: Any) -> None:
    m = make.municipality()
    email = "max@test.example"
    max_ = make.person(m, user=make.user(email=email), family_name="Muster")
    record_payment(
        db,
        person=max_,
        amount_cents=900,
        channel=PaymentChannel.BANK_TRANSFER,
        received_on=DAY,
        as_of=DAY,
        actor="test",
    )
    db.commit()
    citizen = app.test_client()
    login(citizen, m.slug, email)
    assert "Bankverbindung für Auszahlungen angeben" in _page(citizen, f"/{m.slug}/konto")
    url = f"/{m.slug}/konto/auszahlungskonto"
    assert "Zurzeit ist uns kein Konto bekannt" in _page(citizen, url)
    typo = post_form(citizen, url, {"account_holder": "Max Muster", "iban": "DE021203"})
    assert typo.status_code == 422
    assert "nicht die richtige Länge" in html.unescape(typo.get_data(as_text=True))
    saved = post_form(
        citizen, url, {"account_holder": "Max Muster", "iban": "DE02120300000000202051"}
    )
    assert saved.status_code == 302
    db.expire_all()
    target = payout_target(db, max_)
    assert target is not None and target.iban == "DE02120300000000202051"
    assert "DE02 **** **** 2051" in _page(citizen, url)
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "payout_account.recorded")
    ).one()
    assert event.actor != "test"
