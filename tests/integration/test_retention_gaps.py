"""Retention of what the first runs left out, on SQLite and PostgreSQL: bank statement lines
(counterparty name and IBAN anonymised after the booking-record period, amount, references and
bookings kept), the consent register of an anonymised person (the address removed by the one
update the append-only register allows) and the external identities of an anonymised person's
account with their log-in records (deleted; the audit trail kept). Each is kept while blocked;
the audit rows name what was done without content."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.delivery import consent
from core.delivery.models import Channel, DeliveryConsent
from core.identity.external import (
    ExternalIdentity,
    ExternalLogin,
    IdentityProvider,
    LoginPurpose,
    ProviderKind,
    TrustLevel,
)
from core.jobs import worker
from core.kernel import audit
from core.kernel.audit import AuditEvent
from core.ledger.balances import trial_balance
from core.ledger.models import JournalEntry, Payment, Posting
from core.payments.bank.models import BankLine
from core.persons.models import Person
from core.retention import runs
from core.retention.models import ObjectType, RunState
from core.tenancy.municipalities import Municipality
from tests import retention_helpers as old

AS_OF = date(2026, 12, 3)
OLD = date(2015, 3, 1)  # due on 1 January 2026 (10 years)
RECENT = date(2016, 3, 1)  # due on 1 January 2027: kept
SECRETS = ("Erika", "Mustermann", "DE89370400440532013000", "erika@test.example", "pseudonym-")


def _execute(db: Session, factory: sessionmaker[Session], m: Municipality) -> runs.RetentionRun:
    run, _ = runs.open_run(db, m, AS_OF, "user:1")
    runs.approve(db, run, "user:2")
    db.commit()
    worker.drain(factory, environment={})
    db.expire_all()
    assert db.get_one(runs.RetentionRun, run.id).state is RunState.DONE
    return run


def _ledger(db: Session, m: Municipality) -> tuple[Any, int, int, int]:
    entries = db.scalar(
        select(func.count(JournalEntry.id)).where(JournalEntry.municipality_id == m.id)
    )
    payments = db.scalar(
        select(func.sum(Payment.amount_cents)).where(Payment.municipality_id == m.id)
    )
    postings = db.scalar(select(func.sum(Posting.amount_cents)))
    return trial_balance(db, m.id), int(entries or 0), int(payments or 0), int(postings or 0)


def _erased(db: Session, m: Municipality) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.municipality_id == m.id, AuditEvent.action == "retention.erased"
            )
        )
    )


def _without_content(events: list[AuditEvent]) -> None:
    written = repr([(e.before, e.after) for e in events])
    for secret in SECRETS:
        assert secret not in written, secret


def _paid_line(db: Session, m: Municipality, person: Person, booked: date) -> BankLine:
    payment = db.scalars(
        select(Payment).where(Payment.person_id == person.id).order_by(Payment.id)
    ).first()
    assert payment is not None
    line: BankLine = old.bank_line(db, m, booked, person=person, payment_id=payment.id)
    return line


def test_bank_lines_lose_name_and_iban_after_the_period_and_the_bookings_stay(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    erika = old.old_person(db, make, m, OLD)
    due = _paid_line(db, m, erika, OLD)
    recent = old.bank_line(db, m, RECENT)
    queued = old.bank_line(db, m, OLD, status="queued")
    owing = old.old_person(db, make, m, OLD)
    make.claim(m, owing, amount=700, due=OLD, as_of=OLD)  # still open: the person is blocked
    blocked = _paid_line(db, m, owing, OLD)
    before = _ledger(db, m)
    db.commit()

    shown = runs.preview(db, m, AS_OF)
    lines = {i.object_id: i.blocked for i in shown.due + shown.blocked if i.object_type is
             ObjectType.BANK_LINE}  # fmt: skip
    assert lines == {
        due.id: None, queued.id: "Kontoumsatz noch nicht geklärt", blocked.id: "offene Forderung",
    }  # fmt: skip

    _execute(db, session_factory, m)

    line = db.get_one(BankLine, due.id)
    assert (line.counterparty_name, line.counterparty_iban) == ("gelöscht", None)
    assert (line.amount_cents, line.external_ref, line.remittance, line.booking_date) == (
        5000, due.external_ref, "Kassenzeichen 123", OLD,
    )  # fmt: skip
    assert line.payment_id == due.payment_id and line.person_id == erika.id
    for kept in (recent, queued, blocked):
        row = db.get_one(BankLine, kept.id)
        assert (row.counterparty_name, row.counterparty_iban) == (
            "Erika Mustermann", "DE89370400440532013000",
        )  # fmt: skip
    assert _ledger(db, m) == before
    assert sum(trial_balance(db, m.id).values()) == 0  # the bookings still balance

    events = [e for e in _erased(db, m) if (e.after or {})["object_type"] == "bank_line"]
    assert [(e.after or {})["object_id"] for e in events] == [due.id]
    assert (events[0].after or {})["category"] == "kontoumsatz"
    assert (events[0].after or {})["rule"].startswith("kontoumsatz: 10 Jahre")
    _without_content(_erased(db, m))
    # a second run finds nothing more to do
    again, _ = runs.open_run(db, m, AS_OF, "user:1")
    assert not [i for i in runs.open_items(db, again) if i.object_type is ObjectType.BANK_LINE]


def _identity(db: Session, m: Municipality, account_id: int, subject: str) -> ExternalIdentity:
    provider = IdentityProvider(
        municipality_id=m.id, slug=f"bundid-{subject}", label="BundID", kind=ProviderKind.OIDC,
        issuer="https://id.test.example", discovery_url="https://id.test.example/.well-known",
        client_id="openkasse", level_values={"hoch": "hoch"},
    )  # fmt: skip
    db.add(provider)
    db.flush()
    identity = ExternalIdentity(
        account_id=account_id, kind=ProviderKind.OIDC, issuer=provider.issuer,
        subject=f"pseudonym-{subject}", trust_level=TrustLevel.HOCH,
    )  # fmt: skip
    db.add(identity)
    db.flush()
    for purpose in (LoginPurpose.REGISTER, LoginPurpose.LOGIN):
        db.add(
            ExternalLogin(
                identity_id=identity.id, provider_id=provider.id, issuer=provider.issuer,
                subject=identity.subject, trust_level=TrustLevel.HOCH, purpose=purpose,
            )
        )  # fmt: skip
    db.flush()
    return identity


def test_an_anonymised_persons_consent_address_identities_and_logins_go_the_audit_stays(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    login, busy_login = make.user(), make.user()
    erika = old.old_person(db, make, m, OLD, user=login)
    consent.give(db, erika, channel=Channel.EMAIL, address="erika@test.example",
                 how="Bürgerportal", actor="citizen")  # fmt: skip
    consent.withdraw(db, erika, how="Bürgerportal", actor="citizen")
    identity = _identity(db, m, login.id, "erika")
    audit.record(db, actor="citizen", action="identity.external_login", obj=login,
                 municipality_id=m.id, after={"identity_id": identity.id})  # fmt: skip
    # blocked (an open claim): everything of theirs stays
    owing = old.old_person(db, make, m, OLD, user=busy_login)
    make.claim(m, owing, amount=700, due=OLD, as_of=OLD)
    consent.give(db, owing, channel=Channel.EMAIL, address="owing@test.example", how="x",
                 actor="citizen")  # fmt: skip
    kept_identity = _identity(db, m, busy_login.id, "owing")
    # an account that still serves a person of another municipality keeps its identities
    shared = make.user()
    leaving = old.old_person(db, make, m, OLD, user=shared)
    make.person(make.municipality(), user=shared)
    shared_identity = _identity(db, m, shared.id, "shared")
    audit_before = set(db.scalars(select(AuditEvent.id)))
    identity_id, kept_ids = identity.id, (kept_identity.id, shared_identity.id)
    before = _ledger(db, m)
    db.commit()

    _execute(db, session_factory, m)

    entries = db.scalars(
        select(DeliveryConsent).where(DeliveryConsent.person_id == erika.id)
        .order_by(DeliveryConsent.id)
    ).all()  # fmt: skip
    assert [(e.action.value, e.channel and e.channel.value, e.address, e.how) for e in entries] == [
        ("given", "email", None, "Bürgerportal"), ("withdrawn", None, None, "Bürgerportal"),
    ]  # fmt: skip
    assert (
        db.scalar(select(DeliveryConsent.address).where(DeliveryConsent.person_id == owing.id))
        == "owing@test.example"
    )
    assert db.get(ExternalIdentity, identity_id) is None
    assert (
        db.scalars(select(ExternalLogin).where(ExternalLogin.subject == "pseudonym-erika")).all()
        == []
    )
    for kept_id in kept_ids:
        assert db.get(ExternalIdentity, kept_id) is not None
        assert len(db.scalars(
            select(ExternalLogin).where(ExternalLogin.identity_id == kept_id)
        ).all()) == 2  # fmt: skip
    assert db.get_one(Person, leaving.id).family_name == "gelöscht"
    assert audit_before <= set(db.scalars(select(AuditEvent.id)))  # every audit row stays
    assert _ledger(db, m) == before

    persons = {
        (e.after or {})["object_id"]: e.after or {}
        for e in _erased(db, m)
        if (e.after or {})["object_type"] == "person"
    }
    assert set(persons) == {erika.id, leaving.id}
    assert (persons[erika.id]["consent_entries"], persons[erika.id]["identities"],
            persons[erika.id]["identity_logins"]) == (1, 1, 2)  # fmt: skip
    assert "identities" not in persons[leaving.id]  # the account is still in use elsewhere
    _without_content(_erased(db, m))


def test_the_consent_register_allows_only_removing_the_address(db: Session, make: Any) -> None:
    m = make.municipality()
    person = make.person(m)
    entry = consent.give(db, person, channel=Channel.EMAIL, address="erika@test.example",
                         how="Bürgerportal", actor="citizen")  # fmt: skip
    for sql, values in [
        ("UPDATE delivery_consent SET how = :v WHERE id = :i", {"v": "anders"}),
        ("UPDATE delivery_consent SET address = :v WHERE id = :i", {"v": "neu@test.example"}),
        ("UPDATE delivery_consent SET address = NULL, actor = :v WHERE id = :i", {"v": "x"}),
        ("DELETE FROM delivery_consent WHERE id = :i", {}),
    ]:
        with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
            db.execute(text(sql), {**values, "i": entry.id})
    db.execute(text("UPDATE delivery_consent SET address = NULL WHERE id = :i"), {"i": entry.id})
    with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():  # and only once
        db.execute(
            text("UPDATE delivery_consent SET address = :v WHERE id = :i"),
            {"v": "erika@test.example", "i": entry.id},
        )
