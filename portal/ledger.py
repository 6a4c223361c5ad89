"""The citizen's account (Bürgerkonto): open and paid items of this municipality."""

from __future__ import annotations

from typing import Any

from flask import g, render_template
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import joinedload

from core.dunning import account as dunning_account
from core.dunning import enforcement_account
from core.kernel import clock
from core.ledger.balances import credit_balance
from core.ledger.queries import claims_of
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.payouts.queries import payouts_of
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.models import DirectDebitItem, PreNotification
from core.persons.models import Person
from portal.citizen import current_person
from portal.database import db
from portal.identity.auth import citizen_required
from portal.municipal import bp


def _person_statement() -> Any:
    """The citizen's person in this municipality with their addresses (the page shows the
    address on the day), and whether they have anything of a direct debit (an item of a run,
    an unused pre-notification) or a successful card payment: without one, the statements
    that would find none are not sent. One statement."""
    mine = (Person.municipality_id == bindparam("municipality_id"),)
    debit_item = exists().where(
        DirectDebitItem.person_id == Person.id,
        DirectDebitItem.municipality_id == Person.municipality_id,
    )
    announced = exists().where(
        PreNotification.person_id == Person.id,
        PreNotification.municipality_id == Person.municipality_id,
        PreNotification.used_by_item_id.is_(None),
    )
    paid_online = exists().where(
        PaymentAttempt.person_id == Person.id, PaymentAttempt.status == AttemptStatus.SUCCEEDED
    )
    return (
        select(Person, debit_item | announced, paid_online)
        .where(*mine, Person.id == bindparam("person_id"))
        .options(joinedload(Person.addresses))
    )


# Built once: every account page asks for them.
_PERSON = _person_statement()
_ONLINE_PAYMENTS = (
    select(PaymentAttempt)
    .where(
        PaymentAttempt.person_id == bindparam("person_id"),
        PaymentAttempt.status == AttemptStatus.SUCCEEDED,
    )
    .order_by(PaymentAttempt.id.desc())
)


@bp.get("/konto")
@citizen_required
def account() -> str:
    session = db()
    acting_for = current_person()  # the own person or the one acted for (representation)
    found = (
        session.execute(
            _PERSON,
            {
                "municipality_id": g.municipality.id,
                "person_id": acting_for.id if acting_for else 0,
            },
        )
        .unique()
        .first()
    )
    person, any_debit, paid_online = found if found is not None else (None, False, False)
    views = claims_of(session, person) if person else []
    open_views = [v for v in views if v.open_cents > 0 and not v.cancelled]
    paid_views = [v for v in views if v.open_cents == 0 and not v.cancelled]
    online = (
        list(session.scalars(_ONLINE_PAYMENTS, {"person_id": person.id}))
        if person and paid_online
        else []
    )
    today = clock.today()
    return render_template(
        "portal/ledger/account.html",
        online_payments=online,
        person=person,
        open_items=open_views,
        paid_items=list(reversed(paid_views)),
        total_open=sum(v.open_cents for v in open_views),
        credit=credit_balance(session, person) if person else 0,
        payouts=payouts_of(session, person) if person else [],
        as_of=today,
        debits=debit_outlook(session, person, as_of=today) if person and any_debit else {},
        **_dunning(session, person, [v.claim.id for v in open_views]),
    )


def _dunning(session: Any, person: Person | None, open_ids: list[int]) -> dict[str, Any]:
    """The person's dunning letters, where each dunned claim stands and which open claims a
    block holds, with its reason (core.dunning.account), and each claim of an enforcement case
    (core.dunning.enforcement_account)."""
    if person is None:
        return {"dunning_letters": [], "dunning": {}, "blocked": {}, "enforced_claims": []}
    m = g.municipality.id
    return {
        "dunning_letters": dunning_account.sent_letters(session, m, person.id),
        "dunning": dunning_account.claim_states(session, m, person.id),
        "blocked": dunning_account.blocks_in_force(session, m, person.id, open_ids, clock.today()),
        "enforced_claims": enforcement_account.claims_in_enforcement(session, m, person.id),
    }
