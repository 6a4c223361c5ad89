"""The property-tax notice in the citizen's account (Flask test client): listed with the
other notices, its PDF for its owner only; another person's is not found."""

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.levies.basis_notices import imports
from core.levies.property_tax import assessment as property_tax
from core.notices.records import notices_of
from tests.basis_notice_files import delivery, plot
from tests.conftest import login
from tests.integration.test_property_tax_levy import enact


def test_the_owner_sees_the_notice_and_its_pdf_others_do_not(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    enact(db, m)
    user = make.user()
    owner = make.person(m, user=user, family_name="Grundmann")
    other = make.person(m, family_name="Fremd")
    data = delivery(
        plot(m, person_number=owner.number),
        plot(m, "3150/123/9999", person_number=other.number),
    )
    imports.import_file(db, m, data, filename="a.xml", actor="test")
    property_tax.assess_all(db, municipality=m, year=2026, as_of=date(2026, 1, 10), actor="t")
    db.commit()
    login(client, m.slug, user.email)
    page = client.get(f"/{m.slug}/bescheide").get_data(as_text=True)
    assert "Bescheid über die Festsetzung der Grundsteuer 2026" in page
    [mine] = notices_of(db, owner.id, m.id)
    pdf = client.get(f"/{m.slug}/bescheide/{mine.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    [theirs] = notices_of(db, other.id, m.id)
    assert client.get(f"/{m.slug}/bescheide/{theirs.id}.pdf").status_code == 404
