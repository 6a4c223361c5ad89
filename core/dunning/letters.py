"""Dunning letters as PDF (Zahlungserinnerung, Mahnung, …): made and archived once per booked
letter, in the letter layout of the notices (templates/documents/dunning_letter.html).

A letter prints per claim its Kassenzeichen, what it is, its due date, the open amount, its share
of the fee and its new surcharges, the totals (open + fee + surcharges = total, as the run stored
them), the payment deadline, a GiroCode for the total and the signed link to the portal.

The GiroCode's reference is the letter's own reference as RF reference (core.dunning.
letter_references: never a Kassenzeichen, so it names the letter as a whole): the bank import
allocates a transfer naming it to exactly the letter's claims, fee and surcharges in the order
of § 225 (2) AO (surcharges last), and what is left as for any payment of the person — so the
total settles the letter, whatever Kassenzeichen its claims carry.

Rendering goes through core.notices.rendering (the same worker-safe RenderJob and renderer), the
signed link through core.kernel.tokens with its own purpose, the archive through core.kernel.
archive; a letter's row in ``dunning_letter_document`` (primary key: the letter) keeps it from
being archived twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.letter_records import DunningLetterDocument
from core.dunning.letter_references import letter_reference
from core.dunning.models import DunningItem, DunningLetter, DunningRun
from core.dunning.procedure import LEVY, DunningRules
from core.dunning.runs import items_of
from core.kernel import archive
from core.kernel.db import get_scoped
from core.kernel.errors import NotFound
from core.kernel.girocode import epc_payload
from core.kernel.pdf import EmbeddedFile
from core.kernel.references import make_rf
from core.kernel.tokens import make_token, read_token
from core.ledger.models import Claim
from core.notices.machine_readable import embedded_xml
from core.notices.records import NoticeSettings, recipient_block
from core.notices.rendering import RenderJob, pdf_of
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

TEMPLATE = "dunning_letter.html"
KIND = "dunning_letter"  # the archive's document kind
LINK_PURPOSE = "dunning_letter"


# --------------------------------------------------------------------------- lookup


def get_letter(session: Session, municipality_id: int, letter_id: int) -> DunningLetter:
    """A *booked* letter of this municipality (a preview's letter was never sent)."""
    letter = get_scoped(
        session,
        DunningLetter,
        municipality_id,
        letter_id,
        not_found="Dieses Mahnschreiben wurde nicht gefunden.",
    )
    if letter.booked_at is None:
        raise NotFound("Dieses Mahnschreiben wurde nicht gefunden.")
    return letter


def document_id_of(session: Session, letter_id: int) -> int | None:
    return session.scalar(
        select(DunningLetterDocument.document_id).where(
            DunningLetterDocument.letter_id == letter_id
        )
    )


def pending(session: Session, municipality_id: int, run_id: int | None = None) -> list[int]:
    """Booked letters without their PDF yet, in id order (of one run, or all)."""
    stmt = (
        select(DunningLetter.id)
        .outerjoin(DunningLetterDocument, DunningLetterDocument.letter_id == DunningLetter.id)
        .where(
            DunningLetter.municipality_id == municipality_id,
            DunningLetter.booked_at.is_not(None),
            DunningLetterDocument.letter_id.is_(None),
        )
        .order_by(DunningLetter.id)
    )
    if run_id is not None:
        stmt = stmt.where(DunningLetter.run_id == run_id)
    return list(session.scalars(stmt))


def reference_of(session: Session, letter: DunningLetter) -> str:
    """The letter's own payment reference (``M…``), which its GiroCode names as RF reference —
    the same on the PDF and on the page behind the link."""
    prefix = session.scalar(
        select(Municipality.kassenzeichen_prefix).where(Municipality.id == letter.municipality_id)
    )
    if prefix is None:
        raise NotFound("Dieses Mahnschreiben wurde nicht gefunden.")
    return letter_reference(prefix, letter.id)


# --------------------------------------------------------------------------- signed link


def link_token(settings: NoticeSettings, letter: DunningLetter) -> str:
    """The signed link's token, dated when the letter was booked (a real instant)."""
    if letter.booked_at is None:
        raise ValueError(f"dunning letter {letter.id} is not booked")
    return make_token(settings.secret, LINK_PURPOSE, letter.id, issued_at=letter.booked_at)


def letter_from_token(
    session: Session, settings: NoticeSettings, municipality_id: int, token: str, *, now: datetime
) -> DunningLetter:
    """The letter a signed link points to; another municipality's is not found."""
    letter_id = read_token(
        settings.secret, LINK_PURPOSE, token, now=now, max_age=settings.link_max_age
    )
    return get_letter(session, municipality_id, letter_id)


def public_url(settings: NoticeSettings, municipality: Municipality, letter: DunningLetter) -> str:
    return (
        f"{settings.public_base_url.rstrip('/')}/{municipality.slug}/mahnschreiben/"
        f"{link_token(settings, letter)}"
    )


# --------------------------------------------------------------------------- rendering


def _procedure(session: Session, municipality_id: int, run: DunningRun) -> tuple[DunningRules, str]:
    """The procedure in force on the run date and its Rechtsbehelfsbelehrung (``remedy``, if the
    statute data has one)."""
    statute = statute_on(session, municipality_id, LEVY, run.run_date)
    return DunningRules.from_data(statute.data, statute.source), str(statute.data.get("remedy", ""))


def _item_rows(items: Sequence[DunningItem], claims: dict[int, Claim]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        claim = claims[item.claim_id]
        rows.append(
            {
                "kassenzeichen": claim.kassenzeichen,
                "description": claim.description,
                "due_date": claim.due_date,
                "open_cents": item.open_cents,
                "fee_cents": item.fee_cents,
                "surcharge_cents": item.surcharge_cents,
                "total_cents": item.open_cents + item.fee_cents + item.surcharge_cents,
            }
        )
    return rows


def _totals(letter: DunningLetter, rows: list[dict[str, Any]]) -> dict[str, int]:
    """The letter's totals as the run stored them; they must be the sum of its rows."""
    totals = {
        "open_cents": letter.open_cents,
        "fee_cents": letter.fee_cents,
        "surcharge_cents": letter.surcharge_cents,
        "total_cents": letter.total_cents,
    }
    for key in ("open_cents", "fee_cents", "surcharge_cents", "total_cents"):
        if sum(r[key] for r in rows) != totals[key]:
            raise ValueError(f"dunning letter {letter.id}: {key} does not add up")
    return totals


def render_job(session: Session, letter: DunningLetter, settings: NoticeSettings) -> RenderJob:
    """What the letter's PDF is made of, as plain values a worker process can take."""
    municipality = session.get_one(Municipality, letter.municipality_id)
    run = session.get_one(DunningRun, letter.run_id)
    person = session.get_one(Person, letter.person_id)
    items = items_of(session, [letter.id])[letter.id]
    claims = {
        c.id: c
        for c in session.scalars(select(Claim).where(Claim.id.in_([i.claim_id for i in items])))
    }
    rules, remedy = _procedure(session, municipality.id, run)
    first = claims[items[0].claim_id]
    rows = _item_rows(items, claims)
    totals = _totals(letter, rows)
    rf = make_rf(letter_reference(municipality.kassenzeichen_prefix, letter.id))
    epc = (
        epc_payload(
            name=municipality.cash_office_name,
            iban=municipality.iban,
            bic=municipality.bic,
            amount_cents=letter.total_cents,
            rf_reference=rf,
        )
        if letter.total_cents > 0
        else None
    )
    context = {
        "municipality": {c.key: getattr(municipality, c.key) for c in Municipality.__table__.c},
        "recipient": recipient_block(person, run.run_date),
        "letter": {
            "level_name": letter.level_name,
            "level": letter.level,
            "run_id": run.id,
            "run_date": run.run_date,
            "person_number": person.number,
            "delivered_on": letter.delivered_on,
            "payment_deadline": letter.payment_deadline,
            "kassenzeichen": first.kassenzeichen,
            "rf": rf,
            "legal_basis": rules.legal_basis or "§ 240 AO",
            "procedure_source": rules.source,
            "surcharges": rules.surcharges,
            "remedy": remedy,
        },
        "items": rows,
        "totals": totals,
    }
    return RenderJob(
        notice_id=letter.id,
        template=TEMPLATE,
        context=context,
        epc_payload=epc,
        link_url=public_url(settings, municipality, letter),
        files=(_xml(context),),
    )


def _xml(context: dict[str, Any]) -> EmbeddedFile:
    """The letter's machine-readable XML (core.notices.machine_readable), from the values it
    prints: a position per claim, the total to pay by the deadline."""
    letter, totals = context["letter"], context["totals"]
    shown = ("kassenzeichen", "due_date", "open_cents", "fee_cents", "surcharge_cents")
    return embedded_xml(
        {
            "municipality": context["municipality"],
            "recipient": context["recipient"],
            "notice": {
                "title": letter["level_name"],
                "number": letter["run_id"],  # printed as "Mahnlauf-Nr."
                "issued_on": letter["run_date"],
                "person_number": letter["person_number"],
                "kassenzeichen": letter["kassenzeichen"],
                "rf": letter["rf"],
                "legal_basis": f"{letter['legal_basis']} ({letter['procedure_source']})",
                "remedy": letter["remedy"],
            },
            "lines": [
                {"description": row["description"], "amount_cents": row["total_cents"]}
                | {key: row[key] for key in shown}
                for row in context["items"]
            ],
            "total_cents": totals["total_cents"],
            "payable_cents": totals["total_cents"],
            "schedules": [
                {
                    "title": "Zahlungsfrist",
                    "rows": [
                        {
                            "due_date": letter["payment_deadline"],
                            "amount_cents": totals["total_cents"],
                        }
                    ],
                }
            ],
        },
        kind="mahnschreiben",
        levy=LEVY,
        year=letter["run_date"].year,
        issued_on=letter["run_date"],
    )


def render(session: Session, letter: DunningLetter, settings: NoticeSettings) -> bytes:
    """The letter as PDF, made in this process."""
    return pdf_of(render_job(session, letter, settings))


# --------------------------------------------------------------------------- archive


def _archive(
    session: Session, letter: DunningLetter, content: bytes, actor: str
) -> archive.Document:
    run_date = session.scalar(select(DunningRun.run_date).where(DunningRun.id == letter.run_id))
    document = archive.store(
        session,
        municipality_id=letter.municipality_id,
        person_id=letter.person_id,
        kind=KIND,
        filename=f"Mahnschreiben-{letter.id}-{run_date:%Y-%m-%d}.pdf",
        content=content,
        actor=actor,
    )
    session.add(DunningLetterDocument(letter_id=letter.id, document_id=document.id))
    session.flush()
    return document


def _locked(session: Session, letter_id: int) -> DunningLetter:
    """The letter locked (PostgreSQL): a second renderer at the same time waits, then finds the
    document the first one stored."""
    return session.get_one(DunningLetter, letter_id, with_for_update=True, populate_existing=True)


def ensure_document(
    session: Session, letter: DunningLetter, settings: NoticeSettings, actor: str
) -> archive.Document:
    """The archived PDF of a booked letter, rendered and stored on first need (once)."""
    if letter.booked_at is None:
        raise NotFound("Dieses Mahnschreiben wurde nicht gefunden.")
    found = document_id_of(session, letter.id)
    if found is None:
        letter = _locked(session, letter.id)
        found = document_id_of(session, letter.id)
    if found is not None:
        return session.get_one(archive.Document, found)
    return _archive(session, letter, render(session, letter, settings), actor)


def make_for_letters(
    session: Session,
    municipality_id: int,
    letter_ids: Sequence[int],
    settings: NoticeSettings,
    actor: str,
) -> int:
    """Make and archive the PDFs of the given booked letters that have none yet; the number
    archived (a letter that has its PDF is skipped, so calling twice archives nothing)."""
    archived = 0
    for letter_id in sorted(set(letter_ids)):
        letter = _locked(session, letter_id)
        if letter.municipality_id != municipality_id or letter.booked_at is None:
            continue
        if document_id_of(session, letter.id) is not None:
            continue
        _archive(session, letter, render(session, letter, settings), actor)
        archived += 1
    return archived


def make_for_run(session: Session, run: DunningRun, settings: NoticeSettings, actor: str) -> int:
    """Make and archive the PDFs of all booked letters of the run that have none yet."""
    return make_for_letters(
        session, run.municipality_id, pending(session, run.municipality_id, run.id), settings, actor
    )
