"""Log-in with Mein Unternehmenskonto (MUK): for which organisation the person may act.

MUK (ELSTER-based) vouches for a natural person — a pseudonym and the name — who logs in for an
organisation, and passes the organisation's identifiers through its interface. Our choice: the
provider row (``IdentityProvider.company_account``) names the claim that carries the
organisation's Steuernummer (``org_claim``, "org_id" in the demo); the organisation is the
business of this municipality with that trade-tax Steuernummer
(core/levies/basis_notices/businesses.py) — never matched by name or e-mail.

The person is signed in with the same account model as with BundID (one account per MUK
pseudonym, :func:`core.identity.external.sign_in`). Whether they act for the organisation is
decided here, afresh on every log-in, by one safe rule:

- an organisation that has never had a representative nor a log-in of its own: the first MUK
  log-in becomes its admin ("Verwaltung");
- otherwise only an active representative is recognised — someone an admin invited and who
  accepted the invitation with this account. A MUK statement that the person is authorised
  ("Bevollmächtigung") is *not* enough: it tells what the company's ELSTER administrator granted
  in MUK, not that the organisation's admins here let this person see and pay its claims, and
  a representative the admins removed must lose access at once, whatever MUK still says.

Every decision is in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import UserAccount
from core.kernel import audit
from core.persons.models import Person, PersonKind
from core.representation.models import Representative, RepresentativeRole

UNKNOWN = (
    "Ihr Unternehmen ist bei {municipality} nicht bekannt: zu der Steuernummer, die Ihr "
    "Unternehmenskonto übermittelt hat, gibt es hier keine Gewerbesteuer. Bitte wenden Sie sich "
    "an die Kasse."
)
NO_ORGANISATION = (
    "Ihr Unternehmenskonto hat kein Unternehmen übermittelt. Bitte melden Sie sich für Ihr "
    "Unternehmen an."
)
NOT_INVITED = (
    "Sie sind angemeldet, handeln aber noch nicht für {organisation}: dieses Unternehmen hat "
    "hier bereits eine Verwaltung. Bitte lassen Sie sich von der Verwaltung Ihres Unternehmens "
    "einladen."
)
ACTOR = "company_account"


@dataclass(frozen=True)
class Recognition:
    organisation: Person
    representative: Representative | None  # None: not (yet) a representative
    first_admin: bool = False

    @property
    def recognised(self) -> bool:
        return self.representative is not None


def ever_represented(session: Session, organisation: Person) -> bool:
    """Has the organisation a log-in of its own, or has it ever had a representative (also an
    open, withdrawn or removed one)? Then no MUK log-in makes itself its admin."""
    if organisation.user_id is not None:
        return True
    count = session.scalar(
        select(func.count(Representative.id)).where(
            Representative.organisation_id == organisation.id
        )
    )
    return bool(count)


def recognise(
    session: Session, organisation: Person, account: UserAccount, *, now: datetime
) -> Recognition:
    """Apply the rule of this module to a MUK log-in of ``account`` for ``organisation``."""
    if organisation.kind is not PersonKind.BUSINESS:
        raise ValueError("only a business has representatives")
    # Two first log-ins at the same moment: the second waits here and then sees the first admin
    # (PostgreSQL row lock; SQLite serialises its writers anyway).
    session.execute(select(Person.id).where(Person.id == organisation.id).with_for_update())
    active = session.scalars(
        select(Representative)
        .where(
            Representative.organisation_id == organisation.id,
            Representative.user_id == account.id,
            Representative.accepted_at.is_not(None),
            Representative.removed_at.is_(None),
        )
        .order_by(Representative.id)
    ).first()
    if active is not None:
        _record(session, organisation, active, "company_login", account)
        return Recognition(organisation, active)
    if not ever_represented(session, organisation):
        rep = Representative(
            municipality_id=organisation.municipality_id,
            organisation_id=organisation.id,
            user_id=account.id,
            email=account.email or "",
            role=RepresentativeRole.ADMIN,
            invited_by=ACTOR,
            invited_at=now,
            accepted_at=now,
        )
        session.add(rep)
        session.flush()
        _record(session, organisation, rep, "first_admin_by_company_account", account)
        return Recognition(organisation, rep, first_admin=True)
    _record(session, organisation, None, "company_login_refused", account)
    return Recognition(organisation, None)


def _record(
    session: Session,
    organisation: Person,
    rep: Representative | None,
    action: str,
    account: UserAccount,
) -> None:
    audit.record(
        session,
        actor=f"user:{account.id}",
        action=f"representative.{action}",
        municipality_id=organisation.municipality_id,
        obj=rep if rep is not None else organisation,
        after={
            "organisation_id": organisation.id,
            "user_id": account.id,
            **({"role": rep.role.value} if rep is not None else {}),
        },
    )
