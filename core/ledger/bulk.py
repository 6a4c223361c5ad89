"""Bulk booking: a chunk of claims (Sollstellungen) with their journal entries, postings and
audit rows in a handful of statements (one executemany per table, the ids reserved up front),
for the annual runs.

Each claim is booked exactly as :func:`core.ledger.claims.post_claim` books it, row for row:
a claim, one journal entry with one posting (person's receivable ← the levy's revenue), the
audit row ``claim.posted`` with the same actor and content. The rows are only inserted, never
updated, so the append-only guards (session hook, database triggers) and the CHECKs see them
as any other insert. Credit is offset afterwards only for the persons who have credit.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, func, select, union_all
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.bulk_rows import executemany as executemany  # re-exported (bulk paths use it)
from core.kernel.bulk_rows import insert_rows
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.id_lists import ids_in
from core.ledger.accounts import Payer, system_account
from core.ledger.credit import apply_credit
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import AccountKind, Claim, EntryKind, JournalEntry, LedgerAccount, Posting
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, reserve_ids


class NewClaim(NamedTuple):
    """One claim to book, with what :func:`core.ledger.claims.post_claim` takes for it (a
    tuple: made by the hundred thousand in an annual run)."""

    person: Payer  # a Person, or a run's plain copy of one
    kind: ClaimKind
    amount_cents: int
    due_date: date
    description: str
    kassenzeichen: str
    period_start: date | None = None
    period_end: date | None = None
    assessment_key: str | None = None
    notice_id: int | None = None


def post_claims(
    session: Session,
    claims: Sequence[NewClaim],
    *,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[int]:
    """Book ``claims`` (a chunk) at once; returns the new claims' ids in their order.

    The same rows as one :func:`~core.ledger.claims.post_claim` per claim, in four INSERTs
    (plus the one of the person accounts opened now); then credit is offset for the persons who
    have any (Verrechnung), as after each single claim. The rows are built as tuples in the
    order of :data:`CLAIM_KEYS` etc. (no dict per row), the journal texts once per kind and
    description, and the audit row's document as its JSON text (what the JSON column would
    serialise, without the driver's per-row wrapping)."""
    for new in claims:
        _check(new, municipality)
    if not claims:
        return []
    session.flush()  # what the session holds goes first, as it would before a single claim
    now = clock.now()  # one instant for the chunk's rows (one transaction)
    persons = {new.person.id: new.person for new in claims}
    receivable = receivable_accounts(session, list(persons.values()))
    revenue = {kind: _revenue(session, municipality.id, kind) for kind in {c.kind for c in claims}}
    count = len(claims)
    claim_ids = reserve_ids(session, Claim, count)
    entry_ids = reserve_ids(session, JournalEntry, count)
    connection = session.connection()
    m_id = municipality.id
    insert_rows(connection, _table(Claim), CLAIM_KEYS, _claim_rows(claims, claim_ids, m_id, now))
    insert_rows(
        connection,
        _table(JournalEntry),
        ENTRY_KEYS,
        _entry_rows(claims, entry_ids, as_of, now, actor),
    )
    posting_ids = reserve_ids(session, Posting, count)
    insert_rows(
        connection,
        _table(Posting),
        POSTING_KEYS,
        [
            (posting_id, entry_id, receivable[new.person.id], revenue[new.kind],
             new.amount_cents, claim_id, None)
            for new, posting_id, claim_id, entry_id in zip(
                claims, posting_ids, claim_ids, entry_ids, strict=True
            )
        ],
    )  # fmt: skip
    insert_rows(
        connection,
        _table(AuditEvent),
        AUDIT_KEYS,
        _audit_rows(session, claims, claim_ids, m_id, actor, now),
        as_text=("after",),
    )
    for person_id in with_credit(session, persons):
        apply_credit(session, session.get_one(Person, person_id), as_of=as_of, actor=actor)
    return claim_ids


def _claim_rows(
    claims: Sequence[NewClaim], claim_ids: list[int], m_id: int, now: datetime
) -> list[tuple[Any, ...]]:
    """The claim rows in the order of :data:`CLAIM_KEYS`."""
    return [
        (claim_id, m_id, new.person.id, new.kind, new.description[:200], new.period_start,
         new.period_end, new.amount_cents, new.due_date, new.kassenzeichen,
         new.assessment_key, new.notice_id, now, None)
        for new, claim_id in zip(claims, claim_ids, strict=True)
    ]  # fmt: skip


def _entry_rows(
    claims: Sequence[NewClaim], entry_ids: list[int], as_of: date, now: datetime, actor: str
) -> list[tuple[Any, ...]]:
    """The journal entry rows in the order of :data:`ENTRY_KEYS`, each text made once per kind
    and description."""
    texts: dict[tuple[ClaimKind, str], str] = {}
    return [
        (entry_id, new.person.municipality_id, new.person.id, EntryKind.CLAIM, as_of, now,
         texts.get((new.kind, new.description)) or _entry_text(texts, new), actor, None)
        for new, entry_id in zip(claims, entry_ids, strict=True)
    ]  # fmt: skip


