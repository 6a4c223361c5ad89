"""Booking a direct-debit run's items in bulk (runs.create_run): per chunk one executemany per
table — payments, journal entries, postings and audit rows (core.ledger.bulk_collections), the
items — and one UPDATE each for the pre-notifications used up and the mandates used; the
EndToEndIds' serials are reserved as one block. The same rows as runs._book_in_collection
writes one item at a time; the pain.008 file is built first and validated beside the writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, update
from sqlalchemy.orm import Session

from core.kernel.id_lists import ids_in
from core.ledger.accounts import system_account
from core.ledger.bulk_collections import NewCollection, insert_rows, post_collections
from core.ledger.models import PaymentChannel
from core.payments.sepa.collectable import Collectable
from core.payments.sepa.models import (
    DirectDebitItem,
    DirectDebitRun,
    ItemStatus,
    Mandate,
    PreNotification,
)
from core.payments.sepa.pain008 import (
    Message,
    Transaction,
    build_message,
    remittance,
    sepa_text,
    validate,
)
from core.tenancy.municipalities import Municipality, reserve_ids, reserve_numbers

CHUNK = 5_000  # items per statement: within SQLite's 32,766 parameters of an IN list
_ITEMS = cast(Table, DirectDebitItem.__table__)
_MANDATES = cast(Table, Mandate.__table__)
_PRENOTIFICATIONS = cast(Table, PreNotification.__table__)


def book_in_bulk(
    session: Session,
    municipality: Municipality,
    run: DirectDebitRun,
    chosen: Sequence[Collectable],
    *,
    cash_account: str,
    actor: str,
) -> Message:
    """Book ``chosen`` as paid into ``cash_account`` (clearing) with their EndToEndIds and
    return the run's validated pain.008 message."""
    serials = reserve_numbers(session, municipality.id, "sepa_item", len(chosen))
    refs = [f"{c.kassenzeichen}-{n}" for c, n in zip(chosen, serials, strict=True)]
    message = build_message(
        municipality,
        run.collection_date,
        [_transaction(c, ref) for c, ref in zip(chosen, refs, strict=True)],
    )
    cash = system_account(session, municipality.id, cash_account).id
    # libxml2 validates the file on the other core while the rows are written; an invalid file
    # raises here before the run returns, so the caller's transaction commits none of them.
    with ThreadPoolExecutor(1, thread_name_prefix="pain008") as pool:
        validated = pool.submit(validate, message.xml)
        for first in range(0, len(chosen), CHUNK):
            part = slice(first, first + CHUNK)
            _book_chunk(session, run, chosen[part], refs[part], cash_account_id=cash, actor=actor)
        validated.result()
    _expire_loaded(session, Mandate, {c.mandate.id for c in chosen}, "last_collected_on")
    _expire_loaded(
        session, PreNotification, {c.prenotification_id for c in chosen}, "used_by_item_id"
    )
    return message


def _transaction(item: Collectable, end_to_end_id: str) -> Transaction:
    mandate = item.mandate
    return Transaction(
        end_to_end_id=end_to_end_id,
        amount_cents=item.open_cents,
        mandate_reference=mandate.reference,
        mandate_signed_on=mandate.signed_on,
        debtor_bic=mandate.bic or None,
        debtor_name=sepa_text(mandate.account_holder, 70),
        debtor_iban=mandate.iban,
        remittance=remittance(item.kassenzeichen, item.kind, item.description),
    )


def _book_chunk(
    session: Session,
    run: DirectDebitRun,
    chosen: Sequence[Collectable],
    refs: list[str],
    *,
    cash_account_id: int,
    actor: str,
) -> None:
    payment_ids = post_collections(
        session,
        [
            NewCollection(c.person_id, c.claim_id, c.open_cents, ref, f"Lastschrift {ref}")
            for c, ref in zip(chosen, refs, strict=True)
        ],
        municipality_id=run.municipality_id,
        channel=PaymentChannel.DIRECT_DEBIT,
        received_on=run.collection_date,
        cash_account_id=cash_account_id,
        actor=actor,
    )
    item_ids = reserve_ids(session, DirectDebitItem, len(chosen))
    connection = session.connection()
    insert_rows(
        connection,
        _ITEMS,
        [
            {
                "id": item_id,
                "municipality_id": run.municipality_id,
                "run_id": run.id,
                "mandate_id": c.mandate.id,
                "person_id": c.person_id,
                "claim_id": c.claim_id,
                "amount_cents": c.open_cents,
                "end_to_end_id": ref,
                "payment_id": payment_id,
                "status": ItemStatus.IN_COLLECTION,
                "credited_on": None,
                "returned_on": None,
                "return_reason": None,
            }
            for c, ref, payment_id, item_id in zip(chosen, refs, payment_ids, item_ids, strict=True)
        ],
    )
    _update_many(
        connection,
        _PRENOTIFICATIONS,
        "used_by_item_id",
        [(item_id, c.prenotification_id) for c, item_id in zip(chosen, item_ids, strict=True)],
    )
    session.execute(
        update(_MANDATES)
        .where(ids_in(_MANDATES.c.id, sorted({c.mandate.id for c in chosen})))
        .values(last_collected_on=run.collection_date)
    )


def _update_many(
    connection: Connection, table: Table, column: str, rows: list[tuple[Any, int]]
) -> None:
    """``UPDATE table SET column = value WHERE id = id`` for each (value, id) of ``rows`` (integer
    values): on SQLite one executemany of the compiled statement (as core.ledger.bulk.executemany
    does for INSERTs), on PostgreSQL one UPDATE … FROM unnest(…)."""
    dialect = connection.dialect
    if dialect.name == "postgresql":  # one statement, not one per row (see insert_rows)
        connection.exec_driver_sql(
            f"UPDATE {table.name} AS t SET {column} = v.value "  # noqa: S608 (own names)
            "FROM unnest(%(ids)s::bigint[], %(values)s::bigint[]) AS v(id, value) "
            "WHERE t.id = v.id",
            {"ids": [row_id for _, row_id in rows], "values": [v for v, _ in rows]},
        )
        return
    compiled = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({column: bindparam("row_value")})
        .compile(dialect=dialect)
    )
    convert = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    values = [(convert(v) if convert else v, row_id) for v, row_id in rows]
    params: list[Any]
    if compiled.positional:
        order = list(compiled.positiontup or ())
        params = [
            tuple(v if key == "row_value" else row_id for key in order) for v, row_id in values
        ]
    else:
        params = [{"row_value": v, "row_id": row_id} for v, row_id in values]
    connection.exec_driver_sql(compiled.string, params)


def _expire_loaded(session: Session, model: Any, ids: set[int], attribute: str) -> None:
    """Let the rows this session has loaded show what the UPDATEs wrote (the one-by-one path
    changes them through the ORM)."""
    for row_id in ids:
        obj = session.identity_map.get((model, (row_id,), None))  # identity_key(model, row_id)
        if obj is not None:
            session.expire(obj, [attribute])
