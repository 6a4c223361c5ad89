"""The consent register: electronic delivery given or withdrawn (§ 87a (1), § 122a (1) AO).

Every change is a new entry (append-only) plus an audit event; the latest entry is in force.
Without consent in force, notices go by post.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery.models import Channel, ConsentAction, DeliveryConsent
from core.kernel import audit
from core.kernel.errors import FieldErrors, ValidationError
from core.persons.models import Person

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def history(session: Session, person: Person) -> list[DeliveryConsent]:
    """All entries of ``person``, newest first."""
    return list(
        session.scalars(
            select(DeliveryConsent)
            .where(
                DeliveryConsent.person_id == person.id,
                DeliveryConsent.municipality_id == person.municipality_id,
            )
            .order_by(DeliveryConsent.recorded_at.desc(), DeliveryConsent.id.desc())
        )
    )


def in_force(session: Session, person_id: int, municipality_id: int) -> DeliveryConsent | None:
    """The consent in force for the person, or None (never given, or withdrawn)."""
    latest = session.scalars(
        select(DeliveryConsent)
        .where(
            DeliveryConsent.person_id == person_id,
            DeliveryConsent.municipality_id == municipality_id,
        )
        .order_by(DeliveryConsent.recorded_at.desc(), DeliveryConsent.id.desc())
        .limit(1)
    ).first()
    return latest if latest is not None and latest.action is ConsentAction.GIVEN else None


def in_force_for(
    session: Session, municipality_id: int, person_ids: list[int]
) -> dict[int, DeliveryConsent]:
    """:func:`in_force` for many persons in one query: person id → consent in force."""
    latest: dict[int, DeliveryConsent] = {}
    if not person_ids:
        return latest
    for entry in session.scalars(
        select(DeliveryConsent)
        .where(
            DeliveryConsent.municipality_id == municipality_id,
            DeliveryConsent.person_id.in_(sorted(set(person_ids))),
        )
        .order_by(DeliveryConsent.recorded_at, DeliveryConsent.id)
    ):
        latest[entry.person_id] = entry
    return {p: e for p, e in latest.items() if e.action is ConsentAction.GIVEN}


def give(
    session: Session,
    person: Person,
    *,
    channel: Channel,
    address: str | None,
    how: str,
    actor: str,
) -> DeliveryConsent:
    """Record consent to electronic delivery by ``channel`` (``address``: the e-mail address the
    notifications go to, needed for :attr:`Channel.EMAIL`)."""
    if channel is Channel.PRINT:
        raise ValidationError("Der Postversand braucht keine Einwilligung.")
    address = (address or "").strip() or None
    if channel is Channel.EMAIL and (address is None or not EMAIL_RE.match(address)):
        raise FieldErrors(
            {"address": "Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de."}
        )
    return _record(session, person, ConsentAction.GIVEN, channel, address, how, actor)


def withdraw(session: Session, person: Person, *, how: str, actor: str) -> DeliveryConsent:
    """Record the withdrawal: from now on notices go by post."""
    if in_force(session, person.id, person.municipality_id) is None:
        raise ValidationError("Sie haben der elektronischen Bekanntgabe nicht zugestimmt.")
    return _record(session, person, ConsentAction.WITHDRAWN, None, None, how, actor)


def _record(
    session: Session,
    person: Person,
    action: ConsentAction,
    channel: Channel | None,
    address: str | None,
    how: str,
    actor: str,
) -> DeliveryConsent:
    entry = DeliveryConsent(
        municipality_id=person.municipality_id,
        person_id=person.id,
        action=action,
        channel=channel,
        address=address,
        how=how,
        actor=actor,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"delivery.consent_{action.value}",
        obj=entry,
        municipality_id=person.municipality_id,
        after={"person_id": person.id, "channel": channel and channel.value, "how": how},
    )
    return entry
