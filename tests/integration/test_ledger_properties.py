"""Property-based tests of the ledger invariants, for any sequence of claims (one by one or a
chunk booked in bulk), payments and reversals, on SQLite and PostgreSQL."""

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.kernel.errors import LedgerError
from core.ledger import bulk
from core.ledger.accounts import new_kassenzeichen
from core.ledger.balances import account_balance, claim_balances, credit_balance, person_balance
from core.ledger.claims import post_claim, reduce_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import (
    AccountKind,
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
)
from core.ledger.queries import claims_of
from core.ledger.receipts import record_payment
from core.ledger.reversals import reverse_entry
from tests import factories

START = date(2026, 1, 1)

claim_op = st.tuples(
    st.just("claim"),
    st.integers(0, 1),
    st.sampled_from(list(ClaimKind)),
    st.integers(1, 50_000),
    st.integers(0, 300),
)
pay_op = st.tuples(
    st.just("pay"),
    st.integers(0, 1),
    st.integers(1, 80_000),
    st.one_of(st.none(), st.integers(0, 50)),
    st.sampled_from(list(PaymentChannel)),
)
bulk_op = st.tuples(
    st.just("bulk"),
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.sampled_from(list(ClaimKind)),
            st.integers(1, 50_000),
            st.integers(0, 300),
        ),
        min_size=1,
        max_size=6,
    ),
)
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 10_000))
reduce_op = st.tuples(st.just("reduce"), st.integers(0, 10_000), st.integers(1, 100))
operations = st.lists(
    st.one_of(claim_op, claim_op, bulk_op, pay_op, pay_op, reverse_op, reduce_op), max_size=25
)


def check_invariants(session: Session, municipality_id: int, people: list[Any]) -> None:
    accounts = list(
        session.scalars(
            select(LedgerAccount).where(LedgerAccount.municipality_id == municipality_id)
        )
    )
    balances = {a.id: account_balance(session, a) for a in accounts}
    # double entry: all balances of the municipality add up to zero
    assert sum(balances.values()) == 0
    by_kind: dict[AccountKind, int] = {}
    for a in accounts:
        by_kind[a.kind] = by_kind.get(a.kind, 0) + balances[a.id]
    # the cash accounts hold exactly the payments that stand (not reversed)
    standing = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.municipality_id == municipality_id, Payment.reversed_by_entry_id.is_(None)
        )
    )
    assert by_kind.get(AccountKind.BANK, 0) + by_kind.get(AccountKind.CLEARING, 0) == standing
    for person in people:
        views = claims_of(session, person)
        for v in views:
            # never over-paid, never more than assessed, never more than the original claim
            assert 0 <= v.open_cents <= v.assessed_cents <= v.claim.amount_cents
            if v.cancelled:
                assert v.open_cents == 0
        credit = credit_balance(session, person)
        assert credit >= 0
        open_total = sum(v.open_cents for v in views)
        assert person_balance(session, person) == open_total - credit
        # credit is always offset against open items right away
        assert credit == 0 or open_total == 0
    # revenue equals what stands of the claims
    standing_claims = sum(v.assessed_cents for p in people for v in claims_of(session, p))
    assert -by_kind.get(AccountKind.REVENUE, 0) == standing_claims


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_ledger_invariants_hold_for_any_sequence(
    engine: Engine, ops: list[tuple[Any, ...]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _run(session, ops)
        finally:
            session.close()
            outer.rollback()


def _run(session: Session, ops: list[tuple[Any, ...]]) -> None:
    m = factories.municipality(session)
    people = [factories.person(session, m), factories.person(session, m)]
    claims: list[Any] = []
    for op in ops:
        if op[0] == "claim":
            _, who, kind, amount, offset = op
            claims.append(
                post_claim(
                    session,
                    person=people[who],
                    municipality=m,
                    kind=kind,
                    amount_cents=amount,
                    due_date=START + timedelta(days=offset),
                    description="Eigenschaftstest",
                    as_of=START,
                    actor="test",
                )
            )
        elif op[0] == "bulk":
            claims += _post_in_bulk(session, m, people, op[1])
        elif op[0] == "pay":
            _, who, amount, claim_index, channel = op
            own = [c for c in claims if c.person_id == people[who].id]
            kz = (
                own[claim_index % len(own)].kassenzeichen
                if own and claim_index is not None
                else None
            )
            record_payment(
                session,
                person=people[who],
                amount_cents=amount,
                received_on=START + timedelta(days=amount % 300),
                channel=channel,
                as_of=START,
                actor="test",
                kassenzeichen=kz,
            )
        elif op[0] == "reduce":
            _, pick, percent = op
            if claims:
                claim = claims[pick % len(claims)]
                assessed = claim_balances(session, [claim])[claim.id].assessed_cents
                by = max(1, assessed * percent // 100)
                if claim.cancelled_by_entry_id is None and assessed:
                    reduce_claim(
                        session, claim, by, as_of=START, actor="test", reason="Änderungsbescheid"
                    )
        else:
            entries = list(
                session.scalars(
                    select(JournalEntry)
                    .where(
                        JournalEntry.municipality_id == m.id,
                        JournalEntry.kind.in_([EntryKind.CLAIM, EntryKind.PAYMENT]),
                    )
                    .order_by(JournalEntry.id)
                )
            )
            if entries:
                try:
                    reverse_entry(
                        session,
                        entries[op[1] % len(entries)],
                        as_of=START,
                        actor="test",
                        reason="Eigenschaftstest",
                    )
                except LedgerError as exc:
                    if "bereits storniert" not in exc.message:  # the only refusal expected
                        raise
        check_invariants(session, m.id, people)
    # every claim, one by one or in bulk, was posted once: one claim entry, one audit row
    for claim in claims:
        posted = session.scalars(
            select(Posting.amount_cents)
            .join(JournalEntry, Posting.entry_id == JournalEntry.id)
            .where(Posting.claim_id == claim.id, JournalEntry.kind == EntryKind.CLAIM)
        ).all()
        assert posted == [claim.amount_cents]
        audited = session.scalars(
            select(AuditEvent.after).where(
                AuditEvent.action == "claim.posted", AuditEvent.object_id == claim.id
            )
        ).all()
        assert [a["kassenzeichen"] for a in audited] == [claim.kassenzeichen]
    # every posting names accounts of this municipality only
    foreign = session.scalar(
        select(func.count(Posting.id))
        .join(LedgerAccount, Posting.debit_account_id == LedgerAccount.id)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.municipality_id == m.id, LedgerAccount.municipality_id != m.id)
    )
    assert foreign == 0


def _post_in_bulk(
    session: Session, m: Any, people: list[Any], chunk: list[tuple[Any, ...]]
) -> list[Claim]:
    """A chunk of claims booked at once (core.ledger.bulk), as the annual runs book them."""
    ids = bulk.post_claims(
        session,
        [
            bulk.NewClaim(
                person=people[who],
                kind=kind,
                amount_cents=amount,
                due_date=START + timedelta(days=offset),
                description="Eigenschaftstest im Stapel",
                kassenzeichen=new_kassenzeichen(session, m),
            )
            for who, kind, amount, offset in chunk
        ],
        municipality=m,
        as_of=START,
        actor="test",
    )
    assert len(ids) == len(chunk)
    posted = list(session.scalars(select(Claim).where(Claim.id.in_(ids)).order_by(Claim.id)))
    assert [c.amount_cents for c in posted] == [amount for _, _, amount, _ in chunk]
    return posted
