"""Property-based test of the bank import's bulk path: for any mix of direct-debit credits (also
repeated), returns, credits by mandate reference, transfers naming a Kassenzeichen and unknown
money, in one or two statements with the first imported twice, booking in chunks of any size
gives the same ledger as booking line by line, and the ledger follows the bank (the invariants
of tests/integration/test_sepa_properties.py) — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.payments.bank import bulk_import
from core.payments.bank import imports as bank_import
from core.payments.sepa import prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import Mandate, MandateStatus
from core.tenancy.municipalities import Municipality
from tests import factories
from tests.camt_files import tx
from tests.integration.test_bank_bulk_import import _difference, _ledger
from tests.integration.test_sepa_properties import _check, _entry, _statement

AS_OF = date(2026, 3, 2)
COLLECTION = date(2026, 3, 16)

claims_of_person = st.lists(
    st.tuples(st.integers(1, 50_000), st.integers(-20, 30)), min_size=1, max_size=3
)
people = st.lists(st.tuples(claims_of_person, st.booleans()), min_size=1, max_size=4)
line = st.one_of(
    st.tuples(st.just("credit"), st.integers(0, 20)),
    st.tuples(st.just("return"), st.integers(0, 20), st.sampled_from(["AC04", "AM04", "MD06"])),
    st.tuples(st.just("transfer"), st.integers(0, 20), st.integers(1, 60_000)),
    st.tuples(st.just("unknown"), st.integers(1, 60_000), st.booleans()),
    st.tuples(st.just("mandate"), st.integers(0, 20)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    population=people,
    lines=st.lists(line, max_size=14),
    split=st.integers(0, 14),
    chunk=st.integers(1, 6),
)
def test_bulk_import_books_what_one_by_one_books(
    engine: Engine, population: list[Any], lines: list[Any], split: int, chunk: int
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            one_by_one = _run(session, population, lines, split, bulk=False)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(bulk_import, "CHUNK", chunk)
                in_bulk = _run(session, population, lines, split, bulk=True)
            expected, got = _ledger(session, one_by_one), _ledger(session, in_bulk)
            for part in expected:
                assert got[part] == expected[part], _difference(got[part], expected[part])
        finally:
            session.close()
            outer.rollback()


def _run(
    session: Session, population: list[Any], lines: list[Any], split: int, *, bulk: bool
) -> Municipality:
    m = factories.municipality(session)
    factories.sepa_statute(session, m)
    claims = []
    for n, (amounts, with_mandate) in enumerate(population):
        person = factories.person(session, m, family_name=f"Zahler{n}")
        for amount, days in amounts:
            claims.append(
                factories.claim(
                    session, m, person, amount=amount, due=COLLECTION - timedelta(days=days)
                )
            )
        if with_mandate:
            session.add(
                Mandate(
                    municipality_id=m.id,
                    person_id=person.id,
                    reference=f"REF-{n}",
                    reference_key=f"REF-{n}",
                    account_holder=person.display_name,
                    iban="DE02120300000000202051",
                    signed_on=AS_OF,
                    consent_text="…",
                    status=MandateStatus.ACTIVE,
                    created_by="test",
                )
            )
    session.flush()
    prenotifications.prenotify(session, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(session, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    items = debit_runs.items_of(session, run.run) if run.run else []
    entries = []
    for spec in lines:
        if spec[0] == "mandate":
            if items:
                item = items[spec[1] % len(items)]
                mandate = session.get_one(Mandate, item.mandate_id)
                entries.append((True, tx(item.amount_cents, mandate_id=mandate.reference)))
            continue
        found = _entry(spec, items, claims)
        if found is not None:
            entries.append(found)
    parts = [entries[:split], entries[split:]]
    files = [_statement(m.iban, f"S{k}", part) for k, part in enumerate(parts) if part]
    for k, xml in enumerate(files):
        for name in ("s", "again")[: 2 if k == 0 else 1]:
            bank_import.import_statements(
                session, m, xml, filename=name, as_of=COLLECTION, actor="clerk", bulk=bulk
            )
        _check(session, m.id, claims, items)
    return m
