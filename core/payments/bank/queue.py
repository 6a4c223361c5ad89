"""The clerks' matching queue (bank lines waiting for a clerk), one page at a time.

A statement of 36,000 unmatched lines once made a 22.9 MB page: the queue is read in pages of
``PAGE_SIZE`` lines (oldest booking day first), with the count and the sum of everything that
matches the filters — direction (incoming / outgoing) and a text in the payer's name or the
remittance text — so the clerk sees how much is open without loading it all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.payments.bank.imports import BankLine, LineStatus

PAGE_SIZE = 50
MAX_SEARCH = 100  # characters of the search text that are used


@dataclass(frozen=True)
class QueueFilter:
    credit: bool | None = None  # True: incoming only, False: outgoing only, None: both
    search: str = ""


@dataclass(frozen=True)
class QueuePage:
    lines: list[BankLine]
    page: int  # 1-based, within 1..pages
    pages: int  # at least 1
    total: int  # lines matching the filter
    total_cents: int  # their sum (incoming minus outgoing is not meant: amounts as shown)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(municipality_id: int, wanted: QueueFilter) -> ColumnElement[bool]:
    conditions = [BankLine.municipality_id == municipality_id, BankLine.status == LineStatus.QUEUED]
    if wanted.credit is not None:
        conditions.append(BankLine.credit.is_(wanted.credit))
    search = wanted.search.strip()[:MAX_SEARCH].lower()
    if search:
        pattern = _like(search)
        conditions.append(
            or_(
                func.lower(BankLine.counterparty_name).like(pattern, escape="\\"),
                func.lower(BankLine.remittance).like(pattern, escape="\\"),
                func.lower(BankLine.end_to_end_id).like(pattern, escape="\\"),
            )
        )
    return and_(*conditions)


def queue_page(
    session: Session,
    municipality_id: int,
    *,
    page: int = 1,
    wanted: QueueFilter | None = None,
    per_page: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue; a page beyond the last shows the last one."""
    where = _conditions(municipality_id, wanted or QueueFilter())
    total, total_cents = session.execute(
        select(func.count(BankLine.id), func.coalesce(func.sum(BankLine.amount_cents), 0)).where(
            where
        )
    ).one()
    pages = max(1, -(-int(total) // per_page))
    page = min(max(page, 1), pages)
    lines = list(
        session.scalars(
            select(BankLine)
            .where(where)
            .order_by(BankLine.booking_date, BankLine.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return QueuePage(lines, page, pages, int(total), int(total_cents))


def import_page(
    session: Session, municipality_id: int, import_id: int, *, page: int = 1, per_page: int = 100
) -> QueuePage:
    """One page of the lines of one imported statement, in statement order (a statement of
    12,000 lines is shown 100 at a time)."""
    where = and_(BankLine.municipality_id == municipality_id, BankLine.import_id == import_id)
    total, total_cents = session.execute(
        select(func.count(BankLine.id), func.coalesce(func.sum(BankLine.amount_cents), 0)).where(
            where
        )
    ).one()
    pages = max(1, -(-int(total) // per_page))
    page = min(max(page, 1), pages)
    lines = list(
        session.scalars(
            select(BankLine)
            .where(where)
            .order_by(BankLine.entry_index, BankLine.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return QueuePage(lines, page, pages, int(total), int(total_cents))


def queued_count(session: Session, municipality_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(BankLine.id)).where(_conditions(municipality_id, QueueFilter()))
        )
        or 0
    )
