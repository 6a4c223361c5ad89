"""§ 225 AO allocation order (pure function)."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.ledger.allocation import OpenItem, allocate, statutory_order
from core.ledger.kinds import AllocationGroup as G

AS_OF = date(2026, 6, 1)


def item(claim_id: int, group: G, due: date, open_cents: int) -> OpenItem:
    return OpenItem(claim_id, group, due, open_cents)


def test_statutory_groups_then_oldest_first() -> None:
    items = [
        item(1, G.LATE_PAYMENT_SURCHARGE, date(2026, 1, 1), 500),
        item(2, G.COSTS, date(2026, 3, 1), 600),
        item(3, G.LEVY, date(2026, 5, 15), 2500),
        item(4, G.LEVY, date(2026, 2, 15), 2500),
        item(5, G.INTEREST, date(2026, 1, 1), 100),
    ]
    assert [i.claim_id for i in statutory_order(items, AS_OF)] == [4, 3, 2, 5, 1]


def test_surcharges_are_settled_last() -> None:
    items = [
        item(1, G.LATE_PAYMENT_SURCHARGE, date(2026, 1, 1), 1000),
        item(2, G.LEVY, date(2026, 5, 1), 10000),
    ]
    result = allocate(10500, items, as_of=AS_OF)
    assert result.parts == [(2, 10000), (1, 500)]
    assert result.credit_cents == 0


def test_payer_determination_comes_first() -> None:
    # § 225 (1): a payment naming the surcharge settles the surcharge first.
    items = [
        item(1, G.LATE_PAYMENT_SURCHARGE, date(2026, 1, 1), 1000),
        item(2, G.LEVY, date(2026, 5, 1), 10000),
    ]
    result = allocate(1500, items, as_of=AS_OF, designated={1})
    assert result.parts == [(1, 1000), (2, 500)]


def test_items_not_yet_due_come_after_due_ones() -> None:
    items = [item(1, G.LEVY, date(2026, 8, 15), 2500), item(2, G.COSTS, date(2026, 5, 20), 600)]
    assert allocate(600, items, as_of=AS_OF).parts == [(2, 600)]


def test_overpayment_becomes_credit_and_partial_leaves_rest_open() -> None:
    items = [item(1, G.LEVY, date(2026, 2, 15), 2500)]
    assert allocate(3000, items, as_of=AS_OF).credit_cents == 500
    partial = allocate(1000, items, as_of=AS_OF)
    assert partial.parts == [(1, 1000)]
    assert partial.credit_cents == 0


open_items = st.lists(
    st.builds(
        OpenItem,
        claim_id=st.integers(1, 10**6),
        group=st.sampled_from(list(G)),
        due_date=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
        open_cents=st.integers(0, 10**7),
    ),
    max_size=12,
    unique_by=lambda i: i.claim_id,
)


@given(st.integers(1, 10**8), open_items, st.data())
def test_allocation_invariants(amount: int, items: list[OpenItem], data: st.DataObject) -> None:
    designated = data.draw(
        st.sets(st.sampled_from([i.claim_id for i in items])) if items else st.just(set())
    )
    result = allocate(amount, items, as_of=AS_OF, designated=designated)
    by_id = {i.claim_id: i for i in items}
    # nothing is lost or created
    assert result.allocated_cents + result.credit_cents == amount
    # no item is over-paid, every part is positive, each item at most once
    assert all(0 < part <= by_id[cid].open_cents for cid, part in result.parts)
    assert len({cid for cid, _ in result.parts}) == len(result.parts)
    # credit only when everything is settled
    if result.credit_cents:
        assert result.allocated_cents == sum(i.open_cents for i in items)
    # only the last item served may be partly paid
    assert all(part == by_id[cid].open_cents for cid, part in result.parts[:-1])


@given(st.integers(1, 10**8), open_items, st.data())
def test_a_payment_for_chosen_items_never_reaches_other_items(
    amount: int, items: list[OpenItem], data: st.DataObject
) -> None:
    # A card payment for chosen items: what they do not need stays credit (to be refunded),
    # it is not set off against the person's other items without the payer's determination.
    designated = data.draw(
        st.sets(st.sampled_from([i.claim_id for i in items])) if items else st.just(set())
    )
    result = allocate(amount, items, as_of=AS_OF, designated=designated, only_designated=True)
    assert {cid for cid, _ in result.parts} <= designated
    assert result.allocated_cents + result.credit_cents == amount
    needed = sum(i.open_cents for i in items if i.claim_id in designated)
    assert result.credit_cents == max(amount - needed, 0)
