"""Direct-debit runs (Lastschrifteinzug): pre-notifications, the pain.008 file, "in collection".

The path of a claim paid by direct debit:

1. **Pre-notification** (Vorabankündigung, SEPA Core rulebook; DOMAIN.md: at least 14 days
   before the collection unless the statute agrees a shorter period): :func:`prenotify` tells
   the debtor date and amount of every due item a mandate covers; it is kept per claim, mandate
   and amount, and sent by e-mail where the person has an address; for everyone else
   :func:`prenotification_letters` makes the letters to print and post (one PDF). The portal
   account shows every announced collection too.
2. **Run** (:func:`create_run`): every due open item with an active, unexpired mandate and a
   pre-notification of the same amount whose date has come goes into one ``pain.008.001.08``
   file (sepaxml, checked against the XSD it ships; German banks take it as GBIC_4). Sequence
   type RCUR for all (FRST is optional since the 2016 rulebook). Each item is booked at once as
   paid "in collection": the payment moves the claim's open amount to the clearing account
   1820, so dunning and the next run leave it alone.
3. **Bank statement** (core.payments.bank.imports): the bank's credit clears 1820 (matched by
   the EndToEndId written here, or by the batch's PmtInfId); a return (R-transaction) reverses
   the payment and re-opens the claim.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from lxml import etree
from sepaxml import SepaDD
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    case,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from text_unidecode import unidecode

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import NotFound, ValidationError
from core.kernel.mail import queue_email
from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen
from core.ledger.balances import open_amounts
from core.ledger.kinds import KINDS
from core.ledger.models import Claim, PaymentChannel, TaxAccount
from core.ledger.receipts import record_payment
from core.payments.card import reservations
from core.payments.sepa.mandates import (
    Mandate,
    MandateStatus,
    active_by_person,
    covering,
    expire_mandate,
    find_by_reference,
    rules_on,
)
from core.persons.models import Person
from core.tenancy.municipalities import Counter, Municipality, serialize

_T = TypeVar("_T")
PAIN_008 = "pain.008.001.08"
CLEARING_ACCOUNT = "1820"  # Lastschriften im Einzug

# --------------------------------------------------------------------------- SEPA text

_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def sepa_text(text: str, max_length: int) -> str:
    """Text in the SEPA basic character set (EPC217-08): German umlauts spelt out the German
    way ("Müller" → "Mueller", which sepaxml's ``clean`` would make "Muller"), other letters
    transliterated (unidecode), anything else replaced by a space."""
    latin = unidecode((text or "").translate(_UMLAUTS))
    cleaned = " ".join(_NOT_SEPA.sub(" ", latin).split())
    return cleaned[:max_length].rstrip()


# --------------------------------------------------------------------------- bank days


def _easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def is_target_day(day: date) -> bool:
    """A TARGET2 business day, on which SEPA collections settle: not a weekend, New Year,
    Good Friday, Easter Monday, 1 May, 25 or 26 December (ECB TARGET holiday calendar)."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    easter = _easter(day.year)
    return day not in (easter - timedelta(days=2), easter + timedelta(days=1))


def next_target_day(day: date) -> date:
    while not is_target_day(day):
        day += timedelta(days=1)
    return day


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


class PreNotification(Base):
    """Vorabankündigung: date and amount of one item told to the debtor."""

    __tablename__ = "sepa_prenotification"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_sepa_prenotification_claim", "claim_id"),
        Index("ix_sepa_prenotification_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandate.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    collection_date: Mapped[date]  # the day announced
    sent_on: Mapped[date]
    by_email: Mapped[bool] = mapped_column(default=False)
    used_by_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_item.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class DirectDebitRun(Base):
    __tablename__ = "sepa_run"
    __table_args__ = (UniqueConstraint("municipality_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    collection_date: Mapped[date]
    message_id: Mapped[str] = mapped_column(String(35))  # GrpHdr/MsgId of the file
    payment_info_id: Mapped[str] = mapped_column(String(35))  # PmtInf/PmtInfId (the batch)
    count: Mapped[int]
    total_cents: Mapped[int]
    filename: Mapped[str] = mapped_column(String(120))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))


class ItemStatus(enum.StrEnum):
    IN_COLLECTION = "in_collection"  # handed to the bank, booked as paid into clearing
    CREDITED = "credited"  # the bank's statement shows the money
    RETURNED = "returned"  # R-transaction after settlement: payment reversed, claim open again
    REJECTED = "rejected"  # refused by the bank before settlement (pain.002): the same


ITEM_STATUS_LABELS = {
    ItemStatus.IN_COLLECTION: "im Einzug",
    ItemStatus.CREDITED: "gutgeschrieben",
    ItemStatus.RETURNED: "zurückgegeben",
    ItemStatus.REJECTED: "abgewiesen",
}


class DirectDebitItem(Base):
    __tablename__ = "sepa_item"
    __table_args__ = (
        UniqueConstraint("municipality_id", "end_to_end_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_sepa_item_run", "run_id"),
        Index("ix_sepa_item_claim", "claim_id"),
        # A claim is never in two collections at once (a returned one may be collected again).
        Index(
            "uq_sepa_item_claim_collecting",
            "claim_id",
            unique=True,
            sqlite_where=text("status IN ('in_collection', 'credited')"),
            postgresql_where=text("status IN ('in_collection', 'credited')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("sepa_run.id", ondelete="RESTRICT"))
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandate.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    status: Mapped[ItemStatus] = mapped_column(
        enum_column(ItemStatus, "sepa_item_status", 20),
        default=ItemStatus.IN_COLLECTION,
    )
    credited_on: Mapped[date | None]
    returned_on: Mapped[date | None]
    return_reason: Mapped[str | None] = mapped_column(String(4))

    @property
    def status_label(self) -> str:
        return ITEM_STATUS_LABELS[self.status]


# --------------------------------------------------------------------------- what is due


@dataclass(frozen=True)
class DueItem:
    claim: Claim
    mandate: Mandate
    open_cents: int


def due_items(session: Session, municipality: Municipality, collection_date: date) -> list[DueItem]:
    """Open items due by ``collection_date`` that an active mandate covers (oldest first)."""
    by_person = active_by_person(session, municipality.id)
    if not by_person:
        return []
    person_ids = list(by_person)
    accounts = {
        (t.person_id, t.levy): t.id
        for chunk in _chunks(person_ids)
        for t in session.scalars(select(TaxAccount).where(TaxAccount.person_id.in_(chunk)))
    }
    claims = [
        c
        for chunk in _chunks(person_ids)
        for c in session.scalars(
            select(Claim)
            .where(
                Claim.municipality_id == municipality.id,
                Claim.person_id.in_(chunk),
                Claim.due_date <= collection_date,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.due_date, Claim.id)
        )
    ]
    balances: dict[int, int] = {}
    for chunk in _chunks(claims):
        balances.update(open_amounts(session, chunk))
    result = []
    for claim in claims:
        if balances[claim.id] <= 0:
            continue  # paid, or already in collection
        mandate = covering(by_person[claim.person_id], accounts.get((claim.person_id, claim.kind)))
        if mandate is not None:
            result.append(DueItem(claim, mandate, balances[claim.id]))
    result.sort(key=lambda d: (d.claim.due_date, d.claim.id))
    return result


def _chunks(items: list[_T], size: int = 500) -> list[list[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _unused_prenotifications(
    session: Session, claim_ids: list[int]
) -> dict[int, list[PreNotification]]:
    result: dict[int, list[PreNotification]] = defaultdict(list)
    for chunk in _chunks(claim_ids):
        for pn in session.scalars(
            select(PreNotification).where(
                PreNotification.claim_id.in_(chunk), PreNotification.used_by_item_id.is_(None)
            )
        ):
            result[pn.claim_id].append(pn)
    return result


def _matching(
    pns: list[PreNotification], item: DueItem, collection_date: date
) -> PreNotification | None:
    """A pre-notification still telling the truth: same mandate, same amount, announced for
    this day or earlier."""
    for pn in pns:
        if (
            pn.mandate_id == item.mandate.id
            and pn.amount_cents == item.open_cents
            and pn.collection_date <= collection_date
        ):
            return pn
    return None


# --------------------------------------------------------------------------- pre-notification


def _check_bank_day(day: date) -> None:
    if not is_target_day(day):
        raise ValidationError(
            f"Der {day:%d.%m.%Y} ist kein Bankarbeitstag (TARGET2); nächster möglicher "
            f"Einzugstag: {next_target_day(day):%d.%m.%Y}."
        )


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
    _check_bank_day(collection_date)
    earliest = as_of + timedelta(days=rules.prenotification_days)
    if collection_date < earliest:
        raise ValidationError(
            f"Die Vorabankündigung muss {rules.prenotification_days} Tage vor dem Einzug "
            f"versandt werden: frühester Einzugstag ist der {earliest:%d.%m.%Y}."
        )
    items = due_items(session, municipality, collection_date)
    existing = _unused_prenotifications(session, [i.claim.id for i in items])
    result = PrenotifyResult()
    per_person: dict[int, list[DueItem]] = defaultdict(list)
    for item in items:
        if _matching(existing[item.claim.id], item, collection_date) is not None:
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
    the notice. A claim already announced with the same amount keeps its pre-notification."""
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
    existing = _unused_prenotifications(session, [c.id for c in unique])
    made = 0
    for claim in unique:
        amount = open_now[claim.id]
        if amount <= 0 or any(
            pn.mandate_id == mandate.id and pn.amount_cents == amount for pn in existing[claim.id]
        ):
            continue
        session.add(
            PreNotification(
                municipality_id=notice.municipality_id,
                person_id=claim.person_id,
                mandate_id=mandate.id,
                claim_id=claim.id,
                amount_cents=amount,
                collection_date=next_target_day(max(claim.due_date, earliest)),
                sent_on=notice.issued_on,
                by_email=False,
            )
        )
        made += 1
    session.flush()
    return made


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
    from core.notices.records import recipient_block

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
        for chunk in _chunks([pn.claim_id for pn in announced])
        for c in session.scalars(select(Claim).where(Claim.id.in_(chunk)))
    }
    by_debit: dict[tuple[int, int], list[PreNotification]] = defaultdict(list)
    for pn in announced:  # one letter per person and mandate (each names its account)
        by_debit[(pn.person_id, pn.mandate_id)].append(pn)
    letters = []
    for (person_id, _), pns in by_debit.items():
        person = session.get_one(Person, person_id)
        letters.append(
            {
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
        )
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


def prenotifications_of(session: Session, person: Person) -> list[PreNotification]:
    """Announced collections not yet carried out that still hold (for the person's account):
    one whose claim has since been paid or changed in amount is no longer shown."""
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
    return [pn for pn in announced if open_now.get(pn.claim_id) == pn.amount_cents]


@dataclass(frozen=True)
class Collected:
    item: DirectDebitItem
    collection_date: date

    @property
    def settled(self) -> bool:
        """Handed to the bank or credited by it (not returned or rejected)."""
        return self.item.status in (ItemStatus.IN_COLLECTION, ItemStatus.CREDITED)


def collections_by_claim(session: Session, person: Person) -> dict[int, Collected]:
    """The person's latest direct debit per claim (for "eingezogen am …" in the account)."""
    rows = session.execute(
        select(DirectDebitItem, DirectDebitRun.collection_date)
        .join(DirectDebitRun, DirectDebitRun.id == DirectDebitItem.run_id)
        .where(
            DirectDebitItem.person_id == person.id,
            DirectDebitItem.municipality_id == person.municipality_id,
        )
        .order_by(DirectDebitItem.id)
    )
    return {item.claim_id: Collected(item, day) for item, day in rows}


# --------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    run: DirectDebitRun | None
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.run.count if self.run else 0

    @property
    def total_cents(self) -> int:
        return self.run.total_cents if self.run else 0


SKIP_LABELS = {
    "not_prenotified": "ohne gültige Vorabankündigung",
    "mandate_expired": "Mandat erloschen (36 Monate ohne Einzug)",
    "card_payment_running": "Kartenzahlung läuft gerade (beim nächsten Einzug wieder dabei)",
}


def _reserve(session: Session, municipality_id: int, name: str, count: int) -> int:
    """Reserve ``count`` numbers of a sequence at once; returns the first."""
    counter = session.scalars(
        select(Counter)
        .where(Counter.municipality_id == municipality_id, Counter.name == name)
        .with_for_update()
    ).one_or_none()
    if counter is None:
        counter = Counter(municipality_id=municipality_id, name=name, last_value=0)
        session.add(counter)
    first = counter.last_value + 1
    counter.last_value += count
    session.flush()
    return first


def _not_held_by_card(
    session: Session, municipality_id: int, items: list[DueItem], skipped: dict[str, int]
) -> list[DueItem]:
    """The items no card payment holds, with their open amounts as they are under lock.

    A claim that a card attempt has reserved (core.payments.card.reservations; also past its hold
    time, until the attempt is closed: its card can still be charged) is not collected now —
    debiting it as well could charge the citizen twice. Refusing or cancelling the card
    instead cannot protect them: the payer may be in the middle of 3-D Secure and the
    provider may already have charged. Skipping is within the pre-notification rules: the
    item keeps its unused pre-notification, which a later run may use (collection on or
    after the announced day, :func:`_matching`); if the card succeeds, it is no longer open.

    The claims are locked first (in id order, as ``checkout.start`` and ``settle`` lock them),
    so no attempt starts or is booked while the run decides; the open amounts are read again
    under the lock, so an item paid by card a moment ago is not collected."""
    held = reservations.lock_and_find_held(session, municipality_id, [i.claim.id for i in items])
    claims = [i.claim for i in items]
    open_now: dict[int, int] = {}
    for part in _chunks(claims):
        open_now.update(open_amounts(session, part))
    kept = []
    for item in items:
        if item.claim.id in held:
            skipped["card_payment_running"] += 1
        elif open_now.get(item.claim.id, 0) > 0:  # paid meanwhile: nothing left to collect
            kept.append(DueItem(item.claim, item.mandate, open_now[item.claim.id]))
    return kept


def create_run(
    session: Session,
    municipality: Municipality,
    *,
    collection_date: date,
    as_of: date,
    actor: str,
) -> RunResult:
    """Collect every due, announced item covered by an active mandate (see module docstring),
    except one a card payment holds right now (:func:`_not_held_by_card`): it stays for a
    later run."""
    if collection_date <= as_of:
        raise ValidationError("Der Einzugstag muss nach dem heutigen Tag liegen (D-1).")
    _check_bank_day(collection_date)
    # Two clerks starting a run at once must not both collect the same item.
    serialize(session, municipality.id, "sepa_run")
    rules = rules_on(session, municipality.id, as_of)
    skipped: dict[str, int] = defaultdict(int)
    items = _not_held_by_card(
        session, municipality.id, due_items(session, municipality, collection_date), skipped
    )
    announced = _unused_prenotifications(session, [i.claim.id for i in items])
    chosen: list[tuple[DueItem, PreNotification]] = []
    for item in items:
        if (
            item.mandate.status is MandateStatus.ACTIVE
            and collection_date >= item.mandate.lapses_on(rules)
        ):
            expire_mandate(session, item.mandate, rules, actor=actor)
        if item.mandate.status is not MandateStatus.ACTIVE:
            skipped["mandate_expired"] += 1
            continue
        pn = _matching(announced[item.claim.id], item, collection_date)
        if pn is None:
            skipped["not_prenotified"] += 1
            continue
        announced[item.claim.id].remove(pn)
        chosen.append((item, pn))
    if not chosen:
        return RunResult(None, dict(skipped))
    run = DirectDebitRun(
        municipality_id=municipality.id,
        collection_date=collection_date,
        message_id="",
        payment_info_id="",
        count=len(chosen),
        total_cents=sum(i.open_cents for i, _ in chosen),
        filename="",
        xml=b"",
        created_by=actor,
    )
    session.add(run)
    session.flush()
    first = _reserve(session, municipality.id, "sepa_item", len(chosen))
    persons = {
        p.id: p
        for chunk in _chunks(sorted({i.claim.person_id for i, _ in chosen}))
        for p in session.scalars(select(Person).where(Person.id.in_(chunk)))
    }
    debits = []
    for n, (item, _pn) in enumerate(chosen):
        claim, mandate = item.claim, item.mandate
        end_to_end = f"{claim.kassenzeichen}-{first + n}"
        payment = record_payment(
            session,
            person=persons[claim.person_id],
            amount_cents=item.open_cents,
            received_on=collection_date,
            channel=PaymentChannel.DIRECT_DEBIT,
            as_of=as_of,
            actor=actor,
            reference_text=f"Lastschrift {end_to_end}",
            claim_ids=[claim.id],
            external_ref=end_to_end,
            cash_account=CLEARING_ACCOUNT,
        )
        debit = DirectDebitItem(
            municipality_id=municipality.id,
            run_id=run.id,
            mandate_id=mandate.id,
            person_id=claim.person_id,
            claim_id=claim.id,
            amount_cents=item.open_cents,
            end_to_end_id=end_to_end,
            payment_id=payment.id,
        )
        session.add(debit)
        debits.append((debit, claim, mandate))
        mandate.last_collected_on = collection_date
    session.flush()
    for (debit, _, _), (_, pn) in zip(debits, chosen, strict=True):
        pn.used_by_item_id = debit.id
    xml = pain008(municipality, run, debits)
    root = etree.fromstring(xml)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{PAIN_008}"}
    run.message_id = root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=ns) or ""
    run.payment_info_id = (
        root.findtext("p:CstmrDrctDbtInitn/p:PmtInf/p:PmtInfId", namespaces=ns) or ""
    )
    run.xml = xml
    run.filename = f"Lastschriften-{municipality.slug}-{collection_date.isoformat()}-{run.id}.xml"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sepa.run_created",
        obj=run,
        municipality_id=municipality.id,
        after={
            "collection_date": collection_date.isoformat(),
            "count": run.count,
            "total_cents": run.total_cents,
            "message_id": run.message_id,
            "skipped": dict(skipped),
        },
    )
    return RunResult(run, dict(skipped))


def pain008(
    municipality: Municipality,
    run: DirectDebitRun,
    debits: list[tuple[DirectDebitItem, Claim, Mandate]],
) -> bytes:
    """The run as a pain.008.001.08 message, validated against the XSD before it is returned.

    Texts are transliterated here (:func:`sepa_text`), so sepaxml's own cleaning is off.
    """
    sepa = SepaDD(
        {
            "name": sepa_text(municipality.cash_office_name, 70),
            "IBAN": municipality.iban,
            "BIC": municipality.bic,
            "batch": True,
            "creditor_id": municipality.creditor_id,
            "currency": "EUR",
        },
        schema=PAIN_008,
        clean=False,
    )
    for debit, claim, mandate in debits:
        payment = {
            "name": sepa_text(mandate.account_holder, 70),
            "IBAN": mandate.iban,
            "amount": debit.amount_cents,
            "type": "RCUR",
            "collection_date": run.collection_date,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": sepa_text(
                f"Kassenzeichen {claim.kassenzeichen} {KINDS[claim.kind].label} "
                f"{claim.description}",
                140,
            ),
            "endtoend_id": debit.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        sepa.add_payment(payment)
    xml: bytes = sepa.export(validate=True)
    return xml


def get_run(session: Session, municipality_id: int, run_id: int) -> DirectDebitRun:
    run = session.scalars(
        select(DirectDebitRun).where(
            DirectDebitRun.id == run_id, DirectDebitRun.municipality_id == municipality_id
        )
    ).first()
    if run is None:
        raise NotFound("Dieser Lastschriftlauf wurde nicht gefunden.")
    return run


def runs_of(session: Session, municipality_id: int, limit: int = 50) -> list[DirectDebitRun]:
    return list(
        session.scalars(
            select(DirectDebitRun)
            .where(DirectDebitRun.municipality_id == municipality_id)
            .order_by(DirectDebitRun.id.desc())
            .limit(limit)
        )
    )


def items_of(session: Session, run: DirectDebitRun) -> list[DirectDebitItem]:
    return list(
        session.scalars(
            select(DirectDebitItem)
            .where(DirectDebitItem.run_id == run.id)
            .order_by(DirectDebitItem.id)
        )
    )
