"""Deleting and anonymising the records of a run's items (a chunk's at once, a few statements
per kind of record), recorded in the audit trail as what was deleted (type, id, category, due
date, rule, run) — never the content.

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

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.delivery.models import Delivery, DeliveryConsent, Dispatch
from core.identity.external import ExternalIdentity, ExternalLogin
from core.identity.models import UserAccount
from core.kernel import audit, clock
from core.kernel.archive import Document
from core.kernel.id_lists import ids_in
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


def erase_all(session: Session, items: Sequence[RetentionItem], actor: str) -> Counter[str]:
    """Do the items not done yet, a few statements per kind of record for all of them (a
    job's chunk), documents before persons; how many were done, by object type."""
    todo = list({i.id: i for i in items if i.done_at is None}.values())
    of_type: dict[ObjectType, list[int]] = defaultdict(list)
    for item in todo:
        of_type[item.object_type].append(item.object_id)
    _erase_documents(session, of_type[ObjectType.DOCUMENT])
    _update(session, OutboxMessage, of_type[ObjectType.OUTBOX], recipient="", body="")
    _update(session, BankLine, of_type[ObjectType.BANK_LINE],
            counterparty_name=ERASED_NAME, counterparty_iban=None)  # fmt: skip
    _update(session, Dispatch, of_type[ObjectType.DISPATCH], recipient="", body="", last_error=None)
    extra = _anonymise_persons(session, of_type[ObjectType.PERSON], actor)
    now = clock.now()
    for item in todo:
        item.done_at = now
    session.flush()
    audit.record_all(  # one INSERT for the chunk's rows
        session,
        [
            audit.Row(
                actor,
                "retention.erased",
                RetentionItem.__tablename__,
                item.id,
                item.municipality_id,
                after={
                    "run": item.run_id,
                    "object_type": item.object_type.value,
                    "object_id": item.object_id,
                    "category": item.category,
                    "made_on": item.made_on.isoformat(),
                    "due_on": item.due_on.isoformat(),
                    "rule": item.rule,
                    # counts of what went with a person (no content)
                    **(extra[item.object_id] if item.object_type is ObjectType.PERSON else {}),
                },
            )
            for item in todo
        ],
    )
    return Counter(item.object_type.value for item in todo)


def _update(session: Session, entity: Any, ids: list[int], **values: Any) -> None:
    """A Core UPDATE of the rows ``ids``; what the session holds of them is read again."""
    if not ids:
        return
    session.execute(
        update(entity).where(ids_in(entity.id, ids)).values(**values),
        execution_options={"synchronize_session": False},
    )
    _expire(session, entity, ids)


def _expire(session: Session, entity: type[Any], ids: list[int]) -> None:
    for row_id in ids:
        loaded = session.identity_map.get((entity, (row_id,), None))
        if loaded is not None:
            session.expire(loaded)


def _erase_documents(session: Session, document_ids: list[int]) -> None:
    # A Core UPDATE of the one column the database lets change once (not the ORM: a Document
    # is immutable to the session hook, which guards against accidental changes).
    if not document_ids:
        return
    session.execute(
        update(Document)
        .where(ids_in(Document.id, document_ids), func.length(Document.content) > 0)
        .values(content=b""),
        execution_options={"synchronize_session": False},
    )
    _expire(session, Document, document_ids)


def _anonymise_persons(
    session: Session, person_ids: list[int], actor: str
) -> dict[int, dict[str, int]]:
    """Anonymise the persons; per person the counts of consent entries, representatives,
    powers of attorney and identities it touched."""
    if not person_ids:
        return {}
    users: dict[int, int] = {}
    persons = list(session.scalars(select(Person).where(ids_in(Person.id, person_ids))))
    for person in persons:
        if person.kind is PersonKind.BUSINESS:
            person.company_name, person.given_name, person.family_name = ERASED_NAME, None, None
        else:
            person.given_name, person.family_name, person.company_name = None, ERASED_NAME, None
        person.email = None
        if person.user_id is not None:
            users[person.id] = person.user_id
        person.user_id = None
    session.execute(delete(Address).where(ids_in(Address.person_id, person_ids)))
    for person in persons:
        session.expire(person, ["addresses"])
    for notice in session.scalars(select(Notice).where(ids_in(Notice.person_id, person_ids))):
        if "recipient" in notice.data:
            notice.data = {**notice.data, "recipient": {"name": ERASED_NAME, "lines": []}}
    for entity, values in (
        (Delivery, {"notified_to": None, "returned_note": None}),
        (Objection, {"reasons": ERASED_NAME, "decision_note": ""}),
        (Mandate, {"account_holder": ERASED_NAME, "iban": ERASED_IBAN, "bic": None}),
        # the accounts named and paid to for payouts
        (PayoutAccount, {"account_holder": ERASED_NAME, "iban": ERASED_IBAN, "bic": None}),
        (PayoutItem, {"account_holder": ERASED_NAME, "iban": ERASED_IBAN, "bic": None}),
    ):
        session.execute(
            update(entity).where(ids_in(entity.person_id, person_ids)).values(**values),
            execution_options={"synchronize_session": False},
        )
    consents = _erase_consent_addresses(session, person_ids)
    session.flush()
    ended = _end_representation(session, person_ids, actor)
    counts = {pid: {"consent_entries": consents.get(pid, 0), **ended[pid]} for pid in person_ids}
    for person_id, user_id in users.items():
        counts[person_id].update(_disable_login(session, user_id))
    return counts


def _erase_consent_addresses(session: Session, person_ids: list[int]) -> dict[int, int]:
    """The register is append-only (ORM and database): a Core UPDATE of the one change
    allowed, ``address`` to NULL. How many entries of each person it changed."""
    named = (ids_in(DeliveryConsent.person_id, person_ids), DeliveryConsent.address.is_not(None))
    counted = session.execute(
        select(DeliveryConsent.person_id, func.count(DeliveryConsent.id))
        .where(*named)
        .group_by(DeliveryConsent.person_id)
    )
    consents = {int(pid): int(n) for pid, n in counted}
    session.execute(
        update(DeliveryConsent).where(*named).values(address=None),
        execution_options={"synchronize_session": False},
    )
    wanted = set(person_ids)
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, DeliveryConsent) and loaded.person_id in wanted:
            session.expire(loaded)
    return consents


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


