"""Fee notices (Gebührenbescheide): a one-off fee a statute sets — e.g. the replacement dog tag
(DOMAIN.md "Dog tag": München 5 €, Augsburg 4 €; here ``replacement_tag_fee_cents`` of the
Hundesteuersatzung) — is an administrative act like any levy (§§ 155, 157 AO via the KAG of the
Land): it is assessed by a written notice that names amount, due date, legal basis and the
remedy, and the claim is booked on that notice's Kassenzeichen. Without the notice nobody owes
the fee; without the claim the notice would ask for nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.ledger.accounts import tax_account
from core.ledger.claims import post_claim
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim
from core.levies.prenotification import with_direct_debit
from core.notices.records import Notice, new_notice, recipient_block
from core.payments.sepa.prenotifications import announce_by_notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

TEMPLATE = "fee_notice.html"  # templates/documents/, rendered by core.notices.records.render


def issue_fee_notice(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    kind: ClaimKind,
    amount_cents: int,
    due_date: date,
    description: str,
    title: str,
    intro: str,
    legal_basis: str,
    remedy: str,
    as_of: date,
    actor: str,
) -> tuple[Notice, Claim]:
    """Issue the fee notice and book its claim (pre-notified by the notice where a mandate
    pays the person's fees); returns both."""
    account = tax_account(session, person, municipality, kind)
    texts = (intro, legal_basis, remedy)
    snapshot = _snapshot(
        person, kind, amount_cents, due_date, description, texts=texts, as_of=as_of
    )
    notice = new_notice(
        session,
        municipality=municipality,
        person=person,
        levy=kind.value,
        year=as_of.year,
        issued_on=as_of,
        title=title,
        kassenzeichen=account.kassenzeichen,
        total_cents=amount_cents,
        previous_cents=0,
        data=with_direct_debit(session, municipality, person, kind.value, as_of, snapshot),
        actor=actor,
    )
    claim = post_claim(
        session,
        person=person,
        municipality=municipality,
        kind=kind,
        amount_cents=amount_cents,
        due_date=due_date,
        description=description,
        as_of=as_of,
        actor=actor,
        kassenzeichen=account.kassenzeichen,
        notice_id=notice.id,
    )
    announce_by_notice(session, notice.id, [claim])
    return notice, claim


def _snapshot(
    person: Person,
    kind: ClaimKind,
    amount_cents: int,
    due_date: date,
    description: str,
    *,
    texts: tuple[str, str, str],
    as_of: date,
) -> dict[str, Any]:
    """What the fee notice prints; ``texts``: intro, legal basis and remedy."""
    intro, legal_basis, remedy = texts
    return {
        "template": TEMPLATE,
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": intro,
        "legal_basis": legal_basis,
        "remedy": remedy,
        "lines": [
            {
                "description": description,
                "label": KINDS[kind].label,
                # A fee is owed for the day of the act; notices.render reads these dates.
                "period_start": as_of.isoformat(),
                "period_end": as_of.isoformat(),
                "amount_cents": amount_cents,
            }
        ],
        "instalments": [{"due_date": due_date.isoformat(), "amount_cents": amount_cents}],
        "payable_cents": amount_cents,
    }
