"""Log-in with Mein Unternehmenskonto (MUK) against the real OIDC provider on loopback
(tests/oidc_provider.py): the organisation is found by its Steuernummer (never by name), the
first MUK log-in of an organisation without representatives becomes its admin, an organisation
that has representatives recognises only those it invited (MUK's own "bevollmächtigt" is not
enough), an unknown organisation is refused, and a removed representative loses access at once —
also on the next MUK log-in."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import IdentityProvider
from core.kernel.audit import AuditEvent
from core.levies.basis_notices.businesses import business_by_tax_number
from core.levies.basis_notices.models import TaxKind, TaxObject
from core.persons.models import Person, PersonKind
from core.representation.models import Representative, RepresentativeRole
from core.tenancy.municipalities import Municipality
from portal.representation.acting import ACTING_FOR
from tests.conftest import csrf_token, login
from tests.oidc_flow import accounts, follow, new_subject, round_trip, slug_of
from tests.oidc_provider import Provider
from tests.web.test_representation_pages import invitation_link

STEUERNUMMER = "0599/500/00002"
NOT_INVITED = "Bitte lassen Sie sich von der Verwaltung Ihres Unternehmens einladen."


@pytest.fixture
def muk(db: Session, bundid: IdentityProvider, idp: Provider) -> IdentityProvider:
    """A company-account provider row next to BundID (same municipality and loopback provider)."""
    provider = IdentityProvider(
        municipality_id=bundid.municipality_id,
        slug="unternehmenskonto",
        label="Unternehmenskonto",
        kind=external.ProviderKind.OIDC,
        issuer=idp.url,
        discovery_url=f"{idp.url}/.well-known/openid-configuration",
        client_id="openkasse-muk",
        client_secret="demo-secret",
        scopes="openid profile",
        level_claim="acr",
        level_values=dict(bundid.level_values),
        company_account=True,
        org_claim="org_id",
    )
    db.add(provider)
    db.flush()
    return provider


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def business(
    db: Session, make: Any, municipality_id: int, steuernummer: str, name: str, user: Any = None
) -> Person:
    m = db.get_one(Municipality, municipality_id)
    org = make.person(m, user=user, kind=PersonKind.BUSINESS, company_name=name)
    db.add(
        TaxObject(
            municipality_id=municipality_id,
            person_id=org.id,
            tax=TaxKind.TRADE_TAX,
            reference=steuernummer,
            name=name,
        )
    )
    db.flush()
    return org


def muk_url(db: Session, muk: IdentityProvider, next_url: str = "") -> str:
    url = f"/{slug_of(db, muk)}/anmelden/mit/unternehmenskonto"
    return f"{url}?next={next_url}" if next_url else url


def muk_subject(idp: Provider, org_id: str, **claims: Any) -> str:
    """A MUK identity (Karl Krume) for the organisation with Steuernummer ``org_id``."""
    sub = new_subject(idp)
    idp.set_user(
        sub,
        acr="STORK-QAA-Level-3",
        given_name="Karl",
        family_name="Krume",
        org_id=org_id,
        **claims,
    )
    return sub


def acting_for(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        value = session.get(ACTING_FOR)
    return value if isinstance(value, str) else None


def reps_of(db: Session, org: Person) -> list[Representative]:
    db.expire_all()
    return list(db.scalars(select(Representative).where(Representative.organisation_id == org.id)))


def test_the_login_page_offers_the_company_account(
    client: FlaskClient, db: Session, muk: IdentityProvider
) -> None:
    page = text(client.get(f"/{slug_of(db, muk)}/anmelden"))
    assert "Mit Unternehmenskonto anmelden" in page and "Mit BundID anmelden" in page


def test_the_organisation_is_found_by_its_steuernummer_only(
    db: Session, make: Any, muk: IdentityProvider
) -> None:
    org = business(db, make, muk.municipality_id, STEUERNUMMER, "Bäckerei Krume GmbH")
    business(db, make, muk.municipality_id, "0599/502/00012", "Bäckerei Krume GmbH")
    assert business_by_tax_number(db, muk.municipality_id, "0599 500 00002") is org
    assert business_by_tax_number(db, muk.municipality_id, "Bäckerei Krume GmbH") is None
    assert business_by_tax_number(db, muk.municipality_id, "0599/500/0000") is None
    other = make.municipality()
    assert business_by_tax_number(db, other.id, STEUERNUMMER) is None


def test_first_muk_login_makes_the_admin_and_acts_for_the_organisation(
    client: FlaskClient, db: Session, make: Any, muk: IdentityProvider, idp: Provider
) -> None:
    org = business(db, make, muk.municipality_id, STEUERNUMMER, "Bäckerei Krume GmbH")
    sub = muk_subject(idp, STEUERNUMMER)
    page = follow(client, round_trip(client, muk_url(db, muk), idp, sub))
    assert "Ihr Kundenkonto ist angelegt" in page and "Karl Krume" in page
    assert "Sie handeln jetzt für Bäckerei Krume GmbH" in page
    assert acting_for(client) == f"{muk.municipality_id}:{org.id}"
    [rep] = reps_of(db, org)
    assert rep.role is RepresentativeRole.ADMIN and rep.is_active and rep.email == ""
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None and rep.user_id == identity.account_id
    account_page = text(client.get(f"/{slug_of(db, muk)}/konto"))
    assert "Handeln für" in account_page and "Bäckerei Krume GmbH (Verwaltung)" in account_page
    assert ">Unternehmenskonto</a>" in account_page  # the header's account link
    assert client.get(f"/{slug_of(db, muk)}/vertreter").status_code == 200
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("representative.%"))
    ).all()
    assert "representative.first_admin_by_company_account" in actions

    # the next MUK log-in (another browser) is recognised, no second representative
    again = client.application.test_client()
    page = follow(again, round_trip(again, muk_url(db, muk), idp, sub))
    assert "Sie handeln jetzt für Bäckerei Krume GmbH (Verwaltung)" in page
    assert acting_for(again) == f"{muk.municipality_id}:{org.id}"
    assert len(reps_of(db, org)) == 1


def test_an_unknown_organisation_is_refused_and_nothing_is_created(
    client: FlaskClient, db: Session, make: Any, muk: IdentityProvider, idp: Provider
) -> None:
    business(db, make, muk.municipality_id, STEUERNUMMER, "Bäckerei Krume GmbH")
    before = accounts(db)
    for org_id in ("9999/999/99999", ""):
        sub = muk_subject(idp, org_id)
        page = follow(client, round_trip(client, muk_url(db, muk), idp, sub))
        assert "Anmelden" in page
        assert ("nicht bekannt" if org_id else "kein Unternehmen übermittelt") in page
        assert external.find_identity(db, idp.url, sub) is None
    assert accounts(db) == before
    assert client.get(f"/{slug_of(db, muk)}/konto").status_code == 302  # not logged in


def test_an_organisation_with_representatives_needs_an_invitation(
    client: FlaskClient, db: Session, make: Any, muk: IdentityProvider, idp: Provider
) -> None:
    owner = make.user()
    org = business(db, make, muk.municipality_id, STEUERNUMMER, "Bäckerei Krume GmbH", owner)
    # MUK says the person is authorised: not enough, the organisation's admins decide
    sub = muk_subject(idp, STEUERNUMMER, bevollmaechtigt=True)
    page = follow(client, round_trip(client, muk_url(db, muk), idp, sub))
    assert NOT_INVITED in page
    assert acting_for(client) is None
    assert all(rep.user_id == owner.id for rep in reps_of(db, org))
    account_page = text(client.get(f"/{slug_of(db, muk)}/konto"))
    assert "Bäckerei Krume GmbH" not in account_page
    assert client.get(f"/{slug_of(db, muk)}/vertreter").status_code == 403
    refused = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "representative.company_login_refused")
    ).all()
    assert len(refused) == 1


def invite_by_mail(client: FlaskClient, db: Session, slug: str, owner: Any, email: str) -> str:
    login(client, slug, owner.email)
    sent = client.post(
        f"/{slug}/vertreter/einladen",
        data={
            "csrf_token": csrf_token(client, f"/{slug}/vertreter"),
            "email": email,
            "role": "accounting",
        },
    )
    assert sent.status_code == 302, text(sent)
    client.post(f"/{slug}/abmelden", data={"csrf_token": csrf_token(client, f"/{slug}/konto")})
    return invitation_link(db, email)


def accept_link(client: FlaskClient, slug: str, link: str) -> Any:
    return client.post(f"/{slug}{link}", data={"csrf_token": csrf_token(client, f"/{slug}{link}")})


def test_invited_muk_account_is_recognised_and_loses_access_when_removed(
    client: FlaskClient, db: Session, make: Any, muk: IdentityProvider, idp: Provider
) -> None:
    slug = slug_of(db, muk)
    owner = make.user()
    org = business(db, make, muk.municipality_id, STEUERNUMMER, "Bäckerei Krume GmbH", owner)
    link = invite_by_mail(client, db, slug, owner, "karl@krume.example")
    sub = muk_subject(idp, STEUERNUMMER)
    # the invitation page → "Anmelden" → "Mit Unternehmenskonto anmelden" with next = the link
    page = follow(client, round_trip(client, muk_url(db, muk, f"/{slug}{link}"), idp, sub))
    assert NOT_INVITED in page
    invitation = text(client.get(f"/{slug}{link}"))
    assert "Einladung annehmen" in invitation and "Karl Krume" in invitation
    accepted = accept_link(client, slug, link)
    assert accepted.status_code == 302, text(accepted)
    assert acting_for(client) == f"{muk.municipality_id}:{org.id}"
    [rep] = [r for r in reps_of(db, org) if r.user_id != owner.id]
    assert rep.is_active and rep.role is RepresentativeRole.ACCOUNTING

    muk_browser = client.application.test_client()
    page = follow(muk_browser, round_trip(muk_browser, muk_url(db, muk), idp, sub))
    assert "Sie handeln jetzt für Bäckerei Krume GmbH (Buchhaltung)" in page

    # the admin removes the MUK representative: the open session loses the organisation at once
    admin = client.application.test_client()
    login(admin, slug, owner.email)
    removed = admin.post(
        f"/{slug}/vertreter/{rep.id}/entfernen",
        data={"csrf_token": csrf_token(admin, f"/{slug}/vertreter")},
    )
    assert removed.status_code == 302
    after = text(muk_browser.get(f"/{slug}/konto"))
    assert "besteht nicht mehr" in after and "Bäckerei Krume GmbH" not in after
    assert muk_browser.get(f"/{slug}/vertreter").status_code == 403
    # ... and a new MUK log-in does not bring it back
    fresh = client.application.test_client()
    page = follow(fresh, round_trip(fresh, muk_url(db, muk), idp, sub))
    assert NOT_INVITED in page and acting_for(fresh) is None
