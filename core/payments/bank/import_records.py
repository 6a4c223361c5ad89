"""The record of one imported bank file (statement or status report): made before its lines are
booked, and given its report (counts only) when done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.payments.bank.models import StatementImport
from core.payments.bank.report import ImportReport


def new_import(
    session: Session,
    municipality_id: int,
    *,
    filename: str,
    sha256: str,
    kind: str,
    message_id: str,
    statement_id: str,
    iban: str,
    actor: str,
) -> StatementImport:
    record = StatementImport(
        municipality_id=municipality_id,
        filename=filename[:200],
        sha256=sha256,
        kind=kind,
        message_id=message_id[:35],
        statement_id=statement_id[:35],
        iban=iban,
        report={},
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    return record


def finish_import(
    session: Session, record: StatementImport, report: ImportReport, action: str, actor: str
) -> None:
    """Keep the report with the import and in the audit trail (counts only, no personal data)."""
    record.report = report.as_dict()
    audit.record(
        session,
        actor=actor,
        action=action,
        obj=record,
        municipality_id=record.municipality_id,
        after=record.report,
    )
    session.flush()


def imports_of(session: Session, municipality_id: int, limit: int = 30) -> list[StatementImport]:
    return list(
        session.scalars(
            select(StatementImport)
            .where(StatementImport.municipality_id == municipality_id)
            .order_by(StatementImport.id.desc())
            .limit(limit)
        )
    )
