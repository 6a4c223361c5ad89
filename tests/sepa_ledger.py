"""What a direct-debit run wrote, with ids and timestamps replaced by what they stand for: to
compare the bulk run with the one-by-one run (tests/integration/test_sepa_bulk_run.py,
test_sepa_properties.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sepaxml
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.ledger.accounts import accounts_by_id
from core.ledger.balances import trial_balance
from core.ledger.models import JournalEntry, Payment
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, Mandate, PreNotification
from core.tenancy.municipalities import Counter, Municipality

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


def state(db: Session, m: Municipality, since: dict[str, int]) -> dict[str, Any]:
    """What the run wrote, ids replaced by what they stand for; ``since`` the largest ids
    before the run."""
    codes = {a.id: a.code for a in accounts_by_id(db, m.id).values()}
    payments = {p.id: p for p in db.scalars(select(Payment).where(Payment.id > since["payment"]))}
    refs = {pid: p.external_ref for pid, p in payments.items()}
    items = list(db.scalars(select(DirectDebitItem).where(DirectDebitItem.municipality_id == m.id)))
    item_refs = {i.id: i.end_to_end_id for i in items}
    entries = sorted(
        str(
            (
                e.person_id,
                e.kind.value,
                e.value_date,
                e.text,
                e.actor,
                sorted(
                    (
                        codes[x.debit_account_id],
                        codes[x.credit_account_id],
                        x.amount_cents,
                        x.claim_id,
                        refs.get(x.payment_id or 0),
                    )
                    for x in e.postings
                ),
            )
        )
        for e in db.scalars(select(JournalEntry).where(JournalEntry.id > since["entry"]))
    )
    audit = sorted(
        json.dumps(
            [
                a.actor,
                a.action,
                a.object_type,
                refs.get(a.object_id or 0) if a.object_type == "payment" else a.object_id,
                a.before,
                {k: v for k, v in (a.after or {}).items() if k != "message_id"},
            ],
            sort_keys=True,
            default=str,
        )
        for a in db.scalars(
            select(AuditEvent).where(
                AuditEvent.id > since["audit"], AuditEvent.object_type != "sepa_run"
            )
        )
    )
    run_audit = [
        {k: v for k, v in (a.after or {}).items() if k != "message_id"}
        for a in db.scalars(select(AuditEvent).where(AuditEvent.object_type == "sepa_run"))
    ]
    return {
        "entries": entries,
        "payments": sorted(
            str((p.person_id, p.amount_cents, p.received_on, p.channel, p.reference_text, ref))
            for ref, p in ((p.external_ref, p) for p in payments.values())
        ),
        "items": sorted(
            str(
                (
                    i.mandate_id,
                    i.person_id,
                    i.claim_id,
                    i.amount_cents,
                    i.end_to_end_id,
                    refs[i.payment_id],
                    i.status,
                )
            )
            for i in items
        ),
        "prenotifications": sorted(
            (pn.id, item_refs.get(pn.used_by_item_id or 0))
            for pn in db.scalars(
                select(PreNotification).where(PreNotification.municipality_id == m.id)
            )
        ),
        "mandates": sorted(
            (x.id, x.status.value, x.status_reason, x.ended_on, x.last_collected_on)
            for x in db.scalars(select(Mandate).where(Mandate.municipality_id == m.id))
        ),
        "audit": audit,
        "run audit": run_audit,
        "accounts": sorted(codes.values()),
        "counters": sorted(
            db.execute(
                select(Counter.name, Counter.last_value).where(Counter.municipality_id == m.id)
            ).all()
        ),
        "trial balance": trial_balance(db, m.id),
    }


def pain008_content(run: DirectDebitRun) -> bytes:
    """The pain.008 with its random ids and creation time masked, canonical (C14N)."""
    doc = etree.fromstring(run.xml)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)  # an independent check
    msg_id = doc.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", NS)
    pmt_inf_id = doc.find("p:CstmrDrctDbtInitn/p:PmtInf/p:PmtInfId", NS)
    created = doc.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:CreDtTm", NS)
    assert msg_id is not None and pmt_inf_id is not None and created is not None
    assert (msg_id.text, pmt_inf_id.text) == (run.message_id, run.payment_info_id)
    assert re.fullmatch(r"\d{14}-[0-9a-f]{12}", msg_id.text or "")  # as sepaxml makes it
    assert re.fullmatch(r"[A-Za-z0-9]{1,22}-[0-9a-f]{12}", pmt_inf_id.text or "")
    msg_id.text = pmt_inf_id.text = created.text = "*"
    return etree.tostring(doc, method="c14n")


def largest_ids(db: Session) -> dict[str, int]:
    return {
        name: db.scalar(select(func.coalesce(func.max(model.id), 0))) or 0
        for name, model in (("payment", Payment), ("entry", JournalEntry), ("audit", AuditEvent))
    }
