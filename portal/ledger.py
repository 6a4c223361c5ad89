"""The citizen's account (Bürgerkonto): open and paid items of this municipality."""

from __future__ import annotations

from flask import g, render_template
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from core.kernel import clock
from core.ledger.balances import credit_balance
from core.ledger.queries import claims_of
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.sepa.debit_outlook import debit_outlook
from core.persons import models as persons
from portal.database import db
from portal.identity.auth import citizen_required
from portal.municipal import bp


# The page shows the address on the day: loaded with the person, not by a second statement.
_PERSON_WITH_ADDRESSES = (
    select(persons.Person)
    .where(
        persons.Person.municipality_id == bindparam("municipality_id"),
        persons.Person.user_id == bindparam("user_id"),
    )
    .options(joinedload(persons.Person.addresses))
)


@bp.get("/konto")
@citizen_required
def account() -> str:
    session = db()
    person = (
        session.scalars(
            _PERSON_WITH_ADDRESSES,
            {"municipality_id": g.municipality.id, "user_id": current_user.id},
        )
        .unique()
        .first()
    )
    views = claims_of(session, person) if person else []
    open_views = [v for v in views if v.open_cents > 0 and not v.cancelled]
    paid_views = [v for v in views if v.open_cents == 0 and not v.cancelled]
    online = (
        []
        if person is None
        else list(
            session.scalars(
                select(PaymentAttempt)
                .where(
                    PaymentAttempt.person_id == person.id,
                    PaymentAttempt.status == AttemptStatus.SUCCEEDED,
                )
                .order_by(PaymentAttempt.id.desc())
            )
        )
    )
    return render_template(
        "portal/ledger/account.html",
        online_payments=online,
        person=person,
        open_items=open_views,
        paid_items=list(reversed(paid_views)),
        total_open=sum(v.open_cents for v in open_views),
        credit=credit_balance(session, person) if person else 0,
        as_of=clock.today(),
        debits=debit_outlook(session, person, as_of=clock.today()) if person else {},
    )
