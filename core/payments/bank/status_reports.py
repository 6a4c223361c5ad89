"""Payment status reports (pain.002) for our direct-debit files: rejections before settlement."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.kernel.money import format_euro
from core.ledger.reversals import reverse_entry
from core.payments.bank import pain002
from core.payments.bank.import_records import finish_import, new_import
from core.payments.bank.models import StatementImport
from core.payments.bank.report import ImportReport
from core.payments.bank.returns import claim_costs, costs_to_claim, payment_entry, suspend_if_due
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, ItemStatus
from core.payments.sepa.rules import SepaRules, rules_on
from core.tenancy.municipalities import Municipality


def import_status_report(
    session: Session,
    municipality: Municipality,
    status: pain002.StatusReport,
    *,
    sha256: str,
    filename: str,
    as_of: date,
    actor: str,
) -> ImportReport:
    """Rejections before settlement: the payment booked at the run is reversed (the claim is
    open again, nothing moved at the bank), the mandate suspended where the reason says so.
    No flat return fee (the statute's fee is for a return after settlement); charges the bank
    states are passed on where the statute says so (core.payments.bank.returns)."""
    report = ImportReport()
    run = session.scalars(
        select(DirectDebitRun).where(
            DirectDebitRun.municipality_id == municipality.id,
            DirectDebitRun.message_id == status.original_message_id,
        )
    ).first()
    if run is None:
        raise ValidationError(
            "Der Statusbericht bezieht sich auf keine Lastschriftdatei dieser Kasse "
            f"(Nachricht {status.original_message_id[:35]}). Es wurde nichts gebucht. Bitte "
            "prüfen Sie, ob Sie den Statusbericht der richtigen Kasse und des richtigen Kontos "
            "gewählt haben (Lastschrift → Läufe nennt die Dateien dieser Kasse)."
        )
    if _known(session, municipality, status):
        report.already_imported = [status.message_id]
        return report
    items = {
        i.end_to_end_id: i
        for i in session.scalars(select(DirectDebitItem).where(DirectDebitItem.run_id == run.id))
    }
    targets = _rejected_items(status, items, run.filename)
    record = new_import(
        session,
        municipality.id,
        filename=filename,
        sha256=sha256,
        kind=status.kind,
        message_id=status.message_id,
        statement_id=status.message_id,
        iban=municipality.iban,
        actor=actor,
    )
    rules = rules_on(session, municipality.id, as_of)
    for item, reason, charges in targets:
        _reject(session, municipality, item, reason, charges, rules, report, as_of, actor)
    report.statements = 1
    finish_import(session, record, report, "bank.status_report_imported", actor)
    report.import_ids.append(record.id)
    return report


def _known(session: Session, municipality: Municipality, status: pain002.StatusReport) -> bool:
    """The same status report imported before: nothing is booked again."""
    known = session.scalars(
        select(StatementImport.id).where(
            StatementImport.municipality_id == municipality.id,
            StatementImport.iban == municipality.iban,
            StatementImport.statement_id == status.message_id[:35],
        )
    ).first()
    return known is not None


def _reject(
    session: Session,
    municipality: Municipality,
    item: DirectDebitItem,
    reason: str,
    charges: int | None,
    rules: SepaRules,
    report: ImportReport,
    as_of: date,
    actor: str,
) -> None:
    """One debit refused before settlement: its payment reversed, costs claimed where the statute
    says so, the mandate suspended for the statute's reasons; one already handled is a duplicate."""
    if item.status is not ItemStatus.IN_COLLECTION:
        report.duplicates += 1
        return
    reverse_entry(
        session,
        payment_entry(session, item.payment_id),
        as_of=as_of,
        actor=actor,
        reason=f"Lastschrift abgewiesen {reason}",
    )
    item.status, item.returned_on, item.return_reason = ItemStatus.REJECTED, as_of, reason[:4]
    report.rejected += 1
    claim_costs(
        session,
        municipality,
        item,
        costs_to_claim(rules, reason, charges, flat_fee=False),
        reason=reason,
        report=report,
        as_of=as_of,
        actor=actor,
    )
    report.return_charges_cents += charges or 0
    suspend_if_due(
        session, item, rules, reason, f"Lastschrift abgewiesen {reason}", report, as_of, actor
    )


def _rejected_items(
    status: pain002.StatusReport, items: dict[str, DirectDebitItem], filename: str
) -> list[tuple[DirectDebitItem, str, int | None]]:
    """The debits a status report rejects, each with reason and stated charges; matched by the
    original EndToEndId and, where the bank states it, the original amount (all or nothing)."""
    targets: list[tuple[DirectDebitItem, str, int | None]] = []
    for rejection in status.rejections:
        if rejection.end_to_end_id is None:
            targets.extend((item, rejection.reason, None) for item in items.values())
            continue
        item = items.get(rejection.end_to_end_id)
        if item is None:
            raise ValidationError(
                f"Die abgewiesene Lastschrift {rejection.end_to_end_id[:35]} gehört nicht zur "
                f"Datei {filename}. Es wurde nichts gebucht. Bitte prüfen Sie, ob der "
                "Statusbericht zu dieser Lastschriftdatei gehört, und fragen Sie sonst Ihre Bank."
            )
        original = rejection.original_amount_cents
        if original is not None and original != item.amount_cents:
            raise ValidationError(
                f"Die abgewiesene Lastschrift {item.end_to_end_id} lautet laut Statusbericht über "
                f"{format_euro(original)}, eingezogen wurden {format_euro(item.amount_cents)}. "
                "Es wurde nichts gebucht. Bitte klären Sie die Abweichung mit Ihrer Bank."
            )
        targets.append((item, rejection.reason, rejection.charges_cents))
    return targets
