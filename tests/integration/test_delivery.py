"""Delivery end to end on both databases: the consent register (append-only), making available
and notifying through a real SMTP server on loopback, retries and bounces, the postal fallback
batch (idempotent, address in the window), the print folder and a returned letter."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import EmailDispatcher, PostboxDispatcher, PrintFolderDispatcher
from core.delivery.fallback import due_for_post, post_batch, record_return
from core.delivery.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    PrintBatch,
)
from core.delivery.service import make_available, send_due
from core.kernel import archive, audit, clock
from core.kernel.errors import FieldErrors, IllegalTransition, LedgerError, ValidationError
from core.kernel.mail import SmtpSettings
from core.notices.records import NoticeSettings
from core.tenancy.statutes import Statute
from tests.delivery_helpers import Inbox, issue_notice, smtp_server
from tests.pdf_layout import assert_in_address_window

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, Christmas week
PORTAL = "https://portal.example"


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m)
    return m


def email_settings(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="kasse@test.example")


def delivery_of(db: Session, notice_id: int) -> Delivery:
    return db.scalars(select(Delivery).where(Delivery.notice_id == notice_id)).one()


def consenting(db: Session, make: Any, town: Any, email: str) -> Any:
    person = make.person(town)
    consent.give(db, person, channel=Channel.EMAIL, address=email, how="Bürgerportal", actor="t")
    return person


def test_consent_register_keeps_every_entry_and_the_latest_is_in_force(
    db: Session, make: Any, town: Any
) -> None:
    person = make.person(town)
    assert consent.in_force(db, person.id, town.id) is None
    with pytest.raises(ValidationError, match="nicht zugestimmt"):
        consent.withdraw(db, person, how="Bürgerportal", actor="t")
    with pytest.raises(FieldErrors, match="gültige E-Mail-Adresse"):
        consent.give(db, person, channel=Channel.EMAIL, address="kein-at", how="x", actor="t")
    given = consent.give(
        db,
        person,
        channel=Channel.EMAIL,
        address="erika@test.example",
        how="Bürgerportal",
        actor="t",
    )
    assert consent.in_force(db, person.id, town.id) is given
    other = make.person(town)
    assert consent.in_force_for(db, town.id, [person.id, other.id]) == {person.id: given}
    consent.withdraw(db, person, how="schriftlich", actor="clerk")
    assert consent.in_force(db, person.id, town.id) is None
    assert consent.in_force_for(db, town.id, [person.id, other.id]) == {}
    again = consent.give(db, person, channel=Channel.POSTBOX, address=None, how="x", actor="t")
    assert consent.in_force(db, person.id, town.id) is again
    assert [e.action.value for e in consent.history(db, person)] == [
        "given",
        "withdrawn",
        "given",
    ]
    actions = set(
        db.scalars(
            select(audit.AuditEvent.action).where(audit.AuditEvent.municipality_id == town.id)
        )
    )
    assert {"delivery.consent_given", "delivery.consent_withdrawn"} <= actions
    given.address = "anders@test.example"
    with pytest.raises(LedgerError, match="unveränderlich"):
        db.flush()


def test_consenting_person_is_notified_by_email_and_the_deemed_date_is_stored(
    db: Session, make: Any, town: Any
) -> None:
    person = consenting(db, make, town, "erika@test.example")
    notice = issue_notice(db, town, person)
    assert make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t") == {
        "electronic": 1,
        "postal": 0,
    }
    assert make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t") == {
        "electronic": 0,
        "postal": 0,
    }
    delivery = delivery_of(db, notice.id)
    assert delivery.status is DeliveryStatus.AVAILABLE and delivery.deemed_on is None

    inbox = Inbox()
    with smtp_server(inbox) as port:
        dispatchers = {Channel.EMAIL: EmailDispatcher(email_settings(port))}
        sent_at = MONDAY + timedelta(minutes=1)
        assert send_due(db, dispatchers, now=sent_at, actor="t")["sent"] == 1
        assert send_due(db, dispatchers, now=sent_at, actor="t")["sent"] == 0
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["erika@test.example"]
    text = envelope.content.decode()
    assert f"{PORTAL}/{town.slug}/bescheide" in text
    assert str(notice.number) in text
    assert delivery.status is DeliveryStatus.NOTIFIED
    assert delivery.made_available_at is not None and delivery.notified_at is not None
    assert delivery.made_available_at <= delivery.notified_at
    # sent Monday 21.12.2026: + 4 = Friday 25.12. (Christmas), then the weekend → 28.12.
    assert delivery.deemed_on == date(2026, 12, 28)
    assert delivery.notified_to == "erika@test.example"


def test_person_without_consent_waits_for_the_post(db: Session, make: Any, town: Any) -> None:
    notice = issue_notice(db, town, make.person(town))
    assert make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")["postal"] == 1
    delivery = delivery_of(db, notice.id)
    assert delivery.status is DeliveryStatus.AWAITING_POST
    assert db.scalars(select(Dispatch).where(Dispatch.delivery_id == delivery.id)).all() == []


def test_unreachable_mail_server_is_retried_then_the_notice_goes_by_post(
    db: Session, make: Any, town: Any
) -> None:
    from tests.pg import free_port

    person = consenting(db, make, town, "erika@test.example")
    notice = issue_notice(db, town, person)
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    dispatchers = {Channel.EMAIL: EmailDispatcher(email_settings(free_port()))}  # nobody there
    [dispatch] = db.scalars(select(Dispatch)).all()
    now = MONDAY
    assert send_due(db, dispatchers, now=now, actor="t")["retry"] == 1
    assert dispatch.attempts == 1 and "nicht erreichbar" in (dispatch.last_error or "")
    assert dispatch.next_attempt_at == now + timedelta(minutes=5)
    assert send_due(db, dispatchers, now=now + timedelta(minutes=4), actor="t")["retry"] == 0
    for _ in range(3):
        now = dispatch.next_attempt_at
        assert send_due(db, dispatchers, now=now, actor="t")["retry"] == 1
    assert dispatch.attempts == 4
    assert send_due(db, dispatchers, now=dispatch.next_attempt_at, actor="t")["failed"] == 1
    assert dispatch.status is DispatchStatus.FAILED and dispatch.attempts == 5
    delivery = delivery_of(db, notice.id)
    assert delivery.status is DeliveryStatus.AWAITING_POST and delivery.deemed_on is None


def test_refused_address_is_a_bounce_without_retry(db: Session, make: Any, town: Any) -> None:
    person = consenting(db, make, town, "weg@test.example")
    notice = issue_notice(db, town, person)
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    inbox = Inbox(refuse={"weg@test.example"})
    with smtp_server(inbox) as port:
        counts = send_due(
            db, {Channel.EMAIL: EmailDispatcher(email_settings(port))}, now=MONDAY, actor="t"
        )
    assert counts["bounced"] == 1 and inbox.messages == []
    [dispatch] = db.scalars(select(Dispatch)).all()
    assert dispatch.status is DispatchStatus.BOUNCED and dispatch.attempts == 1
    assert "550" in (dispatch.last_error or "")
    assert delivery_of(db, notice.id).status is DeliveryStatus.AWAITING_POST


def test_a_withdrawal_before_sending_stops_the_notification(
    db: Session, make: Any, town: Any
) -> None:
    person = consenting(db, make, town, "erika@test.example")
    notice = issue_notice(db, town, person)
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    consent.withdraw(db, person, how="schriftlich", actor="clerk")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        dispatchers = {Channel.EMAIL: EmailDispatcher(email_settings(port))}
        assert send_due(db, dispatchers, now=MONDAY, actor="t")["failed"] == 1
    assert inbox.messages == []
    [dispatch] = db.scalars(select(Dispatch)).all()
    assert dispatch.attempts == 0 and "widerrufen" in (dispatch.last_error or "")
    assert delivery_of(db, notice.id).status is DeliveryStatus.AWAITING_POST


def notified_by_postbox(db: Session, make: Any, town: Any, now: datetime) -> Any:
    person = make.person(town)
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="x", actor="t")
    notice = issue_notice(db, town, person)
    make_available(db, town, now=now, portal_url=PORTAL, actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=now, actor="t")
    assert delivery_of(db, notice.id).status is DeliveryStatus.NOTIFIED
    return notice


def page_count(pdf: bytes) -> int:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def test_fallback_batch_posts_unfetched_and_unconsented_notices_once(
    db: Session, make: Any, town: Any, tmp_path: Path
) -> None:
    sent = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 1.12.2026
    unfetched = notified_by_postbox(db, make, town, sent)
    fetched = notified_by_postbox(db, make, town, sent)
    document = archive.get_document(db, town.id, _ensure(db, fetched).id)
    archive.record_download(db, document, user_id=None, actor="citizen")
    paper = issue_notice(db, town, make.person(town, family_name="Papierfreund"))
    make_available(db, town, now=sent, portal_url=PORTAL, actor="t")

    # the default deadline: 10 days after the notification (1.12. → overdue from 12.12.)
    assert [d.notice_id for d in _due(db, town, date(2026, 12, 11))] == [paper.id]
    assert [d.notice_id for d in _due(db, town, date(2026, 12, 12))] == [unfetched.id, paper.id]

    as_of = date(2026, 12, 22)  # Tuesday: + 4 = Saturday 26.12. → Monday 28.12.
    due = due_for_post(db, town, as_of)
    result = post_batch(db, town, due, as_of=as_of, settings=SETTINGS, actor="t")
    assert result.batch is not None and len(result.letters) == 2
    assert post_batch(db, town, due, as_of=as_of, settings=SETTINGS, actor="t").letters == []
    assert due_for_post(db, town, as_of) == []
    before = {unfetched.id: {"status": "notified", "deemed_on": "2026-12-07"},
              paper.id: {"status": "awaiting_post", "deemed_on": None}}  # fmt: skip
    for notice in (unfetched, paper):
        delivery = delivery_of(db, notice.id)
        assert delivery.status is DeliveryStatus.POSTED
        assert (delivery.posted_on, delivery.deemed_on) == (as_of, date(2026, 12, 28))
        trail = audit.trail(db, town.id, "delivery", delivery.id)
        assert [e.action for e in trail].count("delivery.posted") == 1  # the 2nd batch: none
        posted = trail[-1]
        assert (posted.action, posted.actor, posted.before, posted.after) == (
            "delivery.posted", "t", before[notice.id],
            {"batch_id": result.batch.id, "deemed_on": "2026-12-28"},
        )  # fmt: skip
    assert delivery_of(db, fetched.id).status is DeliveryStatus.NOTIFIED

    batch = result.batch
    pdf = db.get_one(archive.Document, batch.pdf_document_id).content
    assert page_count(pdf) == batch.pages == sum(letter.pages for letter in result.letters)
    manifest = json.loads(db.get_one(archive.Document, batch.manifest_document_id).content)
    assert [row["notice_number"] for row in manifest["letters"]] == [unfetched.number, paper.number]
    assert all(row["postage_class"] == "Standardbrief" for row in manifest["letters"])
    csv_text = db.get_one(archive.Document, batch.csv_document_id).content.decode()
    assert csv_text.splitlines()[0] == "letter_id;notice_number;pages;recipient;postage_class"
    assert "Papierfreund" in csv_text and f"12345 {town.city}" in csv_text
    # every letter's first page has its recipient in the DIN 5008 window
    first_pages = [0, result.letters[0].pages]
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for letter, start in zip(result.letters, first_pages, strict=True):
            single = _page_pdf(pdf, start)
            assert_in_address_window(single, letter.recipient.split(" / ")[0])
            assert letter.recipient.split(" / ")[0] in (document.pages[start].extract_text() or "")

    [print_job] = db.scalars(select(Dispatch).where(Dispatch.channel == Channel.PRINT)).all()
    folder = tmp_path / "druck"
    printer = {Channel.PRINT: PrintFolderDispatcher(folder)}
    counts = send_due(db, printer, now=clock.now(), actor="t")  # queued at the real time
    assert counts["sent"] == 1 and print_job.status is DispatchStatus.SENT
    names = sorted(p.name for p in folder.iterdir())
    assert [Path(n).suffix for n in names] == [".csv", ".json", ".pdf"]
    assert (folder / names[2]).read_bytes() == pdf


def test_a_notice_without_postal_address_waits_instead_of_being_posted(
    db: Session, make: Any, town: Any
) -> None:
    from core.persons.models import PersonKind, create_person

    nowhere = create_person(
        db,
        kind=PersonKind.NATURAL,
        municipality_id=town.id,
        as_of=date(2026, 1, 1),
        actor="t",
        given_name="Ohne",
        family_name="Anschrift",
    )
    notice = issue_notice(db, town, nowhere)
    assert notice.data["recipient"]["lines"] == []
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    delivery = delivery_of(db, notice.id)
    result = post_batch(
        db, town, [delivery.id], as_of=date(2026, 12, 22), settings=SETTINGS, actor="t"
    )
    assert (result.letters, result.batch, result.without_address) == ([], None, [delivery.id])
    assert delivery.status is DeliveryStatus.AWAITING_POST and delivery.deemed_on is None


def test_the_deadline_is_statute_data(db: Session, make: Any, town: Any) -> None:
    db.add(
        Statute(
            municipality_id=town.id,
            levy="delivery",
            valid_from=date(2020, 1, 1),
            source="Dienstanweisung eBescheid (Test)",
            data={"download_deadline_days": 3, "postage_class": "Kompaktbrief"},
        )
    )
    sent = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    notice = notified_by_postbox(db, make, town, sent)
    assert _due(db, town, date(2026, 12, 4)) == []
    [delivery] = _due(db, town, date(2026, 12, 5))
    assert delivery.notice_id == notice.id
    result = post_batch(
        db, town, [delivery.id], as_of=date(2026, 12, 5), settings=SETTINGS, actor="t"
    )
    assert [letter.postage_class for letter in result.letters] == ["Kompaktbrief"]


def test_notices_issued_before_the_statute_applies_get_no_delivery(
    db: Session, make: Any, town: Any
) -> None:
    old = issue_notice(db, town, make.person(town))
    db.add(
        Statute(
            municipality_id=town.id,
            levy="delivery",
            valid_from=date(2020, 1, 1),
            source="Dienstanweisung eBescheid (Test)",
            data={"applies_from": "2026-03-11"},  # the day after the test notices' date
        )
    )
    assert make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t") == {
        "electronic": 0,
        "postal": 0,
    }
    assert db.scalars(select(Delivery).where(Delivery.notice_id == old.id)).all() == []
    later = make.municipality(state="NW")
    make.dog_tax_statute(later)
    issue_notice(db, later, make.person(later))
    db.add(
        Statute(
            municipality_id=later.id,
            levy="delivery",
            valid_from=date(2020, 1, 1),
            source="Dienstanweisung eBescheid (Test)",
            data={"applies_from": "2026-03-10"},  # the test notices' date itself
        )
    )
    assert make_available(db, later, now=MONDAY, portal_url=PORTAL, actor="t")["postal"] == 1


def test_returned_letter_stops_the_clock(db: Session, make: Any, town: Any) -> None:
    notice = issue_notice(db, town, make.person(town))
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    delivery = delivery_of(db, notice.id)
    with pytest.raises(IllegalTransition):
        record_return(db, town, delivery.id, returned_on=date(2026, 12, 23), note="", actor="c")
    post_batch(db, town, [delivery.id], as_of=date(2026, 12, 22), settings=SETTINGS, actor="t")
    assert delivery.deemed_on == date(2026, 12, 28)
    with pytest.raises(ValidationError, match="vor dem Versand"):
        record_return(db, town, delivery.id, returned_on=date(2026, 12, 21), note="", actor="c")
    record_return(
        db, town, delivery.id, returned_on=date(2026, 12, 29), note="Empfänger unbekannt", actor="c"
    )
    assert delivery.status is DeliveryStatus.RETURNED and delivery.deemed_on is None
    assert delivery.returned_note == "Empfänger unbekannt"
    [event] = [
        e
        for e in audit.trail(db, town.id, "delivery", delivery.id)
        if e.action == "delivery.returned"
    ]
    assert event.before == {"deemed_on": "2026-12-28"}
    other = make.municipality()
    from core.kernel.errors import NotFound

    with pytest.raises(NotFound):
        record_return(db, other, delivery.id, returned_on=date(2026, 12, 29), note="", actor="c")
    assert db.scalars(select(PrintBatch)).all()


def _due(db: Session, town: Any, as_of: date) -> list[Delivery]:
    ids = due_for_post(db, town, as_of)
    return [db.get_one(Delivery, i) for i in ids]


def _ensure(db: Session, notice: Any) -> archive.Document:
    from core.notices.records import ensure_document

    return ensure_document(db, notice, SETTINGS, "t")


def _page_pdf(pdf: bytes, index: int) -> bytes:
    import pypdfium2 as pdfium

    source, single = pdfium.PdfDocument(pdf), pdfium.PdfDocument.new()
    single.import_pages(source, [index])
    buffer = io.BytesIO()
    single.save(buffer)
    return buffer.getvalue()


def test_the_fallback_job_posts_each_chunk_as_one_batch_and_a_rerun_posts_nothing(
    db: Session, make: Any, town: Any, session_factory: Any, monkeypatch: Any
) -> None:
    from core.job_kinds import POSTAL_FALLBACK
    from core.jobs import control, worker
    from core.notices.jobs import SETTINGS as SETTINGS_KEY

    monkeypatch.setattr(POSTAL_FALLBACK, "chunk_size", 2)
    for _ in range(3):
        issue_notice(db, town, make.person(town))
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    job = control.start(db, town, "delivery_fallback", {"as_of": "2026-12-22"}, actor="clerk")
    assert job.total == 3
    db.commit()
    assert worker.drain(session_factory, environment={SETTINGS_KEY: SETTINGS}) == 2
    db.expire_all()
    batches = db.scalars(select(PrintBatch).where(PrintBatch.municipality_id == town.id)).all()
    assert sorted(b.letters for b in batches) == [1, 2]
    posted = db.scalars(select(Delivery).where(Delivery.municipality_id == town.id)).all()
    assert {d.status for d in posted} == {DeliveryStatus.POSTED}
    assert {d.deemed_on for d in posted} == {date(2026, 12, 28)}
    with pytest.raises(ValidationError, match="JJJJ-MM-TT"):
        control.start(db, town, "delivery_fallback", {"as_of": "22.12.2026"}, actor="clerk")
    _, _, plan = control.preview(db, town, "delivery_fallback", {"as_of": "2026-12-22"})
    assert plan.keys == []


@pytest.mark.parametrize("table", ["delivery_consent", "print_batch"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}"])
def test_the_database_keeps_the_register_and_batches_append_only(
    db: Session, make: Any, town: Any, table: str, statement: str
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    person = consenting(db, make, town, "erika@test.example")
    issue_notice(db, town, make.person(town))
    make_available(db, town, now=MONDAY, portal_url=PORTAL, actor="t")
    post_batch(db, town, due_for_post(db, town, date(2026, 12, 22)), as_of=date(2026, 12, 22),
               settings=SETTINGS, actor="t")  # fmt: skip
    assert person.id and db.scalars(select(PrintBatch)).first() is not None
    savepoint = db.connection().begin_nested()
    with pytest.raises(DatabaseError, match="append-only"):
        db.connection().execute(text(statement.format(t=table)))
    savepoint.rollback()
