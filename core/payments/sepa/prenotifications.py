"""Pre-notifications (Vorabankündigung, SEPA Core rulebook; DOMAIN.md: at least 14 days before
the collection unless the statute agrees a shorter period).

:func:`prenotify` tells the debtor date and amount of every due item a mandate covers; it is kept
per claim, mandate and amount, and sent by e-mail where the person has an address; for everyone
else :func:`prenotification_letters` makes the letters to print and post (one PDF). A notice that
names the mandate announces its items itself (:func:`announce_by_notice`). The portal account
shows every announced collection too."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import ValidationError
from core.kernel.mail import queue_email
from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen
from core.ledger.balances import open_amounts
from core.ledger.kinds import KINDS
from core.ledger.models import Claim
from core.payments.collection_limits import capped, limits_on, schedules
from core.payments.sepa.bank_days import check_bank_day, next_target_day
from core.payments.sepa.due import (
    DueItem,
    chunks,
    due_items,
    matching_prenotification,
    unused_prenotifications,
)
from core.payments.sepa.mandates import find_by_reference
from core.payments.sepa.models import Mandate, PreNotification
from core.payments.sepa.rules import rules_on
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def earliest_collection(session: Session, municipality_id: int, as_of: date) -> date:
    """The first day a collection announced today may be made (statute's pre-notification
    period, then the next bank day)."""
    days = rules_on(session, municipality_id, as_of).prenotification_days
    return next_target_day(as_of + timedelta(days=days))


def next_announced_date(session: Session, municipality_id: int, as_of: date) -> date | None:
    """The nearest collection date announced and not yet collected (for the clerk's form)."""
    day: date | None = session.scalar(
        select(PreNotification.collection_date)
        .where(
            PreNotification.municipality_id == municipality_id,
            PreNotification.used_by_item_id.is_(None),
            PreNotification.collection_date > as_of,
        )
        .order_by(PreNotification.collection_date)
        .limit(1)
    )
    return day


# --------------------------------------------------------------------------- model


@dataclass
class PrenotifyResult:
    items: int = 0
    persons: int = 0
    emails: int = 0
    total_cents: int = 0
    already: int = 0  # items with a valid pre-notification already


def prenotify(
    session: Session,
    municipality: Municipality,
    *,
    collection_date: date,
    as_of: date,
    actor: str,
) -> PrenotifyResult:
    """Announce the collection on ``collection_date`` of every due item a mandate covers."""
    rules = rules_on(session, municipality.id, as_of)
    check_bank_day(collection_date)
    earliest = as_of + timedelta(days=rules.prenotification_days)
    if collection_date < earliest:
        raise ValidationError(
            f"Die Vorabankündigung muss {rules.prenotification_days} Tage vor dem Einzug "
            f"versandt werden: frühester Einzugstag ist der {earliest:%d.%m.%Y}."
        )
    items = due_items(session, municipality, collection_date)
    existing = unused_prenotifications(session, [i.claim.id for i in items])
    result = PrenotifyResult()
    per_person: dict[int, list[DueItem]] = defaultdict(list)
    for item in items:
        if matching_prenotification(existing[item.claim.id], item, collection_date) is not None:
            result.already += 1
            continue
        per_person[item.claim.person_id].append(item)
    for person_id, person_items in per_person.items():
        person = session.get_one(Person, person_id)
        email = _announce(session, municipality, person, person_items, collection_date)
        for item in person_items:
            session.add(
                PreNotification(
                    municipality_id=municipality.id,
                    person_id=person_id,
                    mandate_id=item.mandate.id,
                    claim_id=item.claim.id,
                    amount_cents=item.open_cents,
                    collection_date=collection_date,
                    sent_on=as_of,
                    by_email=email,
                )
            )
            result.items += 1
            result.total_cents += item.open_cents
        result.persons += 1
        result.emails += int(email)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sepa.prenotified",
        obj=municipality,
        municipality_id=municipality.id,
        after={
            "collection_date": collection_date.isoformat(),
            "items": result.items,
            "total_cents": result.total_cents,
        },
    )
    return result


