"""Booking an approved dunning run: each letter's fee and each item's surcharge become claims
of their own (Mahngebühr, Säumniszuschlag: allocated last, § 225 AO), booked in bulk
(core.ledger.bulk.post_claims); the items are marked booked, so they set the claims' levels.

Before booking, every item is checked again against its claim as it stands now
(core.dunning.recheck): paid, blocked or in collection meanwhile → dropped; paid in part → the
fee and surcharge computed again from the current open amount; a letter left empty is dropped.
The chunk that closes the run also books the surcharges of claims paid late (core.dunning.late).

Letter by letter and idempotent: a letter booked once is skipped, so booking twice — or a
chunk of the job done again — books nothing. On PostgreSQL chunks of one run book side by side
(job workers on several machines): each locks the letters it books (``FOR UPDATE``: a letter is
booked by one transaction, and the other finds it booked) and holds the run row only with ``FOR
KEY SHARE`` (it stays approved; :func:`book` of the whole run waits for them with ``FOR
UPDATE``). Whether the run is complete is asked at the end of a chunk under ``FOR NO KEY
UPDATE`` of the run row, which chunks take one after the other: the last to take it sees every
other chunk committed and closes the run. SQLite writes one transaction at a time anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.orm import Session

from core.dunning import late
from core.dunning.models import DunningItem, DunningLetter, DunningRun, RunState
from core.dunning.recheck import ClaimNow, ItemRow, recheck
from core.dunning.selection import chunks
from core.kernel import audit, clock
from core.kernel.errors import IllegalTransition
from core.kernel.id_lists import IDS, ids_in
from core.ledger.bulk import NewClaim, post_claims
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

LETTERS_PER_CHUNK = 500


def book(
    session: Session,
    run: DunningRun,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Book the whole run (all letters not yet booked), then close it; ``progress(letters
    done, letters)`` is called after each chunk."""
    _lock(session, run)
    counts = {"letters": 0, "fees": 0, "surcharges": 0, "dropped": 0}
    if run.state is RunState.BOOKED:
        return counts
    todo = open_letters(session, run)
    for done, part in enumerate(chunks(todo, LETTERS_PER_CHUNK), start=1):
        for key, value in book_letters(session, run, part, actor).items():
            counts[key] += value
        if progress is not None:
            progress(min(done * LETTERS_PER_CHUNK, len(todo)), len(todo))
    close_if_done(session, run, actor)
    return counts


def open_letters(session: Session, run: DunningRun) -> list[int]:
    """The run's letters not yet booked, in id order."""
    return list(
        session.scalars(
            select(DunningLetter.id)
            .where(DunningLetter.run_id == run.id, *_not_done())
            .order_by(DunningLetter.id)
        )
    )


def _not_done() -> tuple[Any, ...]:
    """A letter neither booked nor dropped."""
    return (DunningLetter.booked_at.is_(None), DunningLetter.dropped_at.is_(None))


def _lock(
    session: Session, run: DunningRun, *, read: bool = False, key_share: bool = False
) -> None:
    """The run row locked and read again, approved or booked: ``FOR UPDATE`` (whole run),
    ``read`` + ``key_share``: ``FOR KEY SHARE`` (a chunk; only ``FOR UPDATE`` waits for it),
    ``key_share``: ``FOR NO KEY UPDATE`` (a chunk's end; chunks take it one after the other)."""
    query = select(DunningRun.id).where(DunningRun.id == run.id)
    session.execute(query.with_for_update(read=read, key_share=key_share)).all()
    session.refresh(run)
    if run.state not in (RunState.APPROVED, RunState.BOOKED):
        raise IllegalTransition(
            f"Mahnlauf Nr. {run.id} ist {run.state_label}; gebucht wird erst nach der Freigabe."
        )


def book_letters(
    session: Session, run: DunningRun, letter_ids: Sequence[int], actor: str
) -> dict[str, int]:
    """Book the letters ``letter_ids`` of the run that are not booked yet, each with the
    items whose claims are still to be dunned (core.dunning.recheck)."""
    _lock(session, run, read=True, key_share=True)
    letters = list(
        session.scalars(
            select(DunningLetter)
            .where(
                DunningLetter.id.in_(list(letter_ids)),
                DunningLetter.run_id == run.id,
                *_not_done(),
            )
            .order_by(DunningLetter.id)
            .with_for_update(of=DunningLetter)
        )
    )
    if not letters:
        _close_if_done_now(session, run, actor)  # a run without letters: its late surcharges
        return {"letters": 0, "fees": 0, "surcharges": 0, "dropped": 0}
    items = item_rows(session, [letter.id for letter in letters])
    claims = _claims(session, [i.claim_id for its in items.values() for i in its])
    preview = {i.id: (i.open_cents, i.fee_cents, i.surcharge_cents) for i in _all(items)}
    kept = recheck(session, run, letters, items, claims)
    dropped = [i for i in _all(items) if i.dropped is not None]
    sent = [letter for letter in letters if letter.id in kept]
    persons = _persons(session, [letter.person_id for letter in sent])
    new, targets = _new_claims(run, sent, kept, claims, persons)
    municipality = session.get_one(Municipality, run.municipality_id)
    ids = post_claims(session, new, municipality=municipality, as_of=run.run_date, actor=actor)
    booked = dict(zip(targets, ids, strict=True))
    _audit(session, run, letters, items, booked, actor)
    _mark_booked(session, sent, kept, dropped, booked, preview)  # expires the letters: read
    # them before
    fees = sum(1 for kind, _ in targets if kind == "letter")
    _close_if_done_now(session, run, actor)
    return {
        "letters": len(sent),
        "fees": fees,
        "surcharges": len(targets) - fees,
        "dropped": len(dropped),
    }


