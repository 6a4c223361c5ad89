"""The payout run's bulk path (core.payments.payouts.bulk) against the person-by-person run it
replaced: for the same persons (credit, open items, recorded account or mandate or neither,
blocked or not, a claim arriving between preview and approval) both give the same items,
amounts, file contents, ledger balances and audit rows, on SQLite and PostgreSQL. And the
bulk path sends the same number of statements whatever the number of persons: per chunk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.dunning.blocks import add_block
from core.dunning.models import BlockReason
from core.jobs import four_eyes
from core.kernel import audit
from core.kernel.audit import AuditEvent
from core.ledger.accounts import new_kassenzeichen, person_accounts, system_account
from core.ledger.balances import account_balance, credit_balance, open_amounts, trial_balance
from core.ledger.credit import apply_credit
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim, EntryKind, PaymentChannel
from core.ledger.queries import open_items
from core.ledger.receipts import record_payment
from core.payments.payouts import bulk, runs
from core.payments.payouts.accounts import payout_target, record_payout_account
from core.payments.payouts.blocks import blocked_persons
from core.payments.payouts.models import PayoutItem, PayoutRun, PayoutRunState
from core.payments.payouts.pain001 import pain001_sepaxml
from core.payments.sepa import mandates
from core.persons.models import Person
from tests import factories

DAY = date(2026, 3, 1)
IBANS = ("DE89370400440532013000", "DE02120300000000202051")


# -- the person-by-person run, as core.payments.payouts.runs did it before the bulk path ------


def one_by_one_preview(session: Session, m: Any) -> list[runs.Planned]:
    blocked = blocked_persons(session, m.id, DAY)
    planned = []
    for person_id in sorted(bulk.credits(session, m.id)):
        person = session.get_one(Person, person_id)
        credit = credit_balance(session, person)
        owed = sum(i.open_cents for i in open_items(session, person))
        if credit - owed <= 0:
            continue
        target = payout_target(session, person)
        if person_id in blocked:
            planned.append(runs.Planned(person, credit, owed, "blocked"))
        elif target is None:
            planned.append(runs.Planned(person, credit, owed, "no_iban"))
        else:
            planned.append(
                runs.Planned(
                    person, credit, owed, None, target.account_holder, target.iban, target.bic
                )
            )
    return planned


def one_by_one_open(session: Session, m: Any) -> PayoutRun:
    planned = one_by_one_preview(session, m)
    run = PayoutRun(municipality_id=m.id, as_of=DAY, execution_date=DAY, created_by="anna")
    session.add(run)
    session.flush()
    session.add_all(
        PayoutItem(
            municipality_id=m.id,
            run_id=run.id,
            person_id=p.person.id,
            amount_cents=p.payable_cents,
            reason=p.reason,
            account_holder=p.account_holder,
            iban=p.iban,
            bic=p.bic,
        )
        for p in planned
    )
    session.flush()
    return run


def one_by_one_execute(session: Session, m: Any, run: PayoutRun) -> None:
    four_eyes.approve(session, run, "bernd", runs.NAMES)
    blocked = blocked_persons(session, m.id, DAY)
    for item in runs.items_of(session, run):
        if item.reason is not None or item.entry_id is not None:
            continue
        if item.person_id in blocked:
            item.reason = "blocked"
            continue
        person = session.get_one(Person, item.person_id)
        apply_credit(session, person, as_of=DAY, actor="bernd")
        amount = min(item.amount_cents, credit_balance(session, person))
        if amount <= 0:
            item.reason = "used_for_open_items"
            continue
        entry = new_entry(
            person,
            EntryKind.REFUND,
            value_date=run.execution_date,
            actor="bernd",
            text=f"Auszahlung des Guthabens (Auszahlungslauf Nr. {run.id})",
        )
        payout = system_account(session, m.id, runs.PAYOUT_ACCOUNT)
        add_posting(entry, person_accounts(session, person).credit, payout, amount)
        save_entry(session, entry)
        item.entry_id, item.paid_cents = entry.id, amount
        item.end_to_end_id = f"AUSZ-{run.id}-{person.number}"[:35]
        session.flush()
        audit.record(
            session,
            actor="bernd",
            action="payout.booked",
            obj=item,
            municipality_id=m.id,
            after={"person_id": person.id, "amount_cents": amount, "iban": item.masked_iban},
        )
    paid = [i for i in runs.items_of(session, run) if i.entry_id is not None]
    run.count, run.total_cents = len(paid), sum(i.paid_cents for i in paid)
    run.state = PayoutRunState.EXECUTED
    session.flush()


# -- the same persons in two municipalities ----------------------------------------------------

# (paid in, owed before, account: 0 none / 1 recorded / 2 mandate / 3 both, blocked, owed
# after the run was prepared)
PERSON = st.tuples(
    st.integers(1, 40_000),
    st.integers(0, 30_000),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from([0, 0, 700, 50_000]),
)


def owes(session: Session, m: Any, person: Person, amount: int, due: date) -> None:
    """A claim booked without offsetting the person's credit (as an import of old claims
    would): credit and open items side by side, which the run offsets first."""
    claim = Claim(
        municipality_id=m.id,
        person_id=person.id,
        kind=ClaimKind.DOG_TAX,
        description="Hundesteuer",
        amount_cents=amount,
        due_date=due,
        kassenzeichen=new_kassenzeichen(session, m),
    )
    session.add(claim)
    session.flush()
    entry = new_entry(person, EntryKind.CLAIM, value_date=DAY, text="Sollstellung", actor="t")
    revenue = system_account(session, m.id, KINDS[ClaimKind.DOG_TAX].revenue_account)
    receivable = person_accounts(session, person).receivable
    add_posting(entry, receivable, revenue, amount, claim_id=claim.id)
    save_entry(session, entry)


def populate(session: Session, people: list[tuple[int, int, int, bool, int]]) -> Any:
    m = factories.municipality(session)
    factories.sepa_statute(session, m)
    made = []
    for paid, owed, account, blocked, _later in people:
        person = factories.person(session, m)
        record_payment(
            session,
            person=person,
            amount_cents=paid,
            channel=PaymentChannel.BANK_TRANSFER,
            received_on=DAY,
            as_of=DAY,
            actor="test",
        )
        if owed:
            owes(session, m, person, owed, date(2026, 4, 1))
        if account in (2, 3):
            mandates.grant_mandate(
                session,
                person=person,
                municipality=m,
                account_holder=f"Mandat {person.number}",
                iban=IBANS[0],
                tax_account_id=None,
                signed_on=DAY,
                as_of=DAY,
                actor="test",
            )
        if account in (1, 3):
            for iban in IBANS:  # the newer one counts
                record_payout_account(
                    session, person, iban=iban, account_holder=f"Konto {iban[-4:]}", actor="t"
                )
        if blocked:
            add_block(
                session, person=person, reason=BlockReason.INSOLVENCY, starts_on=DAY, actor="t"
            )
        made.append(person)
    return m, made


def claims_later(session: Session, m: Any, made: list[Person], people: list[Any]) -> None:
    for person, (*_, later) in zip(made, people, strict=True):
        if later:
            owes(session, m, person, later, date(2026, 2, 1))


def outcome(session: Session, m: Any, run: PayoutRun, made: list[Person]) -> dict[str, Any]:
    """What a run left, with the persons named by their position (ids differ)."""
    position = {p.id: n for n, p in enumerate(made)}
    items = sorted(
        (
            position[i.person_id],
            i.amount_cents,
            i.reason,
            i.account_holder,
            i.iban,
            i.bic,
            i.paid_cents,
            (i.end_to_end_id or "").replace(f"-{run.id}-", "-RUN-"),
            i.entry_id is not None,
        )
        for i in runs.items_of(session, run)
    )
    claims = session.scalars(select(Claim).where(Claim.municipality_id == m.id)).all()
    opened = open_amounts(session, claims)
    audits = sorted(
        (position[e.after["person_id"]], e.after["amount_cents"], e.after["iban"])
        for e in session.scalars(
            select(AuditEvent).where(
                AuditEvent.municipality_id == m.id, AuditEvent.action == "payout.booked"
            )
        )
    )
    return {
        "items": items,
        "run": (run.count, run.total_cents, run.state),
        "credit": [credit_balance(session, p) for p in made],
        "open": sorted((position[c.person_id], c.amount_cents, opened[c.id]) for c in claims),
        "payout_account": account_balance(session, system_account(session, m.id, "1830")),
        "trial": trial_balance(session, m.id),
        "audits": audits,
    }


def _planned(p: runs.Planned, made: list[Person]) -> tuple[Any, ...]:
    return (
        made.index(p.person),
        p.credit_cents,
        p.open_cents,
        p.payable_cents,
        p.reason,
        p.account_holder,
        p.iban,
        p.bic,
    )


def _file(xml: bytes | None, run: PayoutRun) -> bytes:
    """The file without its random ids, its time and its run number."""
    text = re.sub(rb"<(MsgId|PmtInfId|CreDtTm)>[^<]*<", rb"<\1>X<", xml or b"")
    return text.replace(f"Lauf {run.id}<".encode(), b"Lauf RUN<").replace(
        f"-{run.id}-".encode(), b"-RUN-"
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(PERSON, min_size=1, max_size=6))
def test_bulk_and_one_by_one_agree(
    engine: Engine, people: list[tuple[int, int, int, bool, int]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            fast, fast_people = populate(session, people)
            slow, slow_people = populate(session, people)
            shown = runs.preview(session, fast, DAY)
            reference = one_by_one_preview(session, slow)
            assert [_planned(p, fast_people) for p in shown] == [
                _planned(p, slow_people) for p in reference
            ]
            fast_run = runs.open_run(session, fast, as_of=DAY, actor="anna")
            slow_run = one_by_one_open(session, slow)
            claims_later(session, fast, fast_people, people)
            claims_later(session, slow, slow_people, people)
            runs.approve(session, fast_run, actor="bernd", as_of=DAY)
            one_by_one_execute(session, slow, slow_run)
            assert outcome(session, fast, fast_run, fast_people) == outcome(
                session, slow, slow_run, slow_people
            )
            transfers = runs.paid_transfers(session, fast_run)
            if transfers:
                expected, _ = pain001_sepaxml(fast, fast_run, transfers)
                assert _file(fast_run.xml, fast_run) == _file(expected, fast_run)
            else:
                assert fast_run.xml is None
        finally:
            session.close()
            outer.rollback()


# -- statements: a constant number per chunk ---------------------------------------------------


@pytest.fixture
def statements(db: Session) -> Iterator[list[int]]:
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    bind = db.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    yield sent
    event.remove(bind, "before_cursor_execute", count)


def _run_with(db: Session, persons: int, sent: list[int]) -> tuple[int, int, int]:
    """Statements of the preview, the prepared run and the approval for ``persons`` persons
    with credit and a recorded account."""
    m, _ = populate(db, [(5000 + n, 0, 1, False, 0) for n in range(persons)])
    db.flush()
    before = sent[0]
    runs.preview(db, m, DAY)
    previewed = sent[0] - before
    before = sent[0]
    run = runs.open_run(db, m, as_of=DAY, actor="anna")
    prepared = sent[0] - before
    before = sent[0]
    assert runs.approve(db, run, actor="bernd", as_of=DAY) == persons
    return previewed, prepared, sent[0] - before


def test_the_statements_are_a_constant_number_per_chunk(
    db: Session, statements: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preview and prepare send the same statements for 4, 8 and 12 persons; the approval a
    constant number per chunk of items (two items a chunk here: 2, 4 and 6 chunks)."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    four, eight, twelve = (_run_with(db, n, statements) for n in (4, 8, 12))
    assert four[:2] == eight[:2] == twelve[:2]
    assert four[0] <= 8 and four[1] <= 12
    per_two_chunks = eight[2] - four[2]
    assert twelve[2] - eight[2] == per_two_chunks
    assert 0 < per_two_chunks <= 2 * 10  # at most ten statements a chunk
