"""Erstattungszinsen (§ 233a AO) of a final trade-tax assessment, paid out through the ledger.

A trade-tax notice whose settlement refunds advance payments computes interest on the refund
where the statute charges § 233a interest (:func:`core.levies.trade_tax.rules.interest_cents`:
from 15 months after the year's end, 0.15 % per full month, on the refund rounded down to
50 €, rounded up to full euro, none below 10 €). The interest is owed **to** the business: it is
booked as soon as the notice is issued (after the approver where four eyes apply) as credit on
the business's personal account (Guthaben, debit the expense account 6760), the same path as
the refunded tax itself (:mod:`core.levies.booking`: what a reduction frees becomes credit),
which is set off against open items (§ 226 AO) or paid back with the refund.

Per business and year the interest credited so far is kept (:class:`RefundInterest`, one row
per notice that changed it), so a later notice books only the difference: more interest, more
credit; less (a later notice refunds less), a claim of kind ``interest`` for what was credited
too much, due one month after that notice (§ 233a (5) AO with § 20 (2) GewStG; the credit stays
and is set off against it). A notice issued again with the same interest books nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime
from core.kernel.months import add_months
from core.ledger.accounts import person_accounts, system_account
from core.ledger.claims import post_claim
from core.ledger.credit import apply_credit
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.kinds import ClaimKind
from core.ledger.models import EntryKind
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

EXPENSE_ACCOUNT = "6760"  # Erstattungszinsen (core.ledger.kinds.SYSTEM_ACCOUNTS)


class RefundInterest(Base):
    """What one notice changed of the Erstattungszinsen credited for a business and year:
    positive credited, negative claimed back."""

    __tablename__ = "trade_tax_refund_interest"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
        CheckConstraint(
            "(entry_id IS NULL) <> (claim_id IS NULL)", name="booked_as_credit_or_claim"
        ),
        Index("ix_trade_tax_refund_interest_object", "tax_object_id", "year"),
        Index("ix_trade_tax_refund_interest_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    tax_object_id: Mapped[int] = mapped_column(ForeignKey("tax_object.id", ondelete="RESTRICT"))
    year: Mapped[int]
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT")
    )
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


def credited_cents(session: Session, tax_object_id: int, year: int) -> int:
    """The Erstattungszinsen credited so far for a business and year (net)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(RefundInterest.amount_cents), 0)).where(
                RefundInterest.tax_object_id == tax_object_id, RefundInterest.year == year
            )
        )
        or 0
    )


def of_person(session: Session, person_id: int) -> list[tuple[RefundInterest, Notice]]:
    """The person's Erstattungszinsen bookings with their notices, newest first."""
    return [
        (row, notice)
        for row, notice in session.execute(
            select(RefundInterest, Notice)
            .join(Notice, Notice.id == RefundInterest.notice_id)
            .where(RefundInterest.person_id == person_id)
            .order_by(RefundInterest.id.desc())
        )
    ]


def book(
    session: Session, notice: Notice, municipality: Municipality, *, actor: str
) -> RefundInterest | None:
    """Book what ``notice`` (a trade-tax notice just issued) changes of the Erstattungszinsen
    of its business and year (see the module docstring); None when nothing changes."""
    interest = int(notice.data.get("trade_tax", {}).get("interest_cents", 0))
    tax_object_id = int(notice.data["tax_object_id"])
    owed = max(0, -interest)
    difference = owed - credited_cents(session, tax_object_id, notice.year)
    if not difference:
        return None
    person = session.get_one(Person, notice.person_id)
    what = f"Erstattungszinsen § 233a AO, Gewerbesteuer {notice.year}, Bescheid Nr. {notice.number}"
    row = RefundInterest(
        municipality_id=notice.municipality_id,
        person_id=person.id,
        tax_object_id=tax_object_id,
        year=notice.year,
        notice_id=notice.id,
        amount_cents=difference,
    )
    if difference > 0:
        row.entry_id = _credit(session, person, difference, notice.issued_on, what, actor)
        apply_credit(session, person, as_of=notice.issued_on, actor=actor)  # § 226 AO
    else:
        claim = post_claim(
            session,
            person=person,
            municipality=municipality,
            kind=ClaimKind.INTEREST,
            amount_cents=-difference,
            due_date=add_months(notice.issued_on, 1),
            description=f"Rückforderung zu viel gezahlter {what}",
            as_of=notice.issued_on,
            actor=actor,
            kassenzeichen=notice.kassenzeichen,
            notice_id=notice.id,
        )
        row.claim_id = claim.id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="trade_tax.refund_interest_booked",
        obj=row,
        municipality_id=notice.municipality_id,
        after={"notice_id": notice.id, "year": notice.year, "amount_cents": difference},
    )
    return row


def _credit(
    session: Session, person: Person, cents: int, value_date: date, text: str, actor: str
) -> int:
    """Credit ``cents`` to the person (Guthaben), debiting the interest expense."""
    accounts = person_accounts(session, person)
    expense = system_account(session, person.municipality_id, EXPENSE_ACCOUNT)
    entry = new_entry(person, EntryKind.REFUND, value_date=value_date, text=text, actor=actor)
    add_posting(entry, expense, accounts.credit, cents)
    return save_entry(session, entry).id
