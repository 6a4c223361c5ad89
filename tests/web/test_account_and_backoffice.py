"""The citizen account page and the clerk's person account, through the Flask test client."""

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.references import format_kassenzeichen
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from tests.conftest import login, staff_login


def test_account_lists_open_and_paid_items_with_kassenzeichen(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    u = make.user()
    p = make.person(m, user=u)
    open_claim = make.claim(
        m, p, amount=13525, description="Hundesteuer 2026, Rate 1", due=date(2020, 2, 15)
    )
    paid = make.claim(
        m, p, amount=3918, kind=ClaimKind.WASTE_FEE, description="Abfallgebühren 2026, Rate 1"
    )
    record_payment(
        db,
        person=p,
        amount_cents=3918,
        received_on=date(2026, 2, 1),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 2, 1),
        actor="test",
        kassenzeichen=paid.kassenzeichen,
    )
    db.commit()
    login(client, m.slug, u.email)
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    offen, bezahlt = page.split('id="bezahlt"')
    assert "Offen insgesamt" in offen and "135,25 €" in offen
    assert format_kassenzeichen(open_claim.kassenzeichen) in offen
    assert "15.02.2020" in offen and "überfällig" in offen
    assert "Abfallgebühren 2026, Rate 1" in bezahlt and "39,18 €" in bezahlt


def test_clerk_sees_claims_payments_postings_and_audit_trail(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    p = make.person(m, family_name="Quast")
    c = make.claim(m, p, amount=5000)
    record_payment(
        db,
        person=p,
        amount_cents=6000,
        received_on=date(2026, 3, 2),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 3, 2),
        actor="test",
        reference_text="Hundesteuer Quast",
    )
    db.commit()
    staff_login(client, clerk.email)
    search = client.get("/backoffice/personen?q=quast").get_data(as_text=True)
    assert "1 Treffer" in search
    page = client.get(f"/backoffice/personen/{p.id}").get_data(as_text=True)
    assert format_kassenzeichen(c.kassenzeichen) in page
    assert "Hundesteuer Quast" in page and "60,00 €" in page
    assert "Guthaben" in page and "10,00 €" in page
    assert "4010" in page and "1800" in page  # postings with their accounts
    assert "person.created" in page  # audit trail


def test_back_office_requires_staff_login(client: FlaskClient) -> None:
    response = client.get("/backoffice/personen")
    assert response.status_code == 302
    assert "/backoffice/anmelden" in response.headers["Location"]
