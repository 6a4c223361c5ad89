"""The letter of an objection decision (Abhilfebescheid, Widerspruchsbescheid, confirmation of
the withdrawal) as PDF/A-3b, tagged, in the shared DIN 5008 letter layout
(templates/documents/objection_decision.html with _letter.html), archived with its SHA-256
and put into the citizen's account (the archive's document of the person; its downloads are
recorded as a notice's are).

The legal remedy against a Widerspruchsbescheid (and against a partial Abhilfe, which rejects
the rest) is a suit at the Verwaltungsgericht within one month of its delivery (§ 74 (1)
VwGO). Its text is statute data of the levy: ``objection_decision_remedy`` (the whole text) or
``administrative_court`` (the court's name and address, put into the default text).

The archived letter is delivered exactly as a notice is (core.delivery, LETTER_KINDS): consent
register, notification, deemed delivery on the 4th day (§ 122a (4) AO) or the postal fallback
(§ 122 (2) AO). :func:`delivery_of` gives its deemed date and the suit's deadline from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.delivery.models import STATUS_LABELS, Delivery
from core.delivery.service import delivery_of_letter, local_day
from core.kernel import archive
from core.kernel.errors import NotFound
from core.kernel.pdf import render_pdf
from core.notices.records import Notice, recipient_block
from core.objections.deadline import suit_deadline
from core.objections.models import DecisionKind, Objection, ObjectionDecision
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

TEMPLATE = "objection_decision.html"
KIND = "objection_decision"
COURT = "dem zuständigen Verwaltungsgericht"
DEFAULT_REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage bei {court} "
    "erhoben werden (§ 74 Abs. 1 VwGO). Die Klage ist schriftlich oder zur Niederschrift des "
    "Urkundsbeamten der Geschäftsstelle des Gerichts zu erheben (§ 81 VwGO); sie kann auch "
    "elektronisch nach § 55a VwGO erhoben werden. Sie muss den Kläger, den Beklagten und den "
    "Gegenstand des Klagebegehrens bezeichnen."
)


WITH_REMEDY = (DecisionKind.REJECTED, DecisionKind.GRANTED_PARTIAL)  # these reject (in part)


def remedy_text(session: Session, notice: Notice) -> str:
    """The Rechtsbehelfsbelehrung of a Widerspruchsbescheid on a notice of this levy."""
    try:
        data = statute_on(session, notice.municipality_id, notice.levy, notice.issued_on).data
    except NotFound:
        data = {}
    own = data.get("objection_decision_remedy")
    if own:
        return str(own)
    return DEFAULT_REMEDY.format(court=data.get("administrative_court") or COURT)


def context(session: Session, decision: ObjectionDecision) -> dict[str, Any]:
    """What the letter prints, from the decision, its objection and the notice."""
    objection = session.get_one(Objection, decision.objection_id)
    notice = session.get_one(Notice, objection.notice_id)
    municipality = session.get_one(Municipality, decision.municipality_id)
    person = session.get_one(Person, objection.person_id)
    if decision.decided_on is None:
        raise ValueError(f"objection decision {decision.id} is not final")
    with_remedy = decision.kind in WITH_REMEDY
    return {
        "municipality": {c.key: getattr(municipality, c.key) for c in Municipality.__table__.c},
        "recipient": recipient_block(person, decision.decided_on),
        "decision": {
            "id": decision.id,
            "kind": decision.kind.value,
            "title": decision.letter_title,
            "label": decision.label,
            "decided_on": decision.decided_on,
            "before_cents": decision.before_cents,
            "after_cents": decision.after_cents,
            "difference_cents": decision.before_cents - decision.after_cents,
            "refund_cents": decision.refund_cents,
            "reasons": decision.reasons,
            "remedy": remedy_text(session, notice) if with_remedy else "",
        },
        "objection": {
            "id": objection.id,
            "received_on": local_day(objection.received_at),
            "late": objection.late,
        },
        "notice": {
            "number": notice.number,
            "title": notice.title,
            "issued_on": notice.issued_on,
            "kassenzeichen": notice.kassenzeichen,
            "person_number": person.number,
        },
    }


def render(session: Session, decision: ObjectionDecision) -> bytes:
    """The letter as PDF/A-3b, tagged."""
    return render_pdf(TEMPLATE, context(session, decision), archival=True)


def archive_letter(
    session: Session, decision: ObjectionDecision, *, actor: str
) -> archive.Document:
    """Render the final decision's letter and store it as the person's document."""
    objection = session.get_one(Objection, decision.objection_id)
    name = decision.letter_title.split(" ")[0]
    return archive.store(
        session,
        municipality_id=decision.municipality_id,
        person_id=objection.person_id,
        kind=KIND,
        filename=f"{name}-Widerspruch-{objection.id}.pdf",
        content=render(session, decision),
        actor=actor,
    )


@dataclass(frozen=True)
class LetterDelivery:
    """How far the letter's delivery is: ``delivery`` None until it is made available (the next
    sending of the outbox); ``suit_until`` only for a letter with a legal remedy."""

    delivery: Delivery | None
    deemed_on: date | None
    suit_until: date | None

    @property
    def status_label(self) -> str:
        if self.delivery is None:
            return "wird zugestellt"
        return STATUS_LABELS[self.delivery.status]


def delivery_of(session: Session, decision: ObjectionDecision) -> LetterDelivery:
    """The letter's delivery record, its deemed delivery date and the suit period's last day."""
    delivery = delivery_of_letter(session, decision.document_id)
    deemed = delivery.deemed_on if delivery is not None else None
    suit_until = None
    if deemed is not None and decision.kind in WITH_REMEDY:
        land = session.get_one(Municipality, decision.municipality_id).state
        suit_until = suit_deadline(deemed, land)
    return LetterDelivery(delivery, deemed, suit_until)
