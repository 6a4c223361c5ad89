"""The dunning procedure is stored like every statute: effective-dated, looked up per day."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.dunning.procedure import LEVY, procedure_on
from core.kernel.errors import NotFound
from core.tenancy.statutes import Statute


def test_the_procedure_in_force_on_a_day(db: Session, make: Any) -> None:
    m = make.municipality()
    old = make.dunning_statute(m)
    old.valid_to = date(2026, 7, 1)
    levels = [
        {"name": "Mahnung", "days_after_due": 14, "payment_days": 10, "fee": {"model": "nrw"}}
    ]
    db.add(
        Statute(
            municipality_id=m.id,
            levy=LEVY,
            valid_from=date(2026, 7, 1),
            source="Mahnordnung 2026",
            data={"levels": levels, "surcharges": False, "tolerance_cents": 1000},
        )
    )
    db.flush()
    assert len(procedure_on(db, m.id, date(2026, 6, 30)).levels) == 3
    new = procedure_on(db, m.id, date(2026, 7, 1))
    assert new.source == "Mahnordnung 2026" and not new.surcharges
    assert [lv.name for lv in new.levels] == ["Mahnung"]
    with pytest.raises(NotFound, match="keine Satzung"):
        procedure_on(db, m.id, date(2019, 12, 31))
