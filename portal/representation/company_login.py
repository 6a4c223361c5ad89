"""The portal's side of a log-in with Mein Unternehmenskonto (MUK): the organisation the log-in
names is looked up *before* the account is signed in (an unknown one is refused and nothing is
created), then the rule of core/representation/company_account.py decides whether the person
acts for it, and the session acts for the organisation (the header's switcher shows it).

Registered with portal/identity/oidc.py (:data:`~portal.identity.oidc.COMPANY_LOGIN`), which
knows nothing of organisations.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, g

from core.identity.external import Verified
from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.errors import AccessDenied
from core.levies.basis_notices.businesses import business_by_tax_number
from core.representation import access, company_account
from portal.database import db
from portal.identity import oidc
from portal.representation import acting


def prepare(verified: Verified) -> Callable[[UserAccount], None]:
    """Refuse a log-in for no organisation or an unknown one; else what to do once signed in."""
    if not verified.organisation:
        raise AccessDenied(company_account.NO_ORGANISATION)
    municipality = g.municipality
    organisation = business_by_tax_number(db(), municipality.id, verified.organisation)
    if organisation is None:
        raise AccessDenied(company_account.UNKNOWN.format(municipality=municipality.name))
    organisation_id = organisation.id

    def finish(account: UserAccount) -> None:
        session = db()
        found = session.get_one(type(organisation), organisation_id)
        recognition = company_account.recognise(session, found, account, now=clock.now())
        session.commit()
        name = found.display_name
        if not recognition.recognised:
            flash(company_account.NOT_INVITED.format(organisation=name), "warning")
            return
        chosen = access.authority(session, municipality.id, account.id, found.id, clock.today())
        if chosen is None:  # recognised a moment ago: only a concurrent removal gets here
            return
        acting.act_for(chosen)
        if recognition.first_admin:
            flash(
                f"Sie handeln jetzt für {name} und verwalten die Zugänge des Unternehmens "
                "(Rolle „Verwaltung“): Sie können weitere Personen einladen.",
                "success",
            )
        else:
            flash(f"Sie handeln jetzt für {name} ({chosen.label}).", "success")

    return finish


oidc.COMPANY_LOGIN["representation"] = prepare