def _announce(
    session: Session,
    municipality: Municipality,
    person: Person,
    items: list[DueItem],
    collection_date: date,
) -> bool:
    if not person.email:
        return False
    lines = [
        f"- {KINDS[i.claim.kind].label}, {i.claim.description}, Kassenzeichen "
        f"{format_kassenzeichen(i.claim.kassenzeichen)}: {format_euro(i.open_cents)}"
        for i in items
    ]
    mandate = items[0].mandate
    queue_email(
        session,
        municipality_id=municipality.id,
        recipient=person.email,
        subject=f"Vorabankündigung Ihrer Lastschrift zum {collection_date:%d.%m.%Y}",
        body=(
            f"Guten Tag {person.display_name},\n\n"
            f"die {municipality.cash_office_name} zieht am {collection_date:%d.%m.%Y} "
            f"{format_euro(sum(i.open_cents for i in items))} von Ihrem Konto "
            f"{mandate.masked_iban} ein (Mandatsreferenz {mandate.reference}, "
            f"Gläubiger-ID {municipality.creditor_id}):\n"
            + "\n".join(lines)
            + "\n\nBitte sorgen Sie für Deckung. Ihr Bürgerkonto zeigt alle Posten.\n"
        ),
    )
    return True


def announce_by_notice(session: Session, notice_id: int, claims: list[Claim]) -> int:
    """Record the pre-notifications a notice made (it names mandate, dates and amounts, see
    core.notices.records): one per claim still open, for its due date or the first day allowed after
    the notice — or, for a claim collected in parts (an instalment plan's:
    core.payments.collection_limits schedules), one per part with its amount and day. A claim
    already announced with the same amount (and, for a part, the same day) keeps its
    pre-notification."""
    from core.notices.records import Notice

    notice = session.get_one(Notice, notice_id)
    debit = notice.data.get("direct_debit")
    if not debit:
        return 0
    mandate = find_by_reference(session, notice.municipality_id, debit["reference"])
    if mandate is None:
        return 0
    earliest = date.fromisoformat(debit["earliest"])
    unique = list({c.id: c for c in claims}.values())
    open_now = open_amounts(session, unique)
    existing = unused_prenotifications(session, [c.id for c in unique])
    in_parts = schedules(session, notice.municipality_id, list(open_now))
    made = 0
    for claim in unique:
        if open_now[claim.id] <= 0:
            continue
        for day, amount in _collections(claim, open_now[claim.id], in_parts, earliest):
            if any(
                pn.mandate_id == mandate.id
                and pn.amount_cents == amount
                and (claim.id not in in_parts or pn.collection_date == day)
                for pn in existing[claim.id]
            ):
                continue
            session.add(
                PreNotification(
                    municipality_id=notice.municipality_id,
                    person_id=claim.person_id,
                    mandate_id=mandate.id,
                    claim_id=claim.id,
                    amount_cents=amount,
                    collection_date=day,
                    sent_on=notice.issued_on,
                    by_email=False,
                )
            )
            made += 1
    session.flush()
    return made


def _collections(
    claim: Claim, open_cents: int, in_parts: dict[int, list[tuple[date, int]]], earliest: date
) -> list[tuple[date, int]]:
    """The (day, cents) a debit will collect of the claim: all of it when due, or its scheduled
    parts — each on its day, parts that fall before ``earliest`` together on the first day
    allowed (the run of that day takes all that is due by then)."""
    if claim.id not in in_parts:
        return [(next_target_day(max(claim.due_date, earliest)), open_cents)]
    by_day: dict[date, int] = defaultdict(int)
    for day, cents in in_parts[claim.id]:
        by_day[next_target_day(max(day, earliest))] += cents
    return sorted(by_day.items())


@dataclass(frozen=True)
class Announced:
    collection_date: date
    items: int
    total_cents: int
    by_post: int  # items announced by letter (not by e-mail)


