"""A notice that names the mandate pre-notifies its items (core.payments.sepa.prenotifications.
announce_by_notice): a claim under a running instalment plan is announced with the instalments
— each amount on its day, split over the plan's claims in the order a payment settles them —
never in full; the runs of those days collect exactly that under the notice's announcements;
a claim outside a plan is still announced in full. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import InstalmentPlan
from core.dunning.instalments import submit_request
from core.ledger.models import Claim
from core.levies.prenotification import direct_debit_facts
from core.notices.records import new_notice
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.bank_days import next_target_day
from core.payments.sepa.models import PreNotification
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests import factories
from tests.integration.test_instalment_debits import DATES, DUE, TODAY, _credit

MAY = next_target_day(DATES[1])  # 1 May is a holiday: the 4th


def _plan(db: Session, amounts: list[int]) -> tuple[Municipality, Person, list[Claim]]:
    """A mandate holder's claims of ``amounts`` under a plan of three instalments (DATES)."""
    m = factories.municipality(db)
    factories.instalment_statute(db, m)
    factories.sepa_statute(db, m)
    person = factories.person(db, m)
    claims = [factories.claim(db, m, person, amount=a, due=DUE) for a in amounts]
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=TODAY,
        as_of=TODAY,
        actor="t",
    )
    application = submit_request(
        db,
        person=person,
        municipality=m,
        claim_ids=[c.id for c in claims],
        dates=DATES,
        reason="Kurzarbeit",
        as_of=TODAY,
        actor="citizen:test",
    )
    assert db.get_one(InstalmentPlan, application.data["plan_id"]).total_cents == sum(amounts)
    return m, person, claims


def _notice(db: Session, m: Municipality, person: Person, claims: list[Claim], day: date) -> int:
    """A notice of ``day`` naming the mandate (as a levy's notice does), announcing ``claims``."""
    facts = direct_debit_facts(db, m, person, "dog_tax", day)
    assert facts is not None
    notice = new_notice(
        db,
        municipality=m,
        person=person,
        levy="dog_tax",
        year=2026,
        issued_on=day,
        title="Änderungsbescheid",
        kassenzeichen=claims[0].kassenzeichen,
        total_cents=0,
        previous_cents=0,
        data={"direct_debit": facts},
        actor="t",
    )
    return prenotifications.announce_by_notice(db, notice.id, claims)


def _announced(db: Session, claim: Claim) -> list[tuple[date, int]]:
    return [
        (pn.collection_date, pn.amount_cents)
        for pn in db.scalars(
            select(PreNotification)
            .where(PreNotification.claim_id == claim.id)
            .order_by(PreNotification.collection_date, PreNotification.id)
        )
    ]


def test_a_plan_claim_is_announced_with_its_instalments_and_collected_so(db: Session) -> None:
    m, person, (claim,) = _plan(db, [30000])

    assert _notice(db, m, person, [claim], TODAY) == 3

    assert _announced(db, claim) == [(DATES[0], 10000), (MAY, 10000), (DATES[2], 10000)]
    assert _notice(db, m, person, [claim], TODAY) == 0  # announced already: nothing new
    previous = None
    for day in (DATES[0], MAY, DATES[2]):
        if previous is not None:
            _credit(db, m, previous)
        # no other pre-notification: the run collects under the notice's, the instalment only
        result = debit_runs.create_run(db, m, collection_date=day, as_of=TODAY, actor="t")
        assert result.run is not None and result.total_cents == 10000
        previous = result.run
    used = db.scalars(select(PreNotification).where(PreNotification.claim_id == claim.id)).all()
    assert all(pn.used_by_item_id is not None for pn in used) and len(used) == 3


def test_instalments_split_over_the_plans_claims_and_others_stay_in_full(db: Session) -> None:
    m, person, (first, second) = _plan(db, [15000, 15000])
    other = factories.claim(db, m, person, amount=4200, due=date(2026, 4, 15))
    # a notice late in March: the first instalment cannot be collected before the 14 days
    issued = date(2026, 3, 25)
    earliest = prenotifications.earliest_collection(db, m.id, issued)
    assert earliest > DATES[0]

    _notice(db, m, person, [first, second, other], issued)

    # 100 € each: the first from the older claim, the second half each, the third the rest
    assert _announced(db, first) == [(earliest, 10000), (MAY, 5000)]
    assert _announced(db, second) == [(MAY, 5000), (DATES[2], 10000)]
    assert _announced(db, other) == [(next_target_day(date(2026, 4, 15)), 4200)]
    result = debit_runs.create_run(db, m, collection_date=earliest, as_of=issued, actor="t")
    assert result.run is not None and result.total_cents == 10000