def _all(items: dict[int, list[ItemRow]]) -> list[ItemRow]:
    return [i for its in items.values() for i in its]


Target = tuple[str, int]  # ("letter", id): its fee; ("item", id): its surcharge
Booked = dict[Target, int]  # → the claim booked for it


def item_rows(session: Session, letter_ids: Sequence[int]) -> dict[int, list[ItemRow]]:
    """The items per letter as plain rows, in id order."""
    found: dict[int, list[ItemRow]] = {i: [] for i in letter_ids}
    t = DunningItem
    for part in chunks(sorted(letter_ids), IDS):
        rows = session.execute(
            select(
                t.id,
                t.letter_id,
                t.claim_id,
                t.level,
                t.open_cents,
                t.fee_cents,
                t.surcharge_cents,
                t.dropped,
            )
            .where(ids_in(t.letter_id, part))
            .order_by(t.id)
        )
        for row in rows:
            found[row[1]].append(ItemRow(*row))
    return found


def _mark_booked(
    session: Session,
    letters: list[DunningLetter],
    items: dict[int, list[ItemRow]],
    dropped: list[ItemRow],
    booked: Booked,
    preview: dict[int, tuple[int, int, int]],
) -> None:
    """Letters and items marked booked, with the claims booked for them and the items' amounts
    as rechecked (where they differ from the preview's, ``preview``), the dropped items with
    why: one set-based UPDATE for what all of them get, one executemany for what differs per
    row (sent by the driver: SQLAlchemy's executemany rebuilds every row's parameters); the
    loaded letters expired."""
    item_t = cast(Table, DunningItem.__table__)
    connection = session.connection()
    if dropped:
        connection.execute(
            update(item_t)
            .where(item_t.c.id == bindparam("b_id"))
            .values(dropped=bindparam("b_why")),
            [{"b_id": i.id, "b_why": i.dropped} for i in dropped],
        )
    if not letters:
        return
    letter_t = cast(Table, DunningLetter.__table__)
    connection.execute(
        update(letter_t)
        .where(ids_in(letter_t.c.id, [lt.id for lt in letters]))
        .values(booked_at=clock.now())
    )
    fees = [(claim, lt.id) for lt in letters if (claim := booked.get(("letter", lt.id)))]
    _update_many(connection, letter_t, ["fee_claim_id"], fees)
    kept = [i for letter in letters for i in items[letter.id]]
    connection.execute(
        update(item_t).where(ids_in(item_t.c.id, [i.id for i in kept])).values(booked=True)
    )
    surcharges = [(claim, i.id) for i in kept if (claim := booked.get(("item", i.id)))]
    _update_many(connection, item_t, ["surcharge_claim_id"], surcharges)
    changed = [
        (i.open_cents, i.fee_cents, i.surcharge_cents, i.id)
        for i in kept
        if (i.open_cents, i.fee_cents, i.surcharge_cents) != preview[i.id]
    ]
    _update_many(connection, item_t, ["open_cents", "fee_cents", "surcharge_cents"], changed)
    for letter in letters:
        session.expire(letter)


def _update_many(
    connection: Connection, table: Table, columns: list[str], rows: Sequence[tuple[int, ...]]
) -> None:
    """``UPDATE table SET columns = … WHERE id = …`` for each row (the columns' integer values,
    then the id), in one executemany sent by the driver."""
    if not rows:
        return
    names = [f"b_{i}" for i in range(len(columns))]
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(n) for c, n in zip(columns, names, strict=True)})
    )
    compiled = statement.compile(dialect=connection.dialect)
    keys = [*names, "b_id"]
    if compiled.positional:
        order = [keys.index(name) for name in compiled.positiontup or []]
        params: list[Any] = [tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(keys, row, strict=True)) for row in rows]
    connection.exec_driver_sql(compiled.string, params)