def announced_collections(session: Session, municipality_id: int) -> list[Announced]:
    """Collections announced and not yet made, by day (for the clerk's overview)."""
    rows = session.execute(
        select(
            PreNotification.collection_date,
            func.count(PreNotification.id),
            func.sum(PreNotification.amount_cents),
            func.sum(case((PreNotification.by_email.is_(False), 1), else_=0)),
        )
        .where(
            PreNotification.municipality_id == municipality_id,
            PreNotification.used_by_item_id.is_(None),
        )
        .group_by(PreNotification.collection_date)
        .order_by(PreNotification.collection_date)
    )
    return [Announced(day, int(n), int(total), int(post)) for day, n, total, post in rows]


def prenotification_letters(
    session: Session, municipality: Municipality, *, collection_date: date
) -> tuple[bytes, int] | None:
    """The pre-notification letters for ``collection_date`` to everyone not told by e-mail, one
    A4 page each (DIN 5008, window envelope), as one PDF to print; with the number of letters.
    None when there is nothing to post."""
    from core.kernel.pdf import render_pdf

    announced = list(
        session.scalars(
            select(PreNotification)
            .where(
                PreNotification.municipality_id == municipality.id,
                PreNotification.collection_date == collection_date,
                PreNotification.by_email.is_(False),
                PreNotification.used_by_item_id.is_(None),
            )
            .order_by(PreNotification.person_id, PreNotification.id)
        )
    )
    if not announced:
        return None
    claims = {
        c.id: c
        for chunk in chunks([pn.claim_id for pn in announced])
        for c in session.scalars(select(Claim).where(Claim.id.in_(chunk)))
    }
    by_debit: dict[tuple[int, int], list[PreNotification]] = defaultdict(list)
    for pn in announced:  # one letter per person and mandate (each names its account)
        by_debit[(pn.person_id, pn.mandate_id)].append(pn)
    letters = []
    for (person_id, _), pns in by_debit.items():
        letters.append(_letter(session, person_id, pns, claims))
    pdf = render_pdf(
        "prenotification.html",
        {
            "municipality": municipality,
            "collection_date": collection_date,
            "sent_on": max(pn.sent_on for pn in announced),
            "letters": letters,
        },
    )
    return pdf, len(letters)


def _letter(
    session: Session, person_id: int, pns: list[PreNotification], claims: dict[int, Claim]
) -> dict[str, Any]:
    """One person's letter for one mandate: the debits it announces and their total."""
    from core.notices.records import recipient_block

    person = session.get_one(Person, person_id)
    return {
        "recipient": recipient_block(person, pns[0].sent_on),
        "person_number": person.number,
        "mandate": session.get_one(Mandate, pns[0].mandate_id),
        "debits": [
            {
                "kassenzeichen": claims[pn.claim_id].kassenzeichen,
                "label": KINDS[claims[pn.claim_id].kind].label,
                "description": claims[pn.claim_id].description,
                "amount_cents": pn.amount_cents,
            }
            for pn in pns
        ],
        "total_cents": sum(pn.amount_cents for pn in pns),
    }


def prenotifications_of(session: Session, person: Person) -> list[PreNotification]:
    """Announced collections not yet carried out that still hold (for the person's account):
    one whose claim has since been paid or changed in amount is no longer shown (the amount a
    run would collect on the announced day: the open amount, or its limit, e.g. the instalment
    of a plan; core.payments.collection_limits)."""
    announced = list(
        session.scalars(
            select(PreNotification)
            .where(
                PreNotification.person_id == person.id,
                PreNotification.municipality_id == person.municipality_id,
                PreNotification.used_by_item_id.is_(None),
            )
            .order_by(PreNotification.collection_date, PreNotification.id)
        )
    )
    claims = session.scalars(
        select(Claim).where(Claim.id.in_({pn.claim_id for pn in announced}))
    ).all()
    open_now = open_amounts(session, claims)
    limits = {
        day: limits_on(session, person.municipality_id, day, list(open_now))
        for day in {pn.collection_date for pn in announced}
    }
    return [
        pn
        for pn in announced
        if pn.claim_id in open_now
        and pn.amount_cents
        == capped(pn.claim_id, open_now[pn.claim_id], limits[pn.collection_date])
    ]
