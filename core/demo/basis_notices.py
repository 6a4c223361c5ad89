"""Demo basis notices: the tax office's delivery for each demo town, imported as a real file
through the import (core.levies.basis_notices.imports): Grundsteuermessbescheide for some of the
persons' homes (residential and non-residential, one change from next year, one cancellation),
Gewerbesteuermessbescheide for the businesses (one a Zerlegungsbescheid with this town's share,
with advance-payment bases) — and one notice without a person number, waiting in the clerk's
queue with suggestions. Deterministic: drawn from the persons in their order, no random draws."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.demo.ledger import settle
from core.ledger.models import Claim
from core.levies.basis_notices import imports
from core.levies.basis_notices.models import (
    LandUse,
    NoticeDocument,
    NoticeKind,
    PropertyClass,
    TaxKind,
)
from core.levies.basis_notices.reader import NoticeRecord
from core.levies.basis_notices.xml_writer import write_xml
from core.levies.trade_tax import approval
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality

PLOTS = 12  # persons with a Grundstück
MAIN_ASSESSMENT = 2025  # Grundsteuerreform: the new Messbeträge apply from 2025


def _plot(m: Municipality, person: Person, index: int, as_of: date) -> NoticeRecord:
    address = person.address_on(as_of)
    return NoticeRecord(
        line=0,
        municipality_key=m.official_key,
        tax=TaxKind.PROPERTY_TAX,
        kind=NoticeKind.NEW,
        document=NoticeDocument.MEASUREMENT,
        reference=f"{m.official_key[:4]}/{200 + index:03d}/{person.number:04d}",
        year_from=MAIN_ASSESSMENT,
        year_to=None,
        messbetrag_cents=3000 + (person.number * 1373) % 15000,
        notice_date="2024-11-15",
        person_number=person.number,
        name=person.display_name,
        street=address.street if address else None,
        house_number=address.house_number if address else None,
        postal_code=address.postal_code if address else None,
        city=address.city if address else None,
        property_class=PropertyClass.B,
        land_use=LandUse.NON_RESIDENTIAL if index % 5 == 4 else LandUse.RESIDENTIAL,
    )


def _business(m: Municipality, person: Person, index: int, year: int) -> list[NoticeRecord]:
    base = NoticeRecord(
        line=0,
        municipality_key=m.official_key,
        tax=TaxKind.TRADE_TAX,
        kind=NoticeKind.NEW,
        document=NoticeDocument.MEASUREMENT,
        reference=f"{m.official_key[:4]}/{500 + index:03d}/{person.number:05d}",
        year_from=year - 1,
        year_to=None,
        messbetrag_cents=50000 + (person.number * 7919) % 250000,
        notice_date=f"{year}-05-04",
        person_number=person.number,
        name=person.display_name,
    )
    if index == 0:  # a business with branches elsewhere: this town's share (Zerlegung)
        base = replace(
            base, document=NoticeDocument.APPORTIONMENT, share_numerator=2, share_denominator=5
        )
    advance = replace(
        base,
        kind=NoticeKind.ADVANCE_PAYMENT,
        document=NoticeDocument.MEASUREMENT,
        year_from=year,
        share_numerator=None,
        share_denominator=None,
        notice_date=f"{year}-05-05",
    )
    return [base, advance]


def records_for(session: Session, m: Municipality, as_of: date) -> list[NoticeRecord]:
    people = list(
        session.scalars(
            select(Person).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    natural = [p for p in people if p.kind is PersonKind.NATURAL]
    owners = natural[: min(PLOTS, len(natural) - 1)]  # one left over for the clerk's queue
    plots = [_plot(m, p, i, as_of) for i, p in enumerate(owners)]
    records = list(plots)
    if plots:  # the first plot's Messbetrag rises from next year (Fortschreibung)
        records.append(
            replace(
                plots[0],
                kind=NoticeKind.CHANGE,
                year_from=as_of.year + 1,
                messbetrag_cents=(plots[0].messbetrag_cents or 0) + 1250,
                notice_date=f"{as_of.year}-09-30",
            )
        )
    if len(plots) > 1:  # the second plot is cancelled from next year (e.g. merged)
        records.append(
            replace(
                plots[1],
                kind=NoticeKind.CANCELLATION,
                year_from=as_of.year + 1,
                messbetrag_cents=None,
                notice_date=f"{as_of.year}-10-15",
            )
        )
    if len(natural) > len(owners):  # no person number: the clerk assigns it (suggested by name)
        left = natural[len(owners)]
        records.append(replace(_plot(m, left, len(owners), as_of), person_number=None))
    businesses = [p for p in people if p.kind is PersonKind.BUSINESS]
    for i, p in enumerate(businesses[:4]):
        records.extend(_business(m, p, i, as_of.year))
    return records


def load(session: Session, m: Municipality, as_of: date) -> int:
    """Import the demo delivery for ``m`` and assess its trade tax; returns how many notices
    the delivery holds."""
    records = records_for(session, m, as_of)
    if not records:
        return 0
    data = write_xml(records, sender=f"Finanzamt {m.city}")
    imports.import_file(session, m, data, filename=f"messbescheide-{m.slug}.xml", actor=ACTOR)
    trade_tax_notices(session, m, as_of)
    return len(records)


def trade_tax_notices(session: Session, m: Municipality, as_of: date) -> None:
    """The trade-tax notices of last year's Gewerbesteuermessbescheide, issued on 20 May (those
    above the town's four-eyes limit wait for the approver), and their claims paid as most
    businesses do (a generator of its own: the seed's other data stay put)."""
    issued_on = min(as_of, date(as_of.year, 5, 20))
    done = approval.prepare_from_basis_notices(
        session, municipality=m, as_of=issued_on, actor=ACTOR
    )
    rng = random.Random(f"trade-tax-{m.slug}")
    for prepared in done:
        if prepared.notice is None:
            continue
        person = session.get_one(Person, prepared.notice.person_id)
        for claim in session.scalars(
            select(Claim).where(Claim.notice_id == prepared.notice.id).order_by(Claim.due_date)
        ):
            settle(session, person, claim, as_of, rng, {"payments": 0})
