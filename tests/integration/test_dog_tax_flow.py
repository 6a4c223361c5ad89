"""Dog tax end to end in the core: applications, criteria, assessment, notices, ledger."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import archive
from core.kernel.errors import FieldErrors, IllegalTransition, NotFound
from core.ledger.balances import credit_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.queries import claims_of
from core.ledger.receipts import record_payment
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.dog_tax.models import Dog, DogStatus, EndReason, dogs_of
from core.levies.dog_tax.services import (
    Deregistration,
    Registration,
    order_replacement_tag,
    report_lost_tag,
    submit_deregistration,
    submit_registration,
)
from core.notices.records import (
    Notice,
    NoticeSettings,
    ensure_document,
    notice_from_token,
    notices_of,
)
from core.services import approve
from core.workflow.applications import Application, ApplicationStatus, review_queue
from core.workflow.review import reject, request_information

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    make.dog_tax_statute(m)
    return m


def register(db: Session, town: Any, person: Any, *, as_of: date = JAN, **kw: Any) -> Application:
    values = {
        "name": "Bello",
        "breed": "Labrador Retriever",
        "born_on": date(2022, 1, 1),
        "acquired_on": date(2025, 12, 1),
        "chip_number": "276098100000001",
    }
    values.update(kw)
    return submit_registration(
        db,
        person=person,
        municipality=town,
        registration=Registration(**values),
        as_of=as_of,
        actor="test",
    )


def dog_claims(db: Session, person: Any) -> list[Claim]:
    return list(
        db.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == ClaimKind.DOG_TAX)
            .order_by(Claim.due_date, Claim.id)
        )
    )


def test_plain_registration_goes_straight_through_with_a_notice(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town)
    application = register(db, town, owner)
    assert application.status is ApplicationStatus.APPROVED
    assert application.decided_by == "system:auto"
    [dog] = dogs_of(db, owner.id, town.id)
    assert dog.status is DogStatus.ACTIVE and dog.tag_number == 1 and not dog.dangerous
    [notice] = notices_of(db, owner.id, town.id)
    assert notice.title == "Bescheid über die Festsetzung der Hundesteuer 2026"
    assert notice.total_cents == 9600 and notice.previous_cents == 0
    claims = dog_claims(db, owner)
    assert [(c.due_date, c.amount_cents) for c in claims] == [
        (date(2026, 2, 15), 2400),
        (date(2026, 5, 15), 2400),
        (date(2026, 8, 15), 2400),
        (date(2026, 11, 15), 2400),
    ]
    assert len({c.kassenzeichen for c in claims}) == 1 == len({notice.kassenzeichen})
    assert all(c.notice_id == notice.id for c in claims)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"breed": "Rottweiler"}, "gefährlicher Hunde"),
        ({"exemption_code": "assistance"}, "Steuerbefreiung"),
        ({"acquired_on": date(2025, 6, 1)}, "rückwirkend"),
    ],
)
def test_criteria_send_applications_to_a_clerk(
    db: Session, make: Any, town: Any, changes: dict[str, Any], reason: str
) -> None:
    owner = make.person(town)
    application = register(db, town, owner, **changes)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert any(reason in r for r in application.review_reasons)
    assert application in review_queue(db, town.id)
    assert dogs_of(db, owner.id, town.id) == []  # nothing happens before the decision
    approve(db, application, as_of=JAN, actor="user:clerk")
    assert application.status is ApplicationStatus.APPROVED
    assert application not in review_queue(db, town.id)
    assert len(dogs_of(db, owner.id, town.id)) == 1


def test_listed_breed_is_taxed_at_the_dangerous_rate(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    approve(db, register(db, town, owner, breed="Rottweiler"), as_of=JAN, actor="user:clerk")
    [dog] = dogs_of(db, owner.id, town.id)
    assert dog.dangerous
    assert notices_of(db, owner.id, town.id)[0].total_cents == 60000


def test_backdated_registration_assesses_last_year_too(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    approve(
        db, register(db, town, owner, acquired_on=date(2025, 6, 20)), as_of=JAN, actor="user:clerk"
    )
    years = sorted(n.year for n in notices_of(db, owner.id, town.id))
    assert years == [2025, 2026]
    last_year = [c for c in dog_claims(db, owner) if c.assessment_key.startswith("dog_tax:2025")]
    # July–December 2025 = 6/12 of 96 €; passed due dates move to one month after the notice
    assert sum(c.amount_cents for c in last_year) == 4800
    assert {c.due_date for c in last_year} == {date(2026, 2, 10)}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"chip_number": "12345"}, "chip_number"),
        ({"acquired_on": date(2026, 3, 1)}, "acquired_on"),  # too far in the future
        ({"born_on": date(2026, 1, 1), "acquired_on": date(2025, 12, 1)}, "acquired_on"),
        ({"exemption_code": "erfunden"}, "exemption_code"),
        ({"name": " "}, "name"),
    ],
)
def test_implausible_registrations_are_refused_and_nothing_is_saved(
    db: Session, make: Any, town: Any, changes: dict[str, Any], field: str
) -> None:
    owner = make.person(town)
    with pytest.raises(FieldErrors) as info:
        register(db, town, owner, **changes)
    assert field in info.value.errors
    assert (
        db.scalar(select(func.count(Application.id)).where(Application.person_id == owner.id)) == 0
    )


def test_deregistration_mid_year_turns_the_paid_surplus_into_credit(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town)
    register(db, town, owner)
    record_payment(
        db,
        person=owner,
        amount_cents=9600,
        received_on=date(2026, 2, 1),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 2, 1),
        actor="test",
        kassenzeichen=dog_claims(db, owner)[0].kassenzeichen,
    )
    [dog] = dogs_of(db, owner.id, town.id)
    application = submit_deregistration(
        db,
        person=owner,
        municipality=town,
        as_of=date(2026, 6, 20),
        actor="test",
        deregistration=Deregistration(dog.id, EndReason.DIED, date(2026, 6, 10)),
    )
    assert application.status is ApplicationStatus.APPROVED
    assert dog.status is DogStatus.ENDED and dog.ended_on == date(2026, 6, 10)
    change = notices_of(db, owner.id, town.id)[0]
    assert change.title.startswith("Änderungsbescheid")
    assert (change.previous_cents, change.total_cents) == (9600, 4800)  # January–June
    assert credit_balance(db, owner) == 4800
    assert sum(v.open_cents for v in claims_of(db, owner)) == 0


def test_deregistration_before_registration_is_refused(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    register(db, town, owner)
    [dog] = dogs_of(db, owner.id, town.id)
    with pytest.raises(FieldErrors) as info:
        submit_deregistration(
            db,
            person=owner,
            municipality=town,
            as_of=JAN,
            actor="test",
            deregistration=Deregistration(
                dog.id, EndReason.SOLD, date(2025, 11, 1), "Neue Halterin"
            ),
        )
    assert "vor der Anmeldung" in info.value.errors["ended_on"]
    with pytest.raises(FieldErrors) as info:
        submit_deregistration(
            db,
            person=owner,
            municipality=town,
            as_of=JAN,
            actor="test",
            deregistration=Deregistration(dog.id, EndReason.SOLD, date(2026, 1, 5)),
        )
    assert "new_owner" in info.value.errors


def test_a_second_dog_books_only_the_difference(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    register(db, town, owner)
    register(
        db,
        town,
        owner,
        name="Luna",
        acquired_on=date(2026, 3, 17),
        chip_number="276098100000002",
        as_of=date(2026, 3, 22),
    )
    change = notices_of(db, owner.id, town.id)[0]
    # Luna from April as second dog: 9/12 of 132 € = 99 €
    assert (change.previous_cents, change.total_cents) == (9600, 19500)
    new_claims = [c for c in dog_claims(db, owner) if c.notice_id == change.id]
    assert sum(c.amount_cents for c in new_claims) == 9900
    assert change.data["payable_cents"] == 9900


def test_annual_run_is_idempotent(db: Session, make: Any, town: Any) -> None:
    owners = [make.person(town) for _ in range(3)]
    for i, owner in enumerate(owners):
        db.add(
            Dog(
                municipality_id=town.id,
                person_id=owner.id,
                name=f"Hund {i}",
                breed="Mischling",
                acquired_on=date(2024, 1, 1),
                tag_number=100 + i,
                status=DogStatus.ACTIVE,
            )
        )
    db.flush()
    first = dog_tax_run.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="cli")
    assert (first.persons, first.notices) == (3, 3)
    claims_before = db.scalar(select(func.count(Claim.id)))
    second = dog_tax_run.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="cli")
    assert second.notices == 0
    assert db.scalar(select(func.count(Claim.id))) == claims_before


def test_lost_tag_and_replacement_with_fee(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    register(db, town, owner)
    [dog] = dogs_of(db, owner.id, town.id)
    report_lost_tag(
        db,
        person=owner,
        municipality=town,
        dog_id=dog.id,
        lost_on=date(2026, 1, 8),
        as_of=JAN,
        actor="test",
    )
    assert dog.tag_lost_on == date(2026, 1, 8)
    application = order_replacement_tag(
        db, person=owner, municipality=town, dog_id=dog.id, as_of=JAN, actor="test"
    )
    assert dog.tag_number == 2 and dog.tag_lost_on is None
    assert application.data["new_tag_number"] == 2
    fee = db.scalars(
        select(Claim).where(Claim.kind == ClaimKind.ADMIN_FEE, Claim.person_id == owner.id)
    ).one()
    assert fee.amount_cents == 500


def test_clerk_decisions_follow_the_state_machine(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    application = register(db, town, owner, breed="Rottweiler")
    request_information(
        db, application, question="Bitte Sachkundenachweis hochladen.", actor="user:clerk"
    )
    assert application.status is ApplicationStatus.INFO_REQUESTED
    reject(db, application, reason="Nachweis fehlt.", actor="user:clerk")
    assert application.message == "Nachweis fehlt."
    with pytest.raises(IllegalTransition):
        approve(db, application, as_of=JAN, actor="user:clerk")
    assert dogs_of(db, owner.id, town.id) == []


def test_notice_pdf_is_archived_with_its_hash_and_downloads_are_recorded(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town)
    register(db, town, owner)
    [notice] = notices_of(db, owner.id, town.id)
    document = ensure_document(db, notice, SETTINGS, actor="test")
    assert document.content.startswith(b"%PDF")
    assert len(document.sha256) == 64
    assert ensure_document(db, notice, SETTINGS, actor="test").id == document.id  # stored once
    archive.record_download(db, document, user_id=None, actor="test")
    assert len(archive.downloads_of(db, [document.id])) == 1


def test_signed_link_finds_the_notice_only_in_its_municipality(
    db: Session, make: Any, town: Any
) -> None:
    from core.kernel.clock import now
    from core.notices.records import link_token

    owner = make.person(town)
    register(db, town, owner)
    [notice] = notices_of(db, owner.id, town.id)
    token = link_token(SETTINGS, notice)
    assert notice_from_token(db, SETTINGS, town.id, token, now=now()).id == notice.id
    other = make.municipality()
    with pytest.raises(NotFound):
        notice_from_token(db, SETTINGS, other.id, token, now=now())
    assert db.get(Notice, notice.id) is not None


def test_signed_link_is_valid_at_once_whatever_the_notice_date(
    db: Session, make: Any, town: Any
) -> None:
    """Regression: the link was dated midnight UTC of the notice date, which lies in the future
    during the first hours of a German day (and for notices dated ahead)."""
    from datetime import timedelta

    from core.notices.records import link_token

    owner = make.person(town)
    register(db, town, owner, as_of=date(2030, 1, 10), acquired_on=date(2029, 12, 20))
    [notice] = [n for n in notices_of(db, owner.id, town.id) if n.year == 2030]
    token = link_token(SETTINGS, notice)
    just_after = notice.created_at + timedelta(seconds=1)
    assert notice_from_token(db, SETTINGS, town.id, token, now=just_after).id == notice.id
