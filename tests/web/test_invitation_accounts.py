"""Invitation links and accounts without e-mail: a BundID account (a real log-in against the
loopback provider) accepts the link the invited mailbox received, once; and a newcomer who
registers from the invitation page comes back to it after confirming the address (a safe
``next`` carried through the confirmation e-mail, never another host)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import IdentityProvider
from core.identity.models import UserAccount
from core.kernel.audit import AuditEvent
from core.kernel.mail import OutboxMessage
from core.persons.models import PersonKind
from core.representation.models import Representative
from core.tenancy.municipalities import Municipality
from tests.conftest import login, post_form
from tests.oidc_flow import follow, login_url, new_subject, round_trip, slug_of
from tests.oidc_provider import Provider
from tests.web.test_auth import REGISTRATION
from tests.web.test_company_login import accept_link, acting_for, invite_by_mail, text


def test_a_bundid_account_without_email_accepts_the_invitation_once(
    client: FlaskClient, db: Session, make: Any, bundid: IdentityProvider, idp: Provider
) -> None:
    slug = slug_of(db, bundid)
    m = db.get_one(Municipality, bundid.municipality_id)
    owner = make.user()
    org = make.person(m, user=owner, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    link = invite_by_mail(client, db, slug, owner, "erika@krume.example")
    # not logged in: the page offers the log-in (BundID there) and comes back to the link
    page = text(client.get(f"/{slug}{link}"))
    login_href = re.search(r'href="(/[^"]*/anmelden\?next=[^"]+)"', page)
    assert login_href, page
    assert parse_qs(urlsplit(login_href.group(1)).query)["next"] == [f"/{slug}{link}"]
    sub = new_subject(idp)
    back = round_trip(client, login_url(db, bundid, f"/{slug}{link}"), idp, sub)
    follow(client, back)
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None
    account = db.get_one(UserAccount, identity.account_id)
    assert account.email is None
    accepted = accept_link(client, slug, link)
    assert accepted.status_code == 302, text(accepted)
    assert acting_for(client) == f"{m.id}:{org.id}"
    rep = db.scalars(
        select(Representative).where(Representative.email == "erika@krume.example")
    ).one()
    assert rep.user_id == account.id and rep.is_active
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "representative.accepted")
    ).one()
    assert event.actor == f"user:{account.id}" and event.after is not None
    assert event.after["account_email_matches"] is False
    # once only: the link is dead now, also for the invited mailbox's own account
    assert client.get(f"/{slug}{link}").status_code == 404
    other = client.application.test_client()
    login(other, slug, make.user(email="erika@krume.example").email)
    assert other.get(f"/{slug}{link}").status_code == 404


def test_registration_from_an_invitation_comes_back_to_it(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    owner = make.user()
    make.person(m, user=owner, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    link = invite_by_mail(client, db, m.slug, owner, "neu@krume.example")
    here = f"/{m.slug}{link}"
    page = client.get(here).get_data(as_text=True)
    register_href = re.search(r'href="(/[^"]*/registrieren\?next=[^"]+)"', page)
    assert register_href, page
    registered = post_form(
        client,
        register_href.group(1).replace("&amp;", "&"),
        {**REGISTRATION, "email": "neu@krume.example"},
    )
    assert registered.status_code == 302
    mail = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == "neu@krume.example")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert mail is not None
    confirm = re.search(r"http://\S+/konto/bestaetigen/\S+", mail.body)
    assert confirm, mail.body
    parts = urlsplit(confirm.group(0))
    assert parse_qs(parts.query)["next"] == [here]
    confirmed = client.get(f"{parts.path}?{parts.query}")
    assert confirmed.status_code == 302
    to_login = urlsplit(confirmed.headers["Location"])
    assert to_login.path == f"/{m.slug}/anmelden" and parse_qs(to_login.query)["next"] == [here]
    logged_in = post_form(
        client,
        f"/{m.slug}/anmelden?{to_login.query}",
        {"email": "neu@krume.example", "password": REGISTRATION["password"]},
    )
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == here
    accepted = accept_link(client, m.slug, link)
    assert accepted.status_code == 302, text(accepted)


def test_a_foreign_next_is_not_carried_into_the_confirmation_mail(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    registered = post_form(
        client,
        f"/{m.slug}/registrieren?next=//evil.example/x",
        {**REGISTRATION, "email": "fremd@test.example"},
    )
    assert registered.status_code == 302
    mail = db.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "fremd@test.example")
    ).one()
    assert "evil" not in mail.body and "next=" not in mail.body
