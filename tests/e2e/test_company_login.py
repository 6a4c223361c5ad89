""" "Mit Unternehmenskonto anmelden" on a phone (390 × 844): the whole redirect dance in
Chromium through the identity provider's own log-in page (tests/oidc_provider.py with the demo
MUK identities of core/demo/company_account.py). The bakery's managing director is recognised
as its admin and sees the bakery's claims on its business screen, with "Unternehmenskonto" in
the header; an identity of a company the town does not know is refused with a German
explanation. Every page of ours passes axe-core.

A live server of its own (its demo database gets the provider rows), as the BundID journey.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from core.demo import company_account
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from tests.e2e import browser as chromium
from tests.e2e.a11y import check_phone_page
from tests.e2e.server import LiveServer, serving
from tests.oidc_provider import Provider, running_provider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with running_provider(users=company_account.IDENTITIES) as provider:
        yield provider


@pytest.fixture(scope="module")
def server(idp: Provider) -> Iterator[LiveServer]:
    with serving() as live:
        engine = make_engine(live.database_url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                assert company_account.ensure_providers(session, idp.url) == 2
        finally:
            engine.dispose()
        yield live


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = chromium.phone_context(browser, server.url)
    # the provider's page links a stylesheet on a CDN: offline here, so refuse it at once
    context.route(re.compile(r"^https://cdn\.jsdelivr\.net/"), lambda route: _abort(route))
    yield context.new_page()
    context.close()


def _abort(route: Route) -> None:
    route.abort()


def _through_the_provider(phone: Page, idp: Provider, sub: str) -> None:
    phone.goto("/musterstadt/anmelden")
    check_phone_page(phone)
    phone.get_by_role("link", name="Mit Unternehmenskonto anmelden").click()
    expect(phone).to_have_url(re.compile(rf"^{re.escape(idp.url)}/oauth2/authorize\?"))
    phone.get_by_role("button", name=sub).click()


def test_the_bakerys_director_acts_for_the_bakery(phone: Page, idp: Provider) -> None:
    _through_the_provider(phone, idp, company_account.DIRECTOR)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Unternehmenskonto")
    main = phone.get_by_role("main")
    expect(main).to_contain_text("Sie handeln jetzt für Bäckerei Krume GmbH (Verwaltung)")
    expect(main).to_contain_text("Gewerbesteuer")  # the bakery's claims
    expect(phone.get_by_role("link", name="Unternehmenskonto", exact=True)).to_be_visible()
    expect(phone.get_by_label("Handeln für")).to_contain_text("Bäckerei Krume GmbH (Verwaltung)")
    check_phone_page(phone)
    phone.get_by_role("link", name="Vertreter").click()
    expect(phone.get_by_role("heading", name="Vertreter von Bäckerei Krume GmbH")).to_be_visible()
    expect(phone.get_by_role("main")).to_contain_text("Karl Krume")
    check_phone_page(phone)


def test_an_unknown_company_is_refused_in_german(phone: Page, idp: Provider) -> None:
    _through_the_provider(phone, idp, "demo-muk-unbekannt")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Anmelden")
    expect(phone.get_by_role("main")).to_contain_text("Ihr Unternehmen ist bei")
    expect(phone.get_by_role("main")).to_contain_text("nicht bekannt")
    check_phone_page(phone)