def _claims(session: Session, ids: list[int]) -> dict[int, ClaimNow]:
    found: dict[int, ClaimNow] = {}
    c = Claim
    for part in chunks(sorted(set(ids)), IDS):
        rows = session.execute(
            select(
                c.id,
                c.person_id,
                c.kind,
                c.due_date,
                c.kassenzeichen,
                c.description,
                c.cancelled_by_entry_id,
            ).where(ids_in(c.id, part))
        )
        found.update({row[0]: ClaimNow(*row) for row in rows})
    return found


class _Payer(NamedTuple):
    """A plain copy of a person, as core.ledger.bulk.post_claims takes it (Payer)."""

    id: int
    municipality_id: int
    number: int


def _persons(session: Session, ids: list[int]) -> dict[int, _Payer]:
    found: dict[int, _Payer] = {}
    for part in chunks(sorted(set(ids)), IDS):
        rows = session.execute(
            select(Person.id, Person.municipality_id, Person.number).where(ids_in(Person.id, part))
        )
        found.update({row[0]: _Payer(*row) for row in rows})
    return found


def _new_claims(
    run: DunningRun,
    letters: list[DunningLetter],
    items: dict[int, list[ItemRow]],
    claims: dict[int, ClaimNow],
    persons: dict[int, _Payer],
) -> tuple[list[NewClaim], list[Target]]:
    """The fee and surcharge claims to book, and the letter or item each is booked for.
    Both are due at the letter's deadline, under the Kassenzeichen of the claim they follow
    (the fee: the letter's first claim), so a transfer naming it settles them together."""
    new: list[NewClaim] = []
    targets: list[Target] = []
    for letter in letters:
        person, mine = persons[letter.person_id], items[letter.id]
        if letter.fee_cents:
            first = claims[mine[0].claim_id]
            new.append(
                NewClaim(
                    person=person,
                    kind=ClaimKind.DUNNING_FEE,
                    amount_cents=letter.fee_cents,
                    due_date=letter.payment_deadline,
                    description=f"Mahngebühr ({letter.level_name} vom {run.run_date:%d.%m.%Y})",
                    kassenzeichen=first.kassenzeichen,
                )
            )
            targets.append(("letter", letter.id))
        for item in mine:
            if item.surcharge_cents:
                claim = claims[item.claim_id]
                new.append(
                    NewClaim(
                        person=person,
                        kind=ClaimKind.LATE_PAYMENT_SURCHARGE,
                        amount_cents=item.surcharge_cents,
                        due_date=letter.payment_deadline,
                        description=f"Säumniszuschläge bis {run.run_date:%d.%m.%Y} zu "
                        f"{claim.description}",
                        kassenzeichen=claim.kassenzeichen,
                    )
                )
                targets.append(("item", item.id))
    return new, targets


def _audit(
    session: Session,
    run: DunningRun,
    letters: list[DunningLetter],
    items: dict[int, list[ItemRow]],
    booked: Booked,
    actor: str,
) -> None:
    """One ``dunning_letter.booked`` (or ``.dropped``, left without items) row per letter, with
    the items dropped and why, in one INSERT (audit.record_all)."""
    rows = [
        audit.Row(
            actor,
            "dunning_letter.dropped" if letter.dropped_at else "dunning_letter.booked",
            DunningLetter.__tablename__,
            letter.id,
            run.municipality_id,
            after={
                "run_id": run.id,
                "person_id": letter.person_id,
                "level": letter.level,
                "fee_cents": letter.fee_cents,
                "surcharge_cents": letter.surcharge_cents,
                "fee_claim_id": booked.get(("letter", letter.id)),
                "dropped": {
                    str(i.claim_id): i.dropped.value for i in items[letter.id] if i.dropped
                },
            },
        )
        for letter in letters
    ]
    audit.record_all(session, rows)


def _close_if_done_now(session: Session, run: DunningRun, actor: str) -> None:
    """At the end of a chunk: the run row taken from the other chunks (``FOR NO KEY UPDATE``,
    after the one holding it has committed), then closed if nothing is left."""
    _lock(session, run, key_share=True)
    close_if_done(session, run, actor)


def close_if_done(session: Session, run: DunningRun, actor: str) -> bool:
    """Mark the run booked once every letter is (the one who booked the last closes it)."""
    if run.state is not RunState.APPROVED:
        return False
    left = session.scalar(  # any letter left: the run's last letters first (booking goes in
        # id order, so the answer is found at once; a count would read the whole run per chunk)
        select(DunningLetter.id)
        .where(DunningLetter.run_id == run.id, *_not_done())
        .order_by(DunningLetter.id.desc())
        .limit(1)
    )
    if left is not None:
        return False
    late_surcharges = late.book(session, run, actor)  # of claims paid late (core.dunning.late)
    run.state, run.booked_by, run.booked_at = RunState.BOOKED, actor, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dunning_run.booked",
        obj=run,
        municipality_id=run.municipality_id,
        after={"late_surcharges": late_surcharges},
    )
    return True
