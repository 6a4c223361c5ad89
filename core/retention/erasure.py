"""Deleting and anonymising one record of a run's item, recorded in the audit trail as what was
deleted (type, id, category, due date, rule, run) — never the content.

- **Document**: the bytes go (``content`` becomes empty); the row stays with its kind, file
  name, size and SHA-256, so the ledger and the delivery records that point to it stay whole
  and anyone holding the paper can still prove it was what the municipality issued. The
  archive is otherwise append-only: the database allows exactly this one change and nothing
  else (migration 20261203_0620, core/kernel/archive.py).
- **E-mail of the outbox, notification of the delivery**: recipient and text go; subject,
  status and dates stay (the delivery record's proof of notification, § 122a AO, is its date).
- **Bank statement line**: the counterparty's name → "gelöscht", its IBAN removed; amount,
  booking date, the bank's reference, remittance text and the payment it was booked to stay, so
  every booking stays whole and balanced.
- **Person**: name → "gelöscht", given name, e-mail and every address removed; replaced too: the
  recipient block of their notices' snapshots, the address their notifications went to, the
  reasons of their (decided) objections, account holder and IBAN of their (ended) SEPA mandates,
  the e-mail address of every entry of their consent register (the register is append-only; the
  database allows exactly this one change: ``address`` to NULL, every other column unchanged —
  migration 20261203_0710 — so what was consented to, when, how and by whom stays as proof);
  their log-in disabled (no e-mail, no password) unless it still serves a person of another
  municipality, and then its external identities (BundID pseudonyms) and their log-in records
  deleted: only then no municipality needs the account any more. An organisation's
  representatives and the powers of attorney the person gave end (the invited addresses go; the
  rows stay, the audit trail names them); a log-in that still represents another organisation or
  holds a power of attorney in force is someone else's business and stays.
  The person row, its number and its ledger accounts stay: postings are
  append-only and every journal entry must go on balancing (ARCHITECTURE.md rule 5), so bookings
  past 10 years are kept *anonymised*, never removed — the balances of every account are exactly
  what they were.
- **Audit trail**: never touched. Its rows are append-only (database triggers), name actors
  by id and objects by type and id, and hold no names, addresses or texts; once the person row
  is anonymised they are pseudonymous. They are the proof that the deletion happened
  (Art. 5 (2), Art. 17 (3) lit. b, e DSGVO; the GoBD's Verfahrensdokumentation).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.delivery.models import Delivery, DeliveryConsent, Dispatch
from core.identity.external import ExternalIdentity, ExternalLogin
from core.identity.models import UserAccount
from core.kernel import audit, clock
from core.kernel.archive import Document
from core.kernel.mail import OutboxMessage
from core.notices.records import Notice
from core.objections.models import Objection
from core.payments.bank.models import BankLine
from core.payments.payouts.models import PayoutAccount, PayoutItem
from core.payments.sepa.models import Mandate
from core.persons.models import Address, Person, PersonKind
from core.representation.models import PowerOfAttorney, Representative
from core.retention.models import ObjectType, RetentionItem

ERASED_NAME = "gelöscht"
ERASED_IBAN = "GELOESCHT000000"  # 15 characters: the shortest an IBAN column takes


def erase(session: Session, item: RetentionItem, actor: str) -> bool:
    """Do one item; False when there was nothing left to do (done before)."""
    if item.done_at is not None:
        return False
    extra: dict[str, int] = {}
    if item.object_type is ObjectType.DOCUMENT:
        _erase_document(session, item.object_id)
    elif item.object_type is ObjectType.OUTBOX:
        _erase_outbox(session, item.object_id)
    elif item.object_type is ObjectType.BANK_LINE:
        session.execute(
            update(BankLine)
            .where(BankLine.id == item.object_id)
            .values(counterparty_name=ERASED_NAME, counterparty_iban=None),
            execution_options={"synchronize_session": False},
        )
        _expire(session, BankLine, item.object_id)
    elif item.object_type is ObjectType.DISPATCH:
        session.execute(
            update(Dispatch)
            .where(Dispatch.id == item.object_id)
            .values(recipient="", body="", last_error=None),
            execution_options={"synchronize_session": False},
        )
    else:
        extra = _anonymise_person(session, item.object_id, actor)
    item.done_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="retention.erased",
        obj=item,
        municipality_id=item.municipality_id,
        after={
            "run": item.run_id,
            "object_type": item.object_type.value,
            "object_id": item.object_id,
            "category": item.category,
            "made_on": item.made_on.isoformat(),
            "due_on": item.due_on.isoformat(),
            "rule": item.rule,
            **extra,  # counts of what went with a person (no content)
        },
    )
    return True


def _expire(session: Session, entity: type[Any], row_id: int) -> None:
    loaded = session.identity_map.get((entity, (row_id,), None))
    if loaded is not None:
        session.expire(loaded)


def _erase_document(session: Session, document_id: int) -> None:
    # A Core UPDATE of the one column the database lets change once (not the ORM: a Document
    # is immutable to the session hook, which guards against accidental changes).
    session.execute(
        update(Document)
        .where(Document.id == document_id, func.length(Document.content) > 0)
        .values(content=b""),
        execution_options={"synchronize_session": False},
    )
    loaded = session.identity_map.get((Document, (document_id,), None))
    if loaded is not None:
        session.expire(loaded)


def _erase_outbox(session: Session, message_id: int) -> None:
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(recipient="", body=""),
        execution_options={"synchronize_session": False},
    )


def _anonymise_person(session: Session, person_id: int, actor: str) -> dict[str, int]:
    """Anonymise the person; the counts of consent entries and identities it touched."""
    person = session.get_one(Person, person_id)
    if person.kind is PersonKind.BUSINESS:
        person.company_name, person.given_name, person.family_name = ERASED_NAME, None, None
    else:
        person.given_name, person.family_name, person.company_name = None, ERASED_NAME, None
    person.email = None
    session.execute(delete(Address).where(Address.person_id == person_id))
    session.expire(person, ["addresses"])
    for notice in session.scalars(select(Notice).where(Notice.person_id == person_id)):
        if "recipient" in notice.data:
            notice.data = {**notice.data, "recipient": {"name": ERASED_NAME, "lines": []}}
    session.execute(
        update(Delivery)
        .where(Delivery.person_id == person_id)
        .values(notified_to=None, returned_note=None),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Objection)
        .where(Objection.person_id == person_id)
        .values(reasons=ERASED_NAME, decision_note=""),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Mandate)
        .where(Mandate.person_id == person_id)
        .values(account_holder=ERASED_NAME, iban=ERASED_IBAN, bic=None),
        execution_options={"synchronize_session": False},
    )
    for table in (PayoutAccount, PayoutItem):  # the accounts named and paid to for payouts
        session.execute(
            update(table)
            .where(table.person_id == person_id)
            .values(account_holder=ERASED_NAME, iban=ERASED_IBAN, bic=None),
            execution_options={"synchronize_session": False},
        )
    # The register is append-only (ORM and database): a Core UPDATE of the one change allowed.
    named = (DeliveryConsent.person_id == person_id, DeliveryConsent.address.is_not(None))
    consents = session.scalar(select(func.count(DeliveryConsent.id)).where(*named))
    session.execute(
        update(DeliveryConsent).where(*named).values(address=None),
        execution_options={"synchronize_session": False},
    )
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, DeliveryConsent) and loaded.person_id == person_id:
            session.expire(loaded)
    user_id, person.user_id = person.user_id, None
    session.flush()
    counts = {
        "consent_entries": int(consents or 0),
        **_end_representation(session, person_id, actor),
    }
    if user_id is not None:
        counts.update(_disable_login(session, user_id))
    return counts


def _disable_login(session: Session, user_id: int) -> dict[str, int]:
    """Disable the citizen's log-in unless a person of another municipality still uses it;
    then delete its external identities and their log-in records (the audit trail stays)."""
    others = session.scalar(select(func.count(Person.id)).where(Person.user_id == user_id))
    if others or _acts_for_others(session, user_id):
        return {}
    user = session.get_one(UserAccount, user_id)
    user.email, user.password_hash, user.display_name = None, None, ERASED_NAME
    user.is_active = False
    user.session_version += 1  # signs out every session of it
    identities = select(ExternalIdentity.id).where(ExternalIdentity.account_id == user_id)
    of_account = ExternalLogin.identity_id.in_(identities)
    logins = session.scalar(select(func.count(ExternalLogin.id)).where(of_account))
    deleted = session.scalar(
        select(func.count(ExternalIdentity.id)).where(ExternalIdentity.account_id == user_id)
    )
    session.execute(delete(ExternalLogin).where(of_account),
                    execution_options={"synchronize_session": False})  # fmt: skip
    session.execute(
        delete(ExternalIdentity).where(ExternalIdentity.account_id == user_id),
        execution_options={"synchronize_session": False},
    )
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, ExternalIdentity | ExternalLogin):
            session.expunge(loaded)
    return {"identities": int(deleted or 0), "identity_logins": int(logins or 0)}


def _end_representation(session: Session, person_id: int, actor: str) -> dict[str, int]:
    """End what let others act for the anonymised person: its representatives (an organisation)
    and the powers of attorney it gave; the invited e-mail addresses go. The rows stay, ended,
    because audit rows name them by id."""
    now = clock.now()
    represented = session.execute(
        update(Representative)
        .where(Representative.organisation_id == person_id)
        .values(email="", removed_at=func.coalesce(Representative.removed_at, now),
                removed_by=func.coalesce(Representative.removed_by, actor))
        .returning(Representative.id),
        execution_options={"synchronize_session": False},
    ).all()  # fmt: skip
    powers = session.execute(
        update(PowerOfAttorney)
        .where(PowerOfAttorney.principal_id == person_id)
        .values(agent_email="", revoked_at=func.coalesce(PowerOfAttorney.revoked_at, now),
                revoked_by=func.coalesce(PowerOfAttorney.revoked_by, actor))
        .returning(PowerOfAttorney.id),
        execution_options={"synchronize_session": False},
    ).all()  # fmt: skip
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Representative | PowerOfAttorney):
            session.expire(loaded)
    return {"representatives": len(represented), "powers_of_attorney": len(powers)}


def _acts_for_others(session: Session, user_id: int) -> bool:
    """Whether the account still represents an organisation or holds a power of attorney that
    has not ended: then its log-in is someone else's business and stays."""
    today = clock.today()
    representing = select(Representative.id).where(
        Representative.user_id == user_id, Representative.removed_at.is_(None)
    )
    holding = select(PowerOfAttorney.id).where(
        PowerOfAttorney.agent_user_id == user_id,
        PowerOfAttorney.revoked_at.is_(None),
        (PowerOfAttorney.valid_until.is_(None)) | (PowerOfAttorney.valid_until >= today),
    )
    return bool(
        session.scalar(select(representing.exists())) or session.scalar(select(holding.exists()))
    )
