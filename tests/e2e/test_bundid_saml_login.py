""" "Mit BundID (SAML) anmelden" on a phone: the whole SAML dance in Chromium — the AuthnRequest by
redirect, the pysaml2 IdP's own log-in page (tools/demo_saml_idp.py, the demo identities of
core/demo/bundid_saml.py), its auto-submitted POST to our ACS — back to the portal's page that
shows what was taken over; then the SEPA mandate page asks the basis log-in for more and the
step-up round trip (the IdP preselects what was asked: the ELSTER certificate) opens it.

A live server of its own (its demo database gets the SAML provider rows): the shared one stays
without a provider, so the other journeys keep their e-mail log-ins.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, Page, expect

from core.demo import bundid_saml
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from tests.e2e import browser as chromium
from tests.e2e.a11y import check_phone_page
from tests.e2e.server import LiveServer, serving
from tools.demo_saml_idp import RunningIdp, running_idp

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIdp]:
    directory: Path = tmp_path_factory.mktemp("e2e_saml_idp")
    with running_idp(directory) as running:
        yield running


@pytest.fixture(scope="module")
def server(idp: RunningIdp) -> Iterator[LiveServer]:
    with serving() as live:
        engine = make_engine(live.database_url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                bundid_saml.ensure_providers(session, idp.url)
        finally:
            engine.dispose()
        yield live


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = chromium.phone_context(browser, server.url)
    yield context.new_page()
    context.close()


def test_bundid_saml_login_and_step_up_on_a_phone(phone: Page, idp: RunningIdp) -> None:
    phone.goto("/beispielhausen/anmelden")
    check_phone_page(phone)
    phone.get_by_role("link", name="Mit BundID (SAML) anmelden").click()

    # the IdP's own log-in page: a log-in asks for the lowest level
    expect(phone).to_have_url(re.compile(rf"^{re.escape(idp.url)}/sso/redirect\?SAMLRequest="))
    expect(phone.get_by_label("Benutzername und Passwort (Basisregistrierung)")).to_be_checked()
    with phone.expect_request(re.compile(r"/anmelden/saml/bundid-saml/acs$")) as posted:
        phone.get_by_role("button", name="Lena Lehmann").click()
    # the IdP fetched our metadata: the assertion travels encrypted for our certificate
    form = parse_qs(posted.value.post_data or "")
    xml = base64.b64decode(form["SAMLResponse"][0]).decode()
    assert "EncryptedAssertion" in xml and "demo-saml-bpk2-lena-lehmann" not in xml

    # its form posts the signed response to our ACS: a new account with only what was needed
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ihr Kundenkonto ist angelegt")
    body = phone.locator("main")
    expect(body).to_contain_text("Lena Lehmann")
    expect(body).to_contain_text("demo-saml-bpk2-lena-lehmann")
    expect(body).to_contain_text("Basisregistrierung")
    expect(body).not_to_contain_text("lena.lehmann@example.org")  # sent, not taken over
    check_phone_page(phone)

    # a mandate needs "substanziell": explanation and a new log-in at a higher level
    phone.goto("/beispielhausen/lastschrift/neu")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Bitte melden Sie sich noch einmal an"
    )
    expect(phone.locator("main")).to_contain_text("„substanziell“")
    check_phone_page(phone)
    phone.get_by_role("button", name="Erneut mit BundID (SAML) anmelden").click()
    expect(phone).to_have_url(re.compile(rf"^{re.escape(idp.url)}/sso/redirect\?"))
    expect(phone.get_by_label("ELSTER-Zertifikat (substanziell)")).to_be_checked()
    phone.get_by_role("button", name="Lena Lehmann").click()

    # back at the mandate page (which first asks a new account for its financial address)
    expect(phone).to_have_url(re.compile(r"/beispielhausen/(lastschrift/neu|finanzadresse)"))
    expect(phone.get_by_role("heading", level=1)).not_to_have_text(
        "Bitte melden Sie sich noch einmal an"
    )
    check_phone_page(phone)
