"""Property-based test of direct debit and bank import: for any mix of collections, bank
credits (also repeated), returns (also of debits never credited), transfers naming a
Kassenzeichen and unknown money, imported in one or two statements and the first one twice,
the ledger follows the bank line by line — on SQLite and PostgreSQL. The direct-debit run is
the bulk one (the default); a second property runs both paths over any town and compares."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.ledger.accounts import system_account
from core.ledger.balances import account_balance, open_amounts, trial_balance
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.bank import imports as bank_import
from core.payments.bank.camt import CamtTransaction
from core.payments.bank.models import BankLine, LineStatus
from core.payments.sepa import prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import ItemStatus, Mandate, MandateStatus, PreNotification
from tests import factories
from tests.camt_files import build_camt053, entry, statement, tx
from tests.sepa_ledger import largest_ids, pain008_content, state

AS_OF = date(2026, 3, 2)
COLLECTION = date(2026, 3, 16)

claims_of_person = st.lists(
    st.tuples(st.integers(1, 50_000), st.integers(0, 30)), min_size=1, max_size=3
)
people = st.lists(st.tuples(claims_of_person, st.booleans()), min_size=1, max_size=4)
line = st.one_of(
    st.tuples(st.just("credit"), st.integers(0, 20)),
    st.tuples(st.just("return"), st.integers(0, 20), st.sampled_from(["AC04", "AM04", "MD06"])),
    st.tuples(st.just("transfer"), st.integers(0, 20), st.integers(1, 60_000)),
    st.tuples(st.just("unknown"), st.integers(1, 60_000), st.booleans()),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=people, lines=st.lists(line, max_size=12), split=st.integers(0, 12))
def test_the_ledger_follows_the_bank(
    engine: Engine, population: list[Any], lines: list[Any], split: int
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _run(session, population, lines, split)
        finally:
            session.close()
            outer.rollback()


def _run(session: Session, population: list[Any], lines: list[Any], split: int) -> None:
    m = factories.municipality(session)
    factories.sepa_statute(session, m)
    claims = []
    for n, (amounts, with_mandate) in enumerate(population):
        person = factories.person(session, m)
        for amount, days in amounts:
            claims.append(
                factories.claim(
                    session, m, person, amount=amount, due=COLLECTION - timedelta(days=days)
                )
            )
        if with_mandate:  # a mandate row as the portal leaves it (its PDF is not the point here)
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

    entries = [_entry(spec, items, claims) for spec in lines]
    entries = [e for e in entries if e is not None]
    parts = [entries[:split], entries[split:]]
    statements = [_statement(m.iban, f"S{k}", part) for k, part in enumerate(parts) if part]
    for k, xml in enumerate(statements):
        bank_import.import_statements(session, m, xml, filename="s", as_of=COLLECTION, actor="t")
        _check(session, m.id, claims, items)
        if k == 0:
            before = trial_balance(session, m.id)
            again = bank_import.import_statements(
                session, m, xml, filename="again", as_of=COLLECTION, actor="t"
            )
            assert again.credits == 0 and again.returns == 0
            assert trial_balance(session, m.id) == before


def _entry(spec: Any, items: list[Any], claims: list[Any]) -> tuple[bool, CamtTransaction] | None:
    kind = spec[0]
    if kind in ("credit", "return"):
        if not items:
            return None
        item = items[spec[1] % len(items)]
        if kind == "credit":
            return True, tx(item.amount_cents, end_to_end_id=item.end_to_end_id)
        return False, tx(item.amount_cents, end_to_end_id=item.end_to_end_id, return_reason=spec[2])
    if kind == "transfer":
        claim = claims[spec[1] % len(claims)]
        return True, tx(spec[2], remittance=f"KZ {claim.kassenzeichen}")
    return spec[2], tx(spec[1], remittance="ohne Bezug")


def _statement(iban: str, sid: str, entries: list[tuple[bool, CamtTransaction]]) -> bytes:
    return build_camt053(
        statement(
            iban,
            sid,
            *(
                entry(
                    n,
                    t,
                    credit=credit,
                    day=COLLECTION,
                    ref=f"{sid}-{n}",
                    code="PMNT/IDDT/UPDD" if t.return_reason else "PMNT/RCDT/ESCT",
                )
                for n, (credit, t) in enumerate(entries, start=1)
            ),
        )
    )


def _check(session: Session, municipality_id: int, claims: list[Any], items: list[Any]) -> None:
    def balance(code: str) -> int:
        return account_balance(session, system_account(session, municipality_id, code))

    assert sum(trial_balance(session, municipality_id).values()) == 0
    lines = session.query(BankLine).filter_by(municipality_id=municipality_id).all()
    # the ledger's bank account is the statement: every credit in, every debit out
    assert balance("1800") == sum(x.amount_cents if x.credit else -x.amount_cents for x in lines)
    # "in collection" holds exactly the debits handed to the bank and not yet settled
    for item in items:
        session.refresh(item)
    assert balance("1820") == sum(
        i.amount_cents for i in items if i.status is ItemStatus.IN_COLLECTION
    )
    # suspense holds exactly what waits for a clerk
    queued = [x for x in lines if x.status is LineStatus.QUEUED]
    assert -balance("1890") == sum(x.amount_cents if x.credit else -x.amount_cents for x in queued)
    for view in open_amounts(session, claims).items():
        claim = next(c for c in claims if c.id == view[0])
        assert 0 <= view[1] <= claim.amount_cents


# ------------------------------------------------------------------ the bulk run's own property

# Per claim: amount, days overdue, paid in part first (cents), announced wrongly (cents off).
claim_case = st.tuples(
    st.integers(1, 50_000), st.integers(-5, 30), st.integers(0, 60_000), st.integers(-2, 2)
)
# Per person: claims, mandate (none / general / lapsed), a BIC, a name with umlauts.
person_case = st.tuples(
    st.lists(claim_case, min_size=1, max_size=3),
    st.sampled_from(["none", "general", "lapsed"]),
    st.booleans(),
    st.sampled_from(["Müller", "Zahler", "Öztürk-Weiß"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=st.lists(person_case, min_size=1, max_size=5))
def test_the_bulk_run_books_what_the_one_by_one_run_books(
    engine: Engine, population: list[Any]
) -> None:
    """For any town, the bulk run writes the same ledger and pain.008 as the one-by-one run;
    both keep the ledger balanced, hold exactly their items in clearing, collect only what
    was announced with its amount, and a second run collects nothing."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            m = _town(session, population)
            results = []
            for bulk in (False, True):
                savepoint = session.begin_nested()
                results.append(_collect(session, m, bulk=bulk))
                savepoint.rollback()
            assert results[1] == results[0]
        finally:
            session.close()
            outer.rollback()