def _keys(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# the columns of the rows post_claims builds, in the order of their tuples
CLAIM_KEYS = _keys(
    "id municipality_id person_id kind description period_start period_end amount_cents "
    "due_date kassenzeichen assessment_key notice_id created_at cancelled_by_entry_id"
)
ENTRY_KEYS = _keys(
    "id municipality_id person_id kind value_date booked_at text actor reverses_entry_id"
)
POSTING_KEYS = _keys(
    "id entry_id debit_account_id credit_account_id amount_cents claim_id payment_id"
)
AUDIT_KEYS = _keys("id occurred_at municipality_id actor action object_type object_id before after")


def _entry_text(texts: dict[tuple[ClaimKind, str], str], new: NewClaim) -> str:
    """The journal text of post_claim, made once per kind and description of a chunk."""
    text = f"Sollstellung {KINDS[new.kind].label}: {new.description[:200]}"[:200]
    texts[(new.kind, new.description)] = text
    return text


def _check(new: NewClaim, municipality: Municipality) -> None:
    """The checks of post_claim, for every claim before anything is written."""
    if new.person.municipality_id != municipality.id:
        raise LedgerError("Person und Kommune passen nicht zusammen.")
    amount = new.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("Der Betrag einer Forderung muss positiv sein (in Cent).")


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def _revenue(session: Session, municipality_id: int, kind: ClaimKind) -> int:
    return system_account(session, municipality_id, KINDS[kind].revenue_account).id


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """``rows`` as new rows of ``model`` with reserved ids, in one executemany; their ids."""
    ids = reserve_ids(session, model, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id  # the rows are this module's own, made for this insert
    executemany(session.connection(), model.__table__, rows)
    return ids


def _audit_rows(
    session: Session,
    claims: Sequence[NewClaim],
    claim_ids: list[int],
    municipality_id: int,
    actor: str,
    now: datetime,
) -> list[tuple[Any, ...]]:
    """The rows audit.record writes for ``claim.posted`` in post_claim, with the same content
    (in the order of :data:`AUDIT_KEYS`; ``after`` as the JSON text ``json.dumps`` makes of
    the document: keys in the same order, the Kassenzeichen escaped by ``json.dumps``)."""
    table = Claim.__tablename__
    heads: dict[tuple[int, ClaimKind, date], str] = {}  # '{"amount_cents": …, "due_date": …'
    rows = []
    for new, claim_id, audit_id in zip(
        claims, claim_ids, reserve_ids(session, AuditEvent, len(claims)), strict=True
    ):
        shape = (new.amount_cents, new.kind, new.due_date)
        head = heads.get(shape)
        if head is None:
            head = heads[shape] = json.dumps(
                {
                    "amount_cents": new.amount_cents,
                    "kind": new.kind.value,
                    "due_date": new.due_date.isoformat(),
                }
            )[:-1]
        after = f'{head}, "kassenzeichen": {json.dumps(new.kassenzeichen)}}}'
        rows.append(
            (audit_id, now, municipality_id, actor, "claim.posted", table, claim_id, None, after)
        )
    return rows


def receivable_accounts(session: Session, persons: Sequence[Payer]) -> dict[int, int]:
    """The receivable account id per person; the Personenkonto (receivable and credit) of a
    person who has none yet is opened as :func:`core.ledger.accounts.person_accounts` opens it,
    for all of them in one INSERT."""
    found = {
        (person_id, kind): account_id
        for account_id, person_id, kind in session.execute(
            select(LedgerAccount.id, LedgerAccount.person_id, LedgerAccount.kind).where(
                ids_in(LedgerAccount.person_id, [p.id for p in persons])
            )
        )
    }
    missing: list[dict[str, Any]] = [
        {
            "municipality_id": person.municipality_id,
            "code": f"{prefix}{person.number:08d}",
            "name": f"{name} Personenkonto {person.number}",
            "kind": kind,
            "person_id": person.id,
        }
        for person in persons
        for kind, prefix, name in (
            (AccountKind.RECEIVABLE, "P", "Forderungen"),
            (AccountKind.CREDIT, "G", "Guthaben"),
        )
        if (person.id, kind) not in found
    ]
    if missing:
        ids = _insert(session, LedgerAccount, missing)
        for row, account_id in zip(missing, ids, strict=True):
            found[(int(row["person_id"]), AccountKind(row["kind"]))] = account_id
    return {p.id: found[(p.id, AccountKind.RECEIVABLE)] for p in persons}


def with_credit(session: Session, person_ids: Collection[int]) -> list[int]:
    """The persons (of ``person_ids``) whose credit account holds credit, in two queries: their
    credit accounts (by the person index), then those accounts' postings on either side (each
    found by its own index). The accounts are looked up first so that the postings are read
    by account id: in one statement PostgreSQL joined a whole scan of ``posting`` per chunk
    once the run's own rows had outgrown the planner's statistics."""
    if not person_ids:
        return []
    accounts: dict[int, int] = {
        account_id: person_id
        for account_id, person_id in session.execute(
            select(LedgerAccount.id, LedgerAccount.person_id).where(
                ids_in(LedgerAccount.person_id, person_ids),
                LedgerAccount.kind == AccountKind.CREDIT,
            )
        )
        if person_id is not None  # always (a CHECK: person accounts have their person)
    }
    if not accounts:
        return []
    signed = union_all(
        select(
            Posting.credit_account_id.label("account_id"), Posting.amount_cents.label("cents")
        ).where(ids_in(Posting.credit_account_id, accounts)),
        select(Posting.debit_account_id, -Posting.amount_cents).where(
            ids_in(Posting.debit_account_id, accounts)
        ),
    ).subquery()
    rows = session.execute(
        select(signed.c.account_id, func.sum(signed.c.cents)).group_by(signed.c.account_id)
    )
    return sorted(accounts[account_id] for account_id, credit in rows if credit and credit > 0)
