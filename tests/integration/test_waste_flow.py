"""Waste fees end to end in the core: bin applications, criteria, work orders, assessment,
notices, ledger."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import FieldErrors, IllegalTransition, NotFound
from core.ledger.balances import credit_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.queries import claims_of
from core.ledger.receipts import record_payment
from core.levies.waste import assessment as waste_fee_run
from core.levies.waste.models import WasteBin, WorkOrderKind, WorkOrderStatus, bins_of, work_orders
from core.levies.waste.services import (
    BinRegistration,
    mark_done,
    report_damaged,
    submit_change,
    submit_deregistration,
    submit_registration,
)
from core.notices.records import NoticeSettings, ensure_document, notices_of
from core.services import approve
from core.workflow.applications import Application, ApplicationStatus, review_queue

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)
YEAR_120 = (3 * 230 + 616) * 12  # DOMAIN.md: 3 residents, one 120 l fortnightly = 156.72 €


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    make.waste_statute(m)
    return m


@pytest.fixture
def owner(make: Any, town: Any) -> Any:
    return make.person(town)


@pytest.fixture
def prop(make: Any, town: Any, owner: Any) -> Any:
    return make.waste_property(town, owner, residents=3)


def register(
    db: Session, town: Any, owner: Any, prop: Any, *, as_of: date = JAN, **kw: Any
) -> Application:
    values: dict[str, Any] = {
        "property_id": prop.id,
        "litres": 120,
        "rhythm": "fortnightly",
        "start": date(2025, 12, 1),
    }
    values.update(kw)
    return submit_registration(
        db,
        person=owner,
        municipality=town,
        registration=BinRegistration(**values),
        as_of=as_of,
        actor="test",
    )


def waste_claims(db: Session, person: Any) -> list[Claim]:
    return list(
        db.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == ClaimKind.WASTE_FEE)
            .order_by(Claim.due_date, Claim.id)
        )
    )


def test_registration_delivers_a_bin_and_issues_a_notice(
    db: Session, town: Any, owner: Any, prop: Any
) -> None:
    application = register(db, town, owner, prop)
    assert application.status is ApplicationStatus.APPROVED
    [waste_bin] = bins_of(db, [prop.id])
    assert (waste_bin.number, waste_bin.litres, waste_bin.end) == (1, 120, None)
    [order] = work_orders(db, town.id)
    assert (order.kind, order.bin_id, order.due_on) == (WorkOrderKind.DELIVER, waste_bin.id, JAN)
    [notice] = notices_of(db, owner.id, town.id)
    assert notice.title == "Bescheid über Abfallgebühren 2026"
    assert notice.total_cents == YEAR_120 == 15672
    claims = waste_claims(db, owner)
    assert [(c.due_date, c.amount_cents) for c in claims] == [
        (date(2026, 2, 15), 3918),
        (date(2026, 5, 15), 3918),
        (date(2026, 8, 15), 3918),
        (date(2026, 11, 15), 3918),
    ]
    assert all(c.notice_id == notice.id and c.kassenzeichen == notice.kassenzeichen for c in claims)
    assert all(c.assessment_key.startswith(f"waste_fee:2026:{prop.id}:") for c in claims)
    assert [row["description"] for row in notice.data["lines"]] == [
        f"Grundgebühr {prop.label} (3 Personen)",
        "Behälter Nr. 1 (120 l, 14-täglich)",
    ]
    assert sum(r["amount_cents"] for r in notice.data["instalments"]) == 15672
    assert ensure_document(db, notice, SETTINGS, actor="test").content.startswith(b"%PDF")


def test_change_mid_year_books_only_the_difference(
    db: Session, town: Any, owner: Any, prop: Any
) -> None:
    register(db, town, owner, prop)
    [old] = bins_of(db, [prop.id])
    application = submit_change(
        db,
        person=owner,
        municipality=town,
        bin_id=old.id,
        litres=240,
        rhythm="fortnightly",
        change_from=date(2026, 7, 1),
        as_of=date(2026, 6, 20),
        actor="test",
    )
    assert application.status is ApplicationStatus.APPROVED
    assert old.end == date(2026, 6, 30)  # the day before the new bin
    new = db.get_one(WasteBin, application.data["new_bin_id"])
    assert (new.litres, new.start, new.end) == (240, date(2026, 7, 1), None)
    kinds = {(o.kind, o.bin_id) for o in work_orders(db, town.id)}
    assert {(WorkOrderKind.PICK_UP, old.id), (WorkOrderKind.DELIVER, new.id)} <= kinds
    change = notices_of(db, owner.id, town.id)[0]
    assert change.title == "Änderungsbescheid über Abfallgebühren 2026"
    # base all year, 120 l January–June, 240 l from July: a change is charged without a gap
    # (only a first bin waits for the month after delivery)
    total = 3 * 230 * 12 + 616 * 6 + 1232 * 6
    assert (change.previous_cents, change.total_cents) == (15672, total)
    claims = waste_claims(db, owner)
    assert sum(c.amount_cents for c in claims) == total
    assert [c.amount_cents for c in claims if c.notice_id == change.id] == [1848, 1848]


def test_swap_creates_a_work_order_and_no_fee_change(
    db: Session, town: Any, owner: Any, prop: Any
) -> None:
    register(db, town, owner, prop)
    [waste_bin] = bins_of(db, [prop.id])
    application = report_damaged(
        db,
        person=owner,
        municipality=town,
        bin_id=waste_bin.id,
        note="Deckel abgebrochen",
        as_of=date(2026, 4, 2),
        actor="test",
    )
    assert application.status is ApplicationStatus.APPROVED
    swap = [o for o in work_orders(db, town.id) if o.kind is WorkOrderKind.SWAP]
    assert [(o.bin_id, o.due_on) for o in swap] == [(waste_bin.id, date(2026, 4, 2))]
    assert len(notices_of(db, owner.id, town.id)) == 1
    assert sum(c.amount_cents for c in waste_claims(db, owner)) == YEAR_120
    mark_done(db, swap[0], actor="user:clerk")
    assert swap[0].status is WorkOrderStatus.DONE and swap[0].done_by == "user:clerk"
    with pytest.raises(IllegalTransition):
        mark_done(db, swap[0], actor="user:clerk")


def test_deregistration_reduces_and_turns_the_paid_surplus_into_credit(
    db: Session, make: Any, town: Any, owner: Any
) -> None:
    prop = make.waste_property(town, owner, residents=0)  # no base fee: only the bin
    register(db, town, owner, prop)
    record_payment(
        db,
        person=owner,
        amount_cents=2 * 1848,
        received_on=date(2026, 2, 1),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 2, 1),
        actor="test",
        kassenzeichen=waste_claims(db, owner)[0].kassenzeichen,
    )
    [waste_bin] = bins_of(db, [prop.id])
    application = submit_deregistration(
        db,
        person=owner,
        municipality=town,
        bin_id=waste_bin.id,
        end=date(2026, 3, 31),
        as_of=date(2026, 3, 20),
        actor="test",
    )
    assert application.status is ApplicationStatus.APPROVED
    assert waste_bin.end == date(2026, 3, 31)
    assert any(
        o.kind is WorkOrderKind.PICK_UP and o.bin_id == waste_bin.id
        for o in work_orders(db, town.id)
    )
    change = notices_of(db, owner.id, town.id)[0]
    assert (change.previous_cents, change.total_cents) == (4 * 1848, 1848)  # January–March
    assert credit_balance(db, owner) == 1848
    assert sum(v.open_cents for v in claims_of(db, owner)) == 0


@pytest.mark.parametrize(
    ("residents", "changes", "reason"),
    [
        (7, {}, "Mindestvolumen"),  # 60 l a week for 7 persons < 70 l
        (3, {"start": date(2025, 6, 1)}, "rückwirkend"),
    ],
)
def test_criteria_send_applications_to_a_clerk(
    db: Session,
    make: Any,
    town: Any,
    owner: Any,
    residents: int,
    changes: dict[str, Any],
    reason: str,
) -> None:
    prop = make.waste_property(town, owner, residents=residents, liable_from=date(2025, 1, 1))
    application = register(db, town, owner, prop, **changes)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert any(reason in r for r in application.review_reasons)
    assert application in review_queue(db, town.id)
    assert bins_of(db, [prop.id]) == [] and work_orders(db, town.id) == []
    approve(db, application, as_of=JAN, actor="user:clerk")
    assert len(bins_of(db, [prop.id])) == 1
    assert {n.year for n in notices_of(db, owner.id, town.id)} == {2025, 2026}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"litres": 100}, "litres", "keinen Behälter"),
        ({"rhythm": "weekly"}, "litres", "keinen Behälter"),
        ({"rhythm": "daily"}, "rhythm", "Abfuhrrhythmus"),
        ({"start": date(2026, 3, 1)}, "start", "Zukunft"),
        ({"start": date(2025, 11, 1)}, "start", "Gebührenpflicht"),
    ],
)
def test_implausible_registrations_are_refused_and_nothing_is_saved(
    db: Session,
    town: Any,
    owner: Any,
    prop: Any,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    with pytest.raises(FieldErrors) as info:
        register(db, town, owner, prop, **changes)
    assert message in info.value.errors[field]
    assert db.scalar(select(func.count(Application.id))) == 0
    assert bins_of(db, [prop.id]) == []


def test_implausible_changes_and_deregistrations_are_refused(
    db: Session, town: Any, owner: Any, prop: Any
) -> None:
    register(db, town, owner, prop)
    [waste_bin] = bins_of(db, [prop.id])
    common = {"person": owner, "municipality": town, "bin_id": waste_bin.id, "actor": "test"}
    with pytest.raises(FieldErrors) as info:
        submit_change(
            db, litres=120, rhythm="fortnightly", change_from=date(2026, 2, 1), as_of=JAN, **common
        )
    assert "andere Größe" in info.value.errors["litres"]
    with pytest.raises(FieldErrors) as info:
        submit_change(
            db, litres=240, rhythm="fortnightly", change_from=date(2025, 12, 1), as_of=JAN, **common
        )
    assert "nach der Lieferung" in info.value.errors["change_from"]
    with pytest.raises(FieldErrors) as info:
        submit_deregistration(db, end=date(2025, 11, 30), as_of=JAN, **common)
    assert "Lieferung" in info.value.errors["end"]
    application = submit_deregistration(db, end=date(2026, 1, 31), as_of=JAN, **common)
    assert application.review_reasons == [
        "Behältervolumen unter dem Mindestvolumen je Person und Woche (10 l)"
    ]  # no bin left for three residents
    approve(db, application, as_of=JAN, actor="user:clerk")
    with pytest.raises(FieldErrors) as info:
        report_damaged(db, note="kaputt", as_of=JAN, **common)
    assert "abgemeldet" in info.value.errors["note"]


def test_someone_elses_bin_or_property_is_not_found(
    db: Session, make: Any, town: Any, owner: Any, prop: Any
) -> None:
    register(db, town, owner, prop)
    [waste_bin] = bins_of(db, [prop.id])
    stranger = make.person(town)
    with pytest.raises(NotFound):
        register(db, town, stranger, prop)
    with pytest.raises(NotFound):
        report_damaged(
            db,
            person=stranger,
            municipality=town,
            bin_id=waste_bin.id,
            note="",
            as_of=JAN,
            actor="test",
        )


def test_annual_run_is_idempotent(db: Session, make: Any, town: Any) -> None:
    owners = [make.person(town) for _ in range(3)]
    for i, person in enumerate(owners):
        prop = make.waste_property(town, person, residents=i + 1)
        db.add(
            WasteBin(
                municipality_id=town.id,
                property_id=prop.id,
                number=100 + i,
                litres=240,
                rhythm="four_weekly",
                start=date(2024, 1, 1),
            )
        )
    db.flush()
    first = waste_fee_run.assess_all(
        db, municipality=town, year=2026, as_of=JAN, actor="cli", chunk_size=2
    )
    assert (first.persons, first.notices, first.bins) == (3, 3, 3)
    claims_before = db.scalar(select(func.count(Claim.id)))
    second = waste_fee_run.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="cli")
    assert second.notices == 0
    assert db.scalar(select(func.count(Claim.id))) == claims_before
    [notice] = notices_of(db, owners[0].id, town.id)
    assert notice.total_cents == (230 + 616) * 12