def _end_representation(
    session: Session, person_ids: list[int], actor: str
) -> dict[int, dict[str, int]]:
    """End what let others act for the anonymised persons: their representatives (an
    organisation's) and the powers of attorney they gave; the invited e-mail addresses go. The
    rows stay, ended, because audit rows name them by id. Per person how many of each."""
    now = clock.now()
    represented = session.execute(
        update(Representative)
        .where(ids_in(Representative.organisation_id, person_ids))
        .values(email="", removed_at=func.coalesce(Representative.removed_at, now),
                removed_by=func.coalesce(Representative.removed_by, actor))
        .returning(Representative.organisation_id),
        execution_options={"synchronize_session": False},
    ).scalars().all()  # fmt: skip
    powers = session.execute(
        update(PowerOfAttorney)
        .where(ids_in(PowerOfAttorney.principal_id, person_ids))
        .values(agent_email="", revoked_at=func.coalesce(PowerOfAttorney.revoked_at, now),
                revoked_by=func.coalesce(PowerOfAttorney.revoked_by, actor))
        .returning(PowerOfAttorney.principal_id),
        execution_options={"synchronize_session": False},
    ).scalars().all()  # fmt: skip
    if represented or powers:
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, Representative | PowerOfAttorney):
                session.expire(loaded)
    of_persons, by_principal = Counter(represented), Counter(powers)
    return {
        pid: {"representatives": of_persons[pid], "powers_of_attorney": by_principal[pid]}
        for pid in person_ids
    }


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
