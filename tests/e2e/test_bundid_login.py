""" "Mit BundID anmelden" on a phone: the whole redirect dance in Chromium, through the identity
provider's own log-in page (tests/oidc_provider.py, the demo identities of core/demo/bundid.py),
back to the portal's page that shows what was taken over; then the SEPA mandate page asks a
basis log-in for a higher level and the step-up round trip at "hoch" opens it.

A live server of its own (its demo database gets the provider rows): the shared one stays
without a provider, so the other journeys keep their e-mail log-ins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from core.demo import bundid
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from tests.e2e import browser as chromium
from tests.e2e.a11y import check_phone_page
from tests.e2e.server import LiveServer, serving
from tests.oidc_provider import Provider, running_provider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with running_provider(users=bundid.IDENTITIES) as provider:
        yield provider


@pytest.fixture(scope="module")
def server(idp: Provider) -> Iterator[LiveServer]:
    with serving() as live:
        engine = make_engine(live.database_url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                bundid.ensure_providers(session, idp.url)
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


def test_bundid_login_and_step_up_on_a_phone(phone: Page, idp: Provider) -> None:
    phone.goto("/beispielhausen/anmelden")
    check_phone_page(phone)
    phone.get_by_role("link", name="Mit BundID anmelden").click()

    # the provider's own log-in page
    expect(phone).to_have_url(re.compile(rf"^{re.escape(idp.url)}/oauth2/authorize\?"))
    phone.get_by_role("button", name="demo-basis-lena-lehmann").click()

    # back in the portal: a new account with only what was needed
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ihr Kundenkonto ist angelegt")
    body = phone.locator("main")
    expect(body).to_contain_text("Lena Lehmann")
    expect(body).to_contain_text("demo-basis-lena-lehmann")
    expect(body).to_contain_text("Basisregistrierung")
    check_phone_page(phone)

    # a mandate needs "substanziell": explanation and a new log-in at a higher level
    phone.goto("/beispielhausen/lastschrift/neu")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Bitte melden Sie sich noch einmal an"
    )
    expect(phone.locator("main")).to_contain_text("„substanziell“")
    check_phone_page(phone)
    idp.set_user(
        "demo-basis-lena-lehmann",
        acr="STORK-QAA-Level-4",  # the same citizen, now with the Online-Ausweis
        given_name="Lena",
        family_name="Lehmann",
    )
    phone.get_by_role("button", name="Erneut mit BundID anmelden").click()
    expect(phone).to_have_url(re.compile(r"acr_values=STORK-QAA-Level-3"))
    phone.get_by_role("button", name="demo-basis-lena-lehmann").click()
    # the step-up brought the citizen back to the mandate page (which first asks for the
    # financial address a new account has not given yet)
    expect(phone).to_have_url(re.compile(r"/beispielhausen/(lastschrift/neu|finanzadresse)"))
    expect(phone.get_by_role("heading", level=1)).not_to_have_text(
        "Bitte melden Sie sich noch einmal an"
    )
    check_phone_page(phone)
