"""What an accepted import of basis notices assesses, and the basis notices a clerk assigned
from the queue (:func:`assess_assigned`, the same assessments). Called by the CLI and the
back-office upload alike, after the import has committed (``imports.import_file``), it runs
the property tax's change assessments for the plots and years the import touched (only
differences are booked: ``property_tax.changes.reassess_import``) and prepares the trade-tax
notices of its Gewerbesteuermessbescheide (``trade_tax.approval.prepare_from_basis_notices``:
above the four-eyes limit they wait for an approver). A file refused, one imported before or
one that brought nothing new assesses nothing (no import record: ``report.import_id`` is
None). It sits one layer above ``basis_notices`` because the levies import the basis
notices."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from core.levies.basis_notices.imports import ImportReport
from core.levies.property_tax.changes import reassess_import, reassess_notices
from core.levies.trade_tax.approval import Prepared, prepare_from_basis_notices
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality


@dataclass(frozen=True)
class Assessed:
    """How many notices the import led to."""

    property_tax_notices: int = 0
    trade_tax_notices: int = 0
    trade_tax_waiting: int = 0

    def summary(self) -> str:
        return (
            f"Festgesetzt: {self.property_tax_notices} Grundsteuerbescheide erlassen, "
            f"{self.trade_tax_notices} Gewerbesteuerbescheide erlassen, "
            f"{self.trade_tax_waiting} warten auf Freigabe."
        )


def assess_import(
    session: Session,
    municipality: Municipality,
    report: ImportReport,
    *,
    as_of: date,
    actor: str,
) -> Assessed:
    """Assess what the import of ``report`` brought; the caller commits."""
    if report.already_imported or report.import_id is None:
        return Assessed()
    property_notices = reassess_import(
        session, municipality, report.import_id, as_of=as_of, actor=actor
    )
    prepared = prepare_from_basis_notices(
        session, municipality=municipality, as_of=as_of, actor=actor, import_id=report.import_id
    )
    return _assessed(property_notices, prepared)


def assess_assigned(
    session: Session,
    municipality: Municipality,
    notice_ids: Collection[int],
    *,
    as_of: date,
    actor: str,
) -> Assessed:
    """Assess the basis notices a clerk assigned from the queue (``queue.assign_notices``,
    committed first as an import is): the same change assessments and trade-tax notices (four
    eyes above the limit) as an import's. Assigning is possible once per queued record, so
    nothing is assessed twice; and assessing again books nothing new anyway."""
    if not notice_ids:
        return Assessed()
    property_notices = reassess_notices(session, municipality, notice_ids, as_of=as_of, actor=actor)
    prepared = prepare_from_basis_notices(
        session, municipality=municipality, as_of=as_of, actor=actor, notice_ids=notice_ids
    )
    return _assessed(property_notices, prepared)


def _assessed(property_notices: Sequence[Notice], prepared: Sequence[Prepared]) -> Assessed:
    return Assessed(
        property_tax_notices=len(property_notices),
        trade_tax_notices=sum(1 for p in prepared if p.notice is not None),
        trade_tax_waiting=sum(1 for p in prepared if p.application is not None),
    )
