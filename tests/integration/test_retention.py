"""Retention runs (core.retention): preview → four eyes → job; what is past its period and not
blocked is deleted or anonymised, once; the ledger stays as it was; the audit trail names what
was deleted, never the content. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.delivery.models import Delivery, Dispatch
from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.identity.models import UserAccount
from core.jobs import control, worker
from core.jobs.kinds import kind_named
from core.jobs.models import Job
from core.kernel.archive import Document
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, ValidationError
from core.kernel.mail import OutboxMessage
from core.ledger.balances import trial_balance
from core.ledger.models import JournalEntry, Posting
from core.notices.records import Notice
from core.objections.models import Objection
from core.payments.payouts.accounts import record_payout_account
from core.payments.payouts.models import PayoutAccount
from core.payments.sepa.models import Mandate, MandateStatus
from core.persons.models import Address, Person
from core.retention import blocks, runs
from core.retention.erasure import ERASED_IBAN
from core.retention.models import ObjectType, RetentionItem, RunState
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute
from tests import retention_helpers as old
from tests.retention_helpers import PDF

AS_OF = date(2026, 12, 3)
OLD = date(2015, 3, 1)  # due on 1 January 2026 (10 years)
RECENT = date(2016, 3, 1)  # due on 1 January 2027: kept


def _run(db: Session, m: Municipality, as_of: date = AS_OF) -> runs.RetentionRun:
    run, _ = runs.open_run(db, m, as_of, "user:1")
    return run


def _execute(db: Session, factory: sessionmaker[Session], run: runs.RetentionRun) -> None:
    runs.approve(db, run, "user:2")
    db.commit()
    worker.drain(factory, environment={})
    db.expire_all()


def _content(db: Session, doc_id: int) -> bytes:
    return bytes(db.scalar(select(Document.content).where(Document.id == doc_id)) or b"")


def _ledger(db: Session, m: Municipality) -> tuple[Any, int, int]:
    entries = db.scalar(
        select(func.count(JournalEntry.id)).where(JournalEntry.municipality_id == m.id)
    )
    postings = db.scalar(select(func.sum(Posting.amount_cents)))
    return trial_balance(db, m.id), int(entries or 0), int(postings or 0)


def test_preview_lists_what_is_due_and_deletes_nothing(db: Session, make: Any) -> None:
    m = make.municipality()
    erika = old.old_person(db, make, m, OLD)
    due = old.notice(db, m, erika, OLD)
    kept = old.notice(db, m, make.person(m), RECENT)
    mail = old.mail(db, m, date(2024, 6, 1))
    audit_rows = db.scalar(select(func.count(AuditEvent.id)))

    shown = runs.preview(db, m, AS_OF)

    due_keys = {(i.object_type, i.object_id) for i in shown.due}
    assert (ObjectType.DOCUMENT, due.document_id) in due_keys
    assert (ObjectType.DOCUMENT, kept.document_id) not in due_keys
    assert (ObjectType.OUTBOX, mail.id) in due_keys
    assert (ObjectType.PERSON, erika.id) in due_keys
    assert next(i for i in shown.due if i.object_id == due.document_id).due_on == date(2026, 1, 1)
    assert shown.counts() == {"buchungsbeleg": 2, "benachrichtigung": 1}
    assert _content(db, due.document_id or 0) == PDF
    assert db.scalar(select(func.count(AuditEvent.id))) == audit_rows  # nothing written
    assert db.get_one(Person, erika.id).family_name != "gelöscht"


def test_blocked_by_open_claim_legal_hold_objection_and_instalment_plan(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    owing = old.old_person(db, make, m, OLD)
    make.claim(m, owing, amount=700, due=OLD, as_of=OLD)  # still open after ten years
    held = old.old_person(db, make, m, OLD)
    blocks.place_hold(
        db, m.id, person_number=held.number, document_id=None, reason="Rechtsstreit Az. 1/26",
        starts_on=date(2026, 1, 1), ends_on=None, actor="user:1",
    )  # fmt: skip
    objecting = old.old_person(db, make, m, OLD)
    objected = old.notice(db, m, objecting, OLD)
    old.objection(db, m, objecting, objected)
    one_document = old.old_person(db, make, m, OLD)
    kept_doc = old.notice(db, m, one_document, OLD)
    blocks.place_hold(
        db, m.id, person_number=None, document_id=kept_doc.document_id, reason="Prüfung",
        starts_on=date(2026, 1, 1), ends_on=None, actor="user:1",
    )  # fmt: skip
    paying = old.old_person(db, make, m, OLD)
    db.add(
        InstalmentPlan(
            municipality_id=m.id, person_id=paying.id, state=PlanState.ACTIVE,
            starts_on=OLD, deferred_cents=100, interest_cents=0, statute_source="t",
            created_by="t",
        )
    )  # fmt: skip
    db.flush()

    shown = runs.preview(db, m, AS_OF)

    reasons = {(i.object_type, i.object_id): i.blocked for i in shown.blocked}
    assert reasons[(ObjectType.PERSON, owing.id)] == "offene Forderung"
    assert reasons[(ObjectType.PERSON, held.id)] == "Löschsperre: Rechtsstreit Az. 1/26"
    assert reasons[(ObjectType.PERSON, objecting.id)] == "Widerspruch nicht entschieden"
    assert reasons[(ObjectType.DOCUMENT, objected.document_id)] == "Widerspruch nicht entschieden"
    assert reasons[(ObjectType.DOCUMENT, kept_doc.document_id)] == "Löschsperre: Prüfung"
    assert "gesperrt" in (reasons[(ObjectType.PERSON, one_document.id)] or "")
    assert reasons[(ObjectType.PERSON, paying.id)] == "Ratenzahlung läuft"
    assert not shown.due


def test_a_hold_that_ended_blocks_no_more(db: Session, make: Any) -> None:
    m = make.municipality()
    person = old.old_person(db, make, m, OLD)
    hold = blocks.place_hold(
        db, m.id, person_number=person.number, document_id=None, reason="Prüfung",
        starts_on=date(2026, 1, 1), ends_on=None, actor="user:1",
    )  # fmt: skip
    blocks.end_hold(db, hold, date(2026, 11, 30), "user:1")
    assert [i.object_id for i in runs.preview(db, m, AS_OF).due] == [person.id]
    with pytest.raises(ValidationError, match="bereits beendet"):
        blocks.end_hold(db, hold, date(2026, 12, 1), "user:1")


def test_four_eyes_the_preparer_is_refused(db: Session, make: Any) -> None:
    m = make.municipality()
    old.old_person(db, make, m, OLD)
    run = _run(db, m)
    with pytest.raises(ValidationError, match="Vier-Augen-Prinzip"):
        runs.approve(db, run, "user:1")
    assert run.state is RunState.PREVIEW
    with pytest.raises(IllegalTransition, match="noch offen"):
        runs.open_run(db, m, AS_OF, "user:3")
    with pytest.raises(ValidationError, match="Zukunft"):
        runs.preview(db, m, date(2999, 1, 1))


def test_the_run_deletes_once_keeps_the_ledger_and_audits_without_content(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    login = make.user()
    erika = old.old_person(db, make, m, OLD, user=login, email="erika@test.example")
    notice = old.notice(db, m, erika, OLD)
    objected = old.objection(db, m, erika, notice)
    objected.decided_on, objected.decided_by = date(2015, 6, 1), "user:3"
    sent = old.notification(db, m, notice, OLD)
    kept = old.notice(db, m, make.person(m), RECENT)
    mail = old.mail(db, m, date(2024, 6, 1))
    before = _ledger(db, m)
    db.commit()

    run = _run(db, m)
    _execute(db, session_factory, run)

    assert db.get_one(runs.RetentionRun, run.id).state is RunState.DONE
    assert _content(db, notice.document_id or 0) == b""
    doc = db.get_one(Document, notice.document_id)
    assert doc.sha256 and doc.size_bytes == len(PDF)  # the row and its hash stay
    assert _content(db, kept.document_id or 0) == PDF
    person = db.get_one(Person, erika.id)
    assert (person.family_name, person.given_name, person.email) == ("gelöscht", None, None)
    assert not db.scalars(select(Address).where(Address.person_id == erika.id)).all()
    assert db.get_one(Notice, notice.id).data["recipient"] == {"name": "gelöscht", "lines": []}
    assert db.get_one(Objection, objected.id).reasons == "gelöscht"
    account = db.get_one(UserAccount, login.id)
    assert (account.is_active, account.email, account.password_hash) == (False, None, None)
    dispatch = db.get_one(Dispatch, sent.id)
    assert (dispatch.recipient, dispatch.body, dispatch.subject) == ("", "", "Neuer Bescheid")
    assert db.get_one(Delivery, dispatch.delivery_id).notified_to is None
    message = db.get_one(OutboxMessage, mail.id)
    assert (message.recipient, message.body) == ("", "")
    assert _ledger(db, m) == before  # every account and posting as it was

    erased = db.scalars(
        select(AuditEvent).where(
            AuditEvent.municipality_id == m.id, AuditEvent.action == "retention.erased"
        )
    ).all()
    assert {(e.after or {})["object_type"] for e in erased} == {
        "document", "outbox_message", "delivery_dispatch", "person",
    }  # fmt: skip
    written = repr([(e.before, e.after) for e in erased])
    for secret in ("Erika", "Mustermann", "erika@test.example", "Testa", "Weg"):
        assert secret not in written
    assert all((e.after or {})["rule"].startswith("buchungsbeleg") or (e.after or {})[
        "category"] == "benachrichtigung" for e in erased)  # fmt: skip

    second = _run(db, m)  # the same as-of date again: nothing is due any more
    assert not runs.open_items(db, second)
    assert runs.approve(db, second, "user:2") is None
    db.commit()
    assert db.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.municipality_id == m.id, AuditEvent.action == "retention.erased"
        )
    ) == len(erased)


def test_a_claim_reopened_after_the_preview_keeps_the_person(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    person = old.old_person(db, make, m, OLD)
    notice = old.notice(db, m, person, OLD)
    db.commit()
    run = _run(db, m)
    make.claim(m, person, amount=300, due=OLD, as_of=OLD)  # booked after the preview
    db.commit()
    _execute(db, session_factory, run)
    items = db.scalars(select(RetentionItem).where(RetentionItem.run_id == run.id)).all()
    assert {i.blocked for i in items} == {"offene Forderung"}
    assert _content(db, notice.document_id or 0) == PDF


def test_a_statute_shortens_a_period(db: Session, make: Any) -> None:
    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id, levy="retention", valid_from=date(2026, 1, 1),
            source="Löschkonzept der Testkommune 2026", data={"periods": {"benachrichtigung": 2}},
        )
    )  # fmt: skip
    recent = old.mail(db, m, date(2024, 6, 1))  # 2 years: due on 1 January 2027
    older = old.mail(db, m, date(2023, 6, 1))
    due = {i.object_id for i in runs.preview(db, m, AS_OF).due}
    assert older.id in due and recent.id not in due


def test_the_database_allows_only_the_erasure_of_a_document(db: Session, make: Any) -> None:
    m = make.municipality()
    doc = old.document(db, m, None, OLD)
    with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
        db.execute(
            text("UPDATE document SET sha256 = :h WHERE id = :i"), {"h": "0" * 64, "i": doc.id}
        )
    with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM document WHERE id = :i"), {"i": doc.id})
    with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
        db.execute(
            text("UPDATE document SET content = :c WHERE id = :i"), {"c": b"other", "i": doc.id}
        )
    db.execute(text("UPDATE document SET content = :c WHERE id = :i"), {"c": b"", "i": doc.id})
    # once erased, never changed again
    with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE document SET content = :c WHERE id = :i"), {"c": PDF, "i": doc.id})


def test_an_active_mandate_blocks_an_ended_one_is_anonymised(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    active, ended = old.old_person(db, make, m, OLD), old.old_person(db, make, m, OLD)
    for person, status in ((active, MandateStatus.ACTIVE), (ended, MandateStatus.EXPIRED)):
        db.add(
            Mandate(
                municipality_id=m.id, person_id=person.id, reference=f"M-{person.id}",
                reference_key=f"M-{person.id}", account_holder="Erika Mustermann",
                iban="DE89370400440532013000", signed_on=OLD, consent_text="Ich ermächtige …",
                status=status, created_by="t",
            )
        )  # fmt: skip
        record_payout_account(
            db, person, iban="DE02120300000000202051", account_holder="Erika M.", actor="t"
        )
    db.commit()
    run = _run(db, m)
    assert runs.figures(db, run) == runs.Figures({"buchungsbeleg": 1}, 0, 1)
    assert {i.object_id: i.blocked for i in runs.items_of(db, run)} == {
        active.id: "SEPA-Mandat aktiv", ended.id: None,
    }  # fmt: skip
    _execute(db, session_factory, run)
    holders = dict(db.execute(select(Mandate.person_id, Mandate.account_holder)).all())
    assert holders[active.id] == "Erika Mustermann"
    assert holders[ended.id] == "gelöscht"
    assert db.scalar(select(Mandate.iban).where(Mandate.person_id == ended.id)) == ERASED_IBAN
    payout_ibans = dict(db.execute(select(PayoutAccount.person_id, PayoutAccount.iban)).all())
    assert payout_ibans == {active.id: "DE02120300000000202051", ended.id: ERASED_IBAN}


def test_a_run_cancelled_midway_resumes_and_deletes_each_record_once(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    monkeypatch.setattr(kind_named("retention"), "chunk_size", 1)  # one record per chunk
    m = make.municipality()
    documents = [old.document(db, m, None, OLD, kind="print_batch") for _ in range(3)]
    db.commit()
    run = _run(db, m)
    job_id = runs.approve(db, run, "user:2")
    db.commit()
    assert worker.run_next_chunk(session_factory, environment={}, job_id=job_id)
    job = db.get_one(Job, job_id)
    control.cancel(db, job, actor="user:2")
    db.commit()
    assert worker.drain(session_factory, environment={}) == 0  # cancelled: nothing taken
    assert control.resume(db, job, actor="user:2") == 2
    db.commit()
    worker.drain(session_factory, environment={})
    db.expire_all()
    assert [_content(db, d.id) for d in documents] == [b"", b"", b""]
    assert db.get_one(runs.RetentionRun, run.id).state is RunState.DONE
    erased = db.scalars(
        select(AuditEvent).where(
            AuditEvent.municipality_id == m.id, AuditEvent.action == "retention.erased"
        )
    ).all()
    assert sorted((e.after or {})["object_id"] for e in erased) == [d.id for d in documents]
    assert {(e.after or {})["category"] for e in erased} == {"versandprotokoll"}
