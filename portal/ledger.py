"""The citizen's account (Bürgerkonto): open and paid items of this municipality."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import g, render_template
from sqlalchemy import Date, bindparam, exists, or_, select
from sqlalchemy.orm import joinedload

from core.dunning import account as dunning_account
from core.dunning import enforcement_account
from core.dunning.enforcement_models import EnforcementCase
from core.dunning.instalment_models import InstalmentPlan
from core.dunning.instalment_rules import LEVY as INSTALMENTS
from core.dunning.models import DunningBlock, DunningLetter
from core.kernel import clock
from core.ledger.balances import credit_of
from core.ledger.queries import claim_rows_of
from core.levies.basis_notices.models import TaxKind, TaxObject
from core.levies.trade_tax.refund_interest import RefundInterest
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.payouts.models import PayoutItem
from core.payments.payouts.queries import payouts_of
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.models import DirectDebitItem, PreNotification
from core.persons.models import Person
from core.tenancy.statutes import Statute
from portal.account_cards import cards
from portal.citizen import current_person
from portal.database import db
from portal.identity.auth import citizen_required
from portal.municipal import bp


class Present(NamedTuple):
    """Whether the person has anything of the account's optional parts. A part whose flag is
    false has no rows, so its statements are not sent (the page shows nothing for it)."""

    debits: bool  # an item of a direct-debit run or an unused pre-notification
    paid_online: bool  # a successful card payment
    dunning: bool  # a dunning letter (sent letters, dunned claims)
    blocks: bool  # a dunning block
    enforcement: bool  # an enforcement case
    payouts: bool  # a payout item
    plans: bool  # an instalment plan
    plots: bool  # a property-tax object
    refund_interest: bool  # Erstattungszinsen zur Gewerbesteuer
    instalments_offered: bool  # the municipality has rules for instalments in force today


NOTHING = Present(*(False,) * len(Present._fields))


def _person_statement() -> Any:
    """The citizen's person in this municipality with their addresses (the page shows the
    address on the day), per optional part of the page whether there is anything of it
    (:class:`Present`), and the person's credit. One statement."""
    mine = (Person.municipality_id == bindparam("municipality_id"),)

    def of_person(model: Any, *conditions: Any) -> Any:
        """Whether ``model`` has a row of the person in its municipality."""
        columns = model.__table__.c
        return exists().where(
            columns.person_id == Person.id,
            columns.municipality_id == Person.municipality_id,
            *conditions,
        )

    debit_item = of_person(DirectDebitItem)
    announced = of_person(PreNotification, PreNotification.used_by_item_id.is_(None))
    paid_online = exists().where(
        PaymentAttempt.person_id == Person.id, PaymentAttempt.status == AttemptStatus.SUCCEEDED
    )
    refund_interest = exists().where(RefundInterest.person_id == Person.id)
    today = bindparam("today", type_=Date)
    instalment_rules = exists().where(  # as core.dunning.instalment_rules.rules_on finds them
        Statute.municipality_id == Person.municipality_id,
        Statute.levy == INSTALMENTS,
        Statute.valid_from <= today,
        or_(Statute.valid_to.is_(None), Statute.valid_to > today),
    )
    return (
        select(
            Person,
            credit_of(Person.id),
            debit_item | announced,
            paid_online,
            of_person(DunningLetter),
            of_person(DunningBlock),
            of_person(EnforcementCase),
            of_person(PayoutItem),
            of_person(InstalmentPlan),
            of_person(TaxObject, TaxObject.tax == TaxKind.PROPERTY_TAX),
            refund_interest,
            instalment_rules,
        )
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
    today = clock.today()
    found = (
        session.execute(
            _PERSON,
            {
                "municipality_id": g.municipality.id,
                "person_id": acting_for.id if acting_for else 0,
                "today": today,
            },
        )
        .unique()
        .first()
    )
    person, credit, has = (
        (found[0], int(found[1]), Present(*found[2:])) if found is not None else (None, 0, NOTHING)
    )
    rows = claim_rows_of(session, person) if person else []
    open_rows = [r for r in rows if r.open_cents > 0 and not r.cancelled]
    paid_rows = [r for r in rows if r.open_cents == 0 and not r.cancelled]
    online = (
        list(session.scalars(_ONLINE_PAYMENTS, {"person_id": person.id}))
        if person and has.paid_online
        else []
    )
    debits = debit_outlook(session, person, as_of=today) if person and has.debits else {}
    dunning = _dunning(session, person, has, [r.id for r in open_rows])
    per_claim = (debits, dunning["dunning"], dunning["blocked"])
    return render_template(
        "portal/ledger/account.html",
        online_payments=online,
        person=person,
        open_items=cards(open_rows, today, *per_claim),
        paid_items=cards(reversed(paid_rows), today, *per_claim),
        total_open=sum(r.open_cents for r in open_rows),
        credit=credit,
        payouts=payouts_of(session, person) if person and has.payouts else [],
        as_of=today,
        debits=debits,
        has=has,
        **dunning,
    )


def _dunning(
    session: Any, person: Person | None, has: Present, open_ids: list[int]
) -> dict[str, Any]:
    """The person's dunning letters, where each dunned claim stands and which open claims a
    block holds, with its reason (core.dunning.account), and each claim of an enforcement case
    (core.dunning.enforcement_account); only the parts the person has anything of (``has``)."""
    found: dict[str, Any] = {
        "dunning_letters": [],
        "dunning": {},
        "blocked": {},
        "enforced_claims": [],
    }
    if person is None:
        return found
    m = g.municipality.id
    if has.dunning:
        found["dunning_letters"] = dunning_account.sent_letters(session, m, person.id)
        found["dunning"] = dunning_account.claim_states(session, m, person.id)
    if has.blocks:
        today = clock.today()
        found["blocked"] = dunning_account.blocks_in_force(session, m, person.id, open_ids, today)
    if has.enforcement:
        found["enforced_claims"] = enforcement_account.claims_in_enforcement(session, m, person.id)
    return found