def _town(session: Session, population: list[Any]) -> Any:
    m = factories.municipality(session)
    factories.sepa_statute(session, m)
    offs: dict[int, int] = {}
    for n, (claims, mandate, bic, name) in enumerate(population):
        person = factories.person(session, m, family_name=name)
        made = [
            (
                factories.claim(
                    session, m, person, amount=amount, due=COLLECTION - timedelta(days=days)
                ),
                paid,
                off,
            )
            for amount, days, paid, off in claims
        ]
        for claim, paid, _off in made:
            if 0 < paid < claim.amount_cents:
                record_payment(
                    session,
                    person=person,
                    amount_cents=paid,
                    received_on=AS_OF,
                    channel=PaymentChannel.BANK_TRANSFER,
                    as_of=AS_OF,
                    actor="t",
                    claim_ids=[claim.id],
                )
        if mandate != "none":
            session.add(
                Mandate(
                    municipality_id=m.id,
                    person_id=person.id,
                    reference=f"REF-{n}",
                    reference_key=f"REF-{n}",
                    account_holder=person.display_name,
                    iban="DE02120300000000202051",
                    bic="COBADEFFXXX" if bic else None,
                    signed_on=date(2022, 1, 10) if mandate == "lapsed" else AS_OF,
                    consent_text="…",
                    status=MandateStatus.ACTIVE,
                    created_by="test",
                )
            )
        offs.update({claim.id: off for claim, _paid, off in made if off})
    session.flush()
    prenotifications.prenotify(session, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    for pn in session.scalars(select(PreNotification).where(PreNotification.claim_id.in_(offs))):
        if pn.amount_cents + offs[pn.claim_id] > 0:  # announced with another amount
            pn.amount_cents += offs[pn.claim_id]
    session.flush()
    return m


def _collect(session: Session, m: Any, *, bulk: bool) -> Any:
    since = largest_ids(session)
    result = debit_runs.create_run(
        session, m, collection_date=COLLECTION, as_of=AS_OF, actor="t", bulk=bulk
    )
    again = debit_runs.create_run(
        session, m, collection_date=COLLECTION, as_of=AS_OF, actor="t", bulk=bulk
    )
    assert again.run is None  # nothing collected twice
    items = debit_runs.items_of(session, result.run) if result.run else []
    assert sum(trial_balance(session, m.id).values()) == 0
    clearing = account_balance(session, system_account(session, m.id, "1820"))
    assert clearing == sum(i.amount_cents for i in items)
    assert len({i.claim_id for i in items}) == len(items)
    for item in items:  # each collected with its announcement's amount and mandate
        pn = session.scalars(select(PreNotification).filter_by(used_by_item_id=item.id)).one()
        assert (pn.claim_id, pn.amount_cents, pn.mandate_id) == (
            item.claim_id,
            item.amount_cents,
            item.mandate_id,
        )
        assert pn.collection_date <= COLLECTION
    assert all(v >= 0 for v in open_amounts(session, _claims(session, m)).values())
    content = pain008_content(result.run) if result.run else b""
    return result.skipped, again.skipped, content, state(session, m, since)


def _claims(session: Session, m: Any) -> list[Any]:
    return list(session.scalars(select(Claim).where(Claim.municipality_id == m.id)))
