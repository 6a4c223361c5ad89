"""Acting for an organisation in the browser, on a phone (390 × 844): the demo bakery's own
log-in (its first admin) invites a colleague by e-mail as "Buchhaltung"; the colleague, who has
an account of their own, opens the link from the mail, accepts, switches to their own account
and back to the bakery with the "Handeln für" switcher in the header, and sees the bakery's
claims on its business screen (no dog or address wizard). Every page passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.identity import models as identity
from core.kernel.db import make_engine, make_session_factory
from core.kernel.mail import OutboxMessage
from core.persons import models as persons
from core.persons.models import PersonKind
from core.tenancy.municipalities import get_by_slug
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, PASSWORD, LiveServer

pytestmark = pytest.mark.e2e

OWNER_EMAIL = "buchhaltung@baeckerei-krume.example"
COLLEAGUE = "kim.kollegin@e2e-vertretung.example"
LINK = re.compile(r"https?://[^/\s]+(/musterstadt/einladung/vertreter/\S+)")


def colleague_with_own_account(live_app: LiveServer) -> None:
    """An account with its own person in Musterstadt (so the switcher has two choices)."""
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            user = identity.create_user(
                session, email=COLLEAGUE, password=PASSWORD, display_name="Kim Kollegin"
            )
            persons.create_person(
                session,
                municipality_id=m.id,
                kind=PersonKind.NATURAL,
                as_of=m.created_at.date(),
                actor="test",
                given_name="Kim",
                family_name="Kollegin",
                user_id=user.id,
            )
            session.commit()
    finally:
        engine.dispose()


def invitation_path(live_app: LiveServer) -> str:
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            body = session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.recipient == COLLEAGUE)
                .order_by(OutboxMessage.id.desc())
            ).first()
    finally:
        engine.dispose()
    match = LINK.search(body or "")
    assert match, body
    return match.group(1)


def test_invite_accept_switch_and_see_the_bakerys_claims(
    live_app: LiveServer, phone: Page, new_page: Callable[..., Page]
) -> None:
    colleague_with_own_account(live_app)
    log_in(phone, "/musterstadt/anmelden", OWNER_EMAIL, phone=True)
    expect(phone.get_by_role("heading", name="Unternehmenskonto")).to_be_visible()
    phone.get_by_role("link", name="Vertreter").click()
    expect(phone.get_by_role("heading", name="Vertreter von Bäckerei Krume GmbH")).to_be_visible()
    check_phone_page(phone)
    phone.get_by_label("E-Mail-Adresse der Person").fill(COLLEAGUE)
    phone.get_by_label("Buchhaltung", exact=True).check()
    phone.get_by_role("button", name="Einladung senden").click()
    expect(phone.get_by_text("Die Einladung wurde per E-Mail verschickt.")).to_be_visible()
    expect(phone.get_by_role("main")).to_contain_text(COLLEAGUE)
    check_phone_page(phone)
    phone.goto("/musterstadt/konto")
    phone.get_by_role("link", name="Vollmachten").click()
    main = phone.get_by_role("main")
    expect(main).to_contain_text("an steuerberatung@kanzlei-klar.example")  # the demo's
    expect(phone.get_by_role("button", name="Vollmacht erteilen")).to_be_visible()
    check_phone_page(phone)

    colleague = new_page()
    log_in(colleague, "/musterstadt/anmelden", COLLEAGUE, phone=True)
    expect(colleague.get_by_role("heading", name="Mein Konto")).to_be_visible()
    colleague.goto(invitation_path(live_app))
    expect(colleague.get_by_role("heading", name="Einladung annehmen")).to_be_visible()
    check_phone_page(colleague)
    colleague.get_by_role("button", name="Einladung annehmen").click()
    expect(colleague.get_by_text("Sie handeln jetzt für Bäckerei Krume GmbH.")).to_be_visible()

    switcher = colleague.get_by_label("Handeln für")
    switcher.select_option(label="Kim Kollegin (Eigenes Konto)")
    colleague.get_by_role("button", name="Wechseln").click()
    expect(colleague.get_by_role("heading", name="Mein Konto")).to_be_visible()
    expect(colleague.get_by_role("link", name="Meine Hunde")).to_be_visible()
    check_phone_page(colleague)

    colleague.get_by_label("Handeln für").select_option(label="Bäckerei Krume GmbH (Buchhaltung)")
    colleague.get_by_role("button", name="Wechseln").click()
    expect(colleague.get_by_role("heading", name="Unternehmenskonto")).to_be_visible()
    main = colleague.get_by_role("main")
    expect(main).to_contain_text("Bäckerei Krume GmbH · Personenkonto")
    expect(main.get_by_role("heading", name=re.compile("Offen insgesamt"))).to_be_visible()
    expect(colleague.get_by_role("link", name="Meine Hunde")).to_have_count(0)
    expect(colleague.get_by_role("link", name="Anschrift ändern")).to_have_count(0)
    check_phone_page(colleague)


def test_the_clerk_sees_representatives_and_powers_on_the_person_page(
    new_page: Callable[..., Page],
) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.get_by_label("Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz").fill(
        "Krume"
    )
    clerk.get_by_role("button", name="Suchen").click()
    clerk.get_by_role("link", name="Bäckerei Krume GmbH").first.click()
    expect(clerk.get_by_role("heading", level=2, name="Vertreter")).to_be_visible()
    main = clerk.get_by_role("main")
    expect(main).to_contain_text("lesen@baeckerei-krume.example – Nur lesen")
    expect(main).to_contain_text("an steuerberatung@kanzlei-klar.example: Zahlungen")
    clerk.get_by_text("Schriftliche Vollmacht erfassen").click()
    expect(clerk.get_by_role("button", name="Vollmacht erfassen")).to_be_visible()
    assert_accessible(clerk)
