"""The address-change service in the core: plausibility errors, the review criteria (data per
municipality, created on first use and never overwritten) and carrying it out."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import address as address_services
from core import services
from core.kernel.errors import FieldErrors, ValidationError
from core.persons.models import PersonKind
from core.workflow import criteria
from core.workflow.applications import Application, ApplicationStatus

AS_OF = date(2026, 6, 15)  # the factories' addresses start on 1 March 2026
NEW = {"street": "Lindenweg", "house_number": "3", "postal_code": "12345", "city": "Teststadt"}


@pytest.fixture
def setup(make: Any) -> Any:
    m = make.municipality()  # postal code 12345
    return m, make.person(m)


def submit(db: Session, m: Any, person: Any, **kw: Any) -> Application:
    return address_services.submit_address_change(
        db,
        person=person,
        municipality=m,
        new=kw.pop("new", NEW),
        valid_from=kw.pop("valid_from", date(2026, 6, 1)),
        as_of=kw.pop("as_of", AS_OF),
        actor="test",
    )


def test_straight_through_changes_the_address(db: Session, setup: Any) -> None:
    m, person = setup
    application = submit(db, m, person, new={**NEW, "street": "  Lindenweg  "})
    assert application.status is ApplicationStatus.APPROVED
    assert application.data["from"] == "2026-06-01" and "address_id" in application.data
    current = person.address_on(AS_OF)
    assert current is not None and current.one_line() == "Lindenweg 3, 12345 Teststadt"
    before = person.address_on(date(2026, 5, 31))
    assert before is not None and before.valid_to == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"new": {**NEW, "postal_code": "99999"}}, "außerhalb der Kommune"),
        ({"valid_from": date(2026, 3, 2), "as_of": date(2026, 7, 1)}, "mehr als 3 Monate zurück"),
    ],
)
def test_criteria_send_it_to_a_clerk(db: Session, setup: Any, kw: Any, reason: str) -> None:
    m, person = setup
    application = submit(db, m, person, **kw)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert any(reason in r for r in application.review_reasons), application.review_reasons
    assert len(person.addresses) == 1
    services.approve(db, application, as_of=AS_OF, actor="clerk")
    assert application.status is ApplicationStatus.APPROVED
    assert len(person.addresses) == 2


def test_business_accounts_are_reviewed(db: Session, make: Any) -> None:
    m = make.municipality()
    firm = make.person(m, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    application = submit(db, m, firm)
    assert application.review_reasons == ["Konto eines Unternehmens"]


def test_a_criterion_switched_off_stays_off(db: Session, setup: Any) -> None:
    m, person = setup
    criteria.ensure_criteria(db, m.id, address_services.DEFAULT_CRITERIA)
    outside = criteria.criteria_for(db, m.id, address_services.SERVICE_ADDRESS_CHANGE)["outside"]
    criteria.update_criterion(db, outside, enabled=False, parameter=None, actor="clerk")
    application = submit(db, m, person, new={**NEW, "postal_code": "99999"})
    assert application.status is ApplicationStatus.APPROVED
    assert outside.enabled is False


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"new": {**NEW, "street": " "}}, "street", "Bitte geben Sie die Straße an."),
        ({"new": {**NEW, "house_number": ""}}, "house_number", "Hausnummer"),
        ({"new": {**NEW, "city": ""}}, "city", "Bitte geben Sie den Ort an."),
        ({"new": {**NEW, "postal_code": "1234a"}}, "postal_code", "fünf Ziffern"),
        ({"new": {**NEW, "street": "x" * 121}}, "street", "höchstens 120 Zeichen"),
        ({"valid_from": date(2026, 9, 16)}, "valid_from", "höchstens 3 Monate in der Zukunft"),
        ({"valid_from": date(2026, 3, 1)}, "valid_from", "bisherigen Anschrift (01.03.2026)"),
    ],
)
def test_plausibility_errors(db: Session, setup: Any, kw: Any, field: str, message: str) -> None:
    m, person = setup
    with pytest.raises(FieldErrors) as caught:
        submit(db, m, person, **kw)
    assert message in caught.value.errors[field]


def test_the_same_address_again_is_refused(db: Session, setup: Any) -> None:
    m, person = setup
    submit(db, m, person)
    with pytest.raises(FieldErrors) as caught:
        submit(db, m, person, valid_from=date(2026, 6, 10))
    assert caught.value.errors == {"street": "Das ist bereits Ihre Anschrift."}


def test_approval_after_a_later_change_is_refused(db: Session, setup: Any) -> None:
    m, person = setup
    waiting = submit(db, m, person, new={**NEW, "postal_code": "99999"})
    submit(db, m, person, valid_from=date(2026, 6, 5))  # straight through meanwhile
    with pytest.raises(ValidationError):
        services.approve(db, waiting, as_of=AS_OF, actor="clerk")
