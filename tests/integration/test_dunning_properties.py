"""Dunning runs against payments in collection and returned, and a property over random
sequences of claims, payments and weekly runs: never a surcharge on an ancillary claim, no claim
dunned twice at a level, one level per run, the ledger balanced. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.dunning import booking, runs
from core.dunning.models import DunningItem, DunningLetter, DunningRun
from core.dunning.surcharges import bears_surcharge
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.bank import imports as bank_import
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import ItemStatus
from tests import factories
from tests.camt_files import build_camt053, statement_from_pain008

AS_OF = date(2026, 3, 1)
COLLECTION = date(2026, 3, 16)


def test_in_collection_is_not_dunned_and_a_returned_debit_is(db: Session, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    make.dunning_statute(m)
    person = make.person(m)
    claim = make.claim(m, person, amount=3300, due=date(2026, 3, 2))
    mandates.grant_mandate(
        db, person=person, municipality=m, account_holder="X", iban="DE02120300000000202051",
        tax_account_id=None, signed_on=AS_OF, as_of=AS_OF, actor="t",
    )  # fmt: skip
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    (item,) = debit_runs.items_of(db, run)
    assert item.status is ItemStatus.IN_COLLECTION

    preview = runs.preview(db, m, date(2026, 3, 17), "user:1")
    assert runs.letters_of(db, preview) == []
    runs.discard(db, preview, "user:1")

    credit = statement_from_pain008(run.xml, iban=m.iban, booked_on=COLLECTION, statement_id="C1")
    bank_import.import_statements(
        db, m, build_camt053(credit), filename="c1.xml", as_of=COLLECTION, actor="t"
    )
    returned = statement_from_pain008(
        run.xml, iban=m.iban, booked_on=date(2026, 3, 19), statement_id="R1",
        returns={item.end_to_end_id: "AM04"}, with_credit=False,
    )  # fmt: skip
    bank_import.import_statements(
        db, m, build_camt053(returned), filename="r1.xml", as_of=date(2026, 3, 19), actor="t"
    )
    assert item.status is ItemStatus.RETURNED
    assert open_amounts(db, [claim]) == {claim.id: 3300}
    again = runs.preview(db, m, date(2026, 3, 20), "user:1")
    (letter,) = runs.letters_of(db, again)
    assert (letter.person_id, letter.level) == (person.id, 1)
    claims = [i.claim_id for i in runs.items_of(db, [letter.id])[letter.id]]
    assert claim.id in claims


KINDS = [ClaimKind.DOG_TAX, ClaimKind.PROPERTY_TAX, ClaimKind.DUNNING_FEE, ClaimKind.INTEREST]
claims_st = st.lists(
    st.tuples(
        st.integers(0, 2),  # person
        st.sampled_from(KINDS),
        st.integers(100, 400_000),  # cents
        st.integers(0, 60),  # due, days after the start
    ),
    min_size=1,
    max_size=8,
)
steps_st = st.lists(
    st.tuples(
        st.integers(0, 30),  # days since the last run
        st.lists(st.tuples(st.integers(0, 2), st.integers(1, 200_000)), max_size=2),  # payments
    ),
    min_size=1,
    max_size=6,
)
START = date(2026, 1, 5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims=claims_st, steps=steps_st)
def test_runs_over_random_sequences(
    engine: Engine, claims: list[tuple[Any, ...]], steps: list[tuple[Any, ...]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _run(session, claims, steps)
        finally:
            session.close()
            outer.rollback()


def _run(session: Session, claims: list[tuple[Any, ...]], steps: list[tuple[Any, ...]]) -> None:
    m = factories.municipality(session)
    factories.dunning_statute(session, m)
    people = [factories.person(session, m) for _ in range(3)]
    for who, kind, amount, offset in claims:
        factories.claim(
            session, m, people[who], amount=amount, kind=kind,
            due=START + timedelta(days=offset), as_of=START,
        )  # fmt: skip
    day = START + timedelta(days=20)
    for gap, payments in steps:
        day += timedelta(days=gap)
        for who, amount in payments:
            record_payment(
                session, person=people[who], amount_cents=amount, received_on=day,
                channel=PaymentChannel.BANK_TRANSFER, as_of=day, actor="t",
            )  # fmt: skip
        run = runs.preview(session, m, day, "user:1")
        runs.approve(session, run, "user:2")
        booking.book(session, run, "user:2")
        assert booking.book(session, run, "user:2") == {
            "letters": 0,
            "fees": 0,
            "surcharges": 0,
            "dropped": 0,
        }
    _check(session, m.id)


def _check(session: Session, municipality_id: int) -> None:
    rows = session.execute(
        select(DunningItem, Claim.kind, DunningRun.id)
        .join(Claim, Claim.id == DunningItem.claim_id)
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(DunningRun.municipality_id == municipality_id, DunningItem.booked.is_(True))
        .order_by(DunningRun.id)
    ).all()
    levels: dict[int, list[int]] = defaultdict(list)
    runs_of: dict[int, list[int]] = defaultdict(list)
    for item, kind, run_id in rows:
        if not bears_surcharge(kind):
            assert item.surcharge_cents == 0 and item.fee_cents == 0
        levels[item.claim_id].append(item.level)
        runs_of[item.claim_id].append(run_id)
    for claim_id, seen in levels.items():
        assert seen == list(range(1, len(seen) + 1))  # one step per run, never twice a level
        assert len(set(runs_of[claim_id])) == len(seen)
    letters = session.execute(
        select(DunningLetter.run_id, DunningLetter.person_id, DunningLetter.level).where(
            DunningLetter.municipality_id == municipality_id
        )
    ).all()
    assert len(letters) == len(set(letters))  # one letter per person and level in a run
    assert sum(trial_balance(session, municipality_id).values()) == 0
