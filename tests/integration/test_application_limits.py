"""One account may submit only so many online applications a day (point 16): the limit is
statute data, counted in the database for the German calendar day, checked on the one path
every online service takes (core.workflow.pipeline.submit)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.kernel import clock
from core.tenancy.statutes import Statute
from core.workflow import pipeline
from core.workflow.applications import Application, ApplicationStatus
from core.workflow.limits import (
    DEFAULT_DAILY_LIMIT,
    ONLINE_SERVICES,
    DailyLimitReached,
    local_day_bounds,
)


def _limit(db: Any, m: Any, limit: int) -> None:
    db.add(
        Statute(
            municipality_id=m.id,
            levy=ONLINE_SERVICES,
            valid_from=date(2020, 1, 1),
            source="Nutzungsbedingungen des Bürgerportals, § 4 Abs. 2",
            data={"daily_application_limit": limit},
        )
    )
    db.flush()


def _submit(db: Any, m: Any, person: Any, *, reasons: list[str] | None = None) -> Application:
    return pipeline.submit(
        db,
        person_id=person.id,
        municipality_id=m.id,
        service="address_change",
        data={},
        reasons=["manual"] if reasons is None else reasons,
        as_of=clock.today(),
        actor="user:1",
        approve=lambda *_args: None,
    )


def _count(db: Any, person: Any) -> int:
    return db.scalar(select(func.count()).where(Application.person_id == person.id))


def test_the_statute_limit_refuses_the_next_application_of_the_day(db: Any, make: Any) -> None:
    m = make.municipality()
    _limit(db, m, 3)
    person, neighbour = make.person(m), make.person(m)
    for _ in range(3):
        _submit(db, m, person)
    with pytest.raises(DailyLimitReached) as refused:
        _submit(db, m, person)
    assert "heute bereits 3 Anträge" in next(iter(refused.value.errors.values()))
    assert _count(db, person) == 3  # nothing recorded
    _submit(db, m, neighbour)  # another account is not affected


def test_applications_recorded_by_another_worker_count_and_yesterday_does_not(
    db: Any, make: Any
) -> None:
    m = make.municipality()
    _limit(db, m, 2)
    person = make.person(m)
    _day, start, _end = local_day_bounds(clock.now())

    def recorded(at: datetime) -> None:  # as another web worker would have, in the database
        db.add(
            Application(
                municipality_id=m.id,
                person_id=person.id,
                service="dog_registration",
                status=ApplicationStatus.IN_REVIEW,
                data={},
                review_reasons=[],
                submitted_at=at,
                submitted_by="user:1",
            )
        )
        db.flush()

    recorded(start - timedelta(seconds=1))  # 23:59:59 yesterday, German time
    recorded(start - timedelta(hours=5))
    recorded(start + timedelta(seconds=1))
    _submit(db, m, person)
    with pytest.raises(DailyLimitReached):
        _submit(db, m, person)


def test_without_a_statute_the_default_limit_applies(db: Any, make: Any) -> None:
    m = make.municipality()
    person = make.person(m)
    for _ in range(DEFAULT_DAILY_LIMIT):
        _submit(db, m, person, reasons=[])
    with pytest.raises(DailyLimitReached):
        _submit(db, m, person)


def test_the_german_day_decides_not_utc() -> None:
    from datetime import UTC

    day, start, end = local_day_bounds(datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    assert day == date(2026, 7, 1)  # already 00:30 in Berlin
    assert start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)
